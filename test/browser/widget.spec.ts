// The visitor's widget, mounted by the real script tag (dist/browser/motivus-embed.js) on a host
// page with hostile CSS, against a real loopback cluster. Where the browser's state is simulated,
// the test's name says how.
import type { Page } from "@playwright/test";
import { Client } from "motivus-driver";
import { expect, fixtures, test } from "./support/cluster.js";

const build = `${fixtures}/c/build/modularize`;
const widget = (page: Page) => page.locator("motivus-widget");
const pill = (page: Page) => widget(page).locator("button.pill");
const status = (page: Page) => widget(page).getByRole("status");
const button = (page: Page, name: string | RegExp) => widget(page).getByRole("button", { name });

async function agree(page: Page): Promise<void> {
  if ((await pill(page).getAttribute("aria-expanded")) !== "true") await pill(page).click();
  await button(page, "Agree and start").click();
}

test("nothing is loaded, connected or computed before the visitor agrees (the page's requests and the loopback's stats)", async ({
  page,
  cluster,
}) => {
  const paths: string[] = [];
  const sockets: string[] = [];
  page.on("request", (r) => paths.push(new URL(r.url()).pathname));
  page.on("websocket", (ws) => sockets.push(ws.url()));
  await page.goto(`${cluster.origin}/pages/widget.html?threads=1`);
  await expect(pill(page)).toHaveText(/Help research/);
  await pill(page).click();
  await expect(button(page, "Agree and start")).toBeVisible();
  await page.waitForTimeout(1500);
  expect(cluster.stats()).toMatchObject({ workers: 0, offered_slots: 0 });
  expect(sockets).toEqual([]);
  expect(paths.filter((p) => /motivus-worker\.js|runtime\.js|\/auth\/guest|\/api\/user/.test(p))).toEqual([]);
  expect(await page.locator("iframe").count()).toBe(0);
  expect(await page.evaluate(() => localStorage.getItem("motivus-worker"))).toBeNull();

  await button(page, "Agree and start").click();
  await expect.poll(() => cluster.stats()).toMatchObject({ workers: 1, offered_slots: 1 });
  await expect(status(page)).toHaveText("Working with 1 thread");
  await expect(pill(page)).toHaveText(/Working/);
  expect(paths).toContain("/dist/browser/motivus-worker.js");
});

test("the choice is remembered (localStorage of the host origin); withdrawing stops the work and forgets it", async ({
  page,
  cluster,
}) => {
  await page.goto(`${cluster.origin}/pages/widget.html?threads=1`);
  await agree(page);
  await expect.poll(() => cluster.stats().offered_slots).toBe(1);
  expect(JSON.parse((await page.evaluate(() => localStorage.getItem("motivus-worker")))!)).toMatchObject({
    consent: true,
    running: true,
  });

  await page.reload(); // a returning visitor: it starts without asking again
  await expect.poll(() => cluster.stats()).toMatchObject({ workers: 1, offered_slots: 1 });
  await pill(page).click();
  await expect(status(page)).toHaveText("Working with 1 thread");

  await button(page, "Withdraw consent").click();
  await expect.poll(() => cluster.stats().workers).toBe(0);
  expect(await page.evaluate(() => localStorage.getItem("motivus-worker"))).toBeNull();
  await expect(button(page, "Agree and start")).toBeFocused();
  await page.reload();
  await page.waitForTimeout(1500);
  expect(cluster.stats().workers).toBe(0);
  await expect(pill(page)).toHaveText(/Help research/);
});

test("start and stop; the threads and CPU share controls reach the worker and are remembered", async ({ page, cluster }) => {
  await page.goto(`${cluster.origin}/pages/widget.html?threads=1`);
  await page.waitForFunction(() => typeof (window as any).Motivus?.on === "function");
  await page.evaluate(() => {
    (window as any).budgets = [];
    (window as any).Motivus.on("budget", (b: unknown) => (window as any).budgets.push(b));
  });
  await agree(page);
  await expect.poll(() => cluster.stats().offered_slots).toBe(1);

  await button(page, "Stop").click();
  await expect(status(page)).toHaveText("Stopped");
  await expect(pill(page)).toHaveText(/Stopped/);
  await expect.poll(() => cluster.stats().workers).toBe(0);
  await button(page, "Start").click();
  await expect.poll(() => cluster.stats()).toMatchObject({ workers: 1, offered_slots: 1 });

  const threads = widget(page).getByRole("slider", { name: "Threads" });
  await threads.focus();
  await page.keyboard.press("ArrowRight");
  await expect(threads).toHaveValue("2");
  await expect(status(page)).toHaveText("Working with 2 threads");
  await expect.poll(() => cluster.stats().offered_slots).toBe(2);

  const share = widget(page).getByRole("slider", { name: "CPU share" });
  await expect(share).toHaveValue("50"); // the widget's default
  await share.focus();
  await page.keyboard.press("Home");
  await expect(widget(page).locator(".value").nth(1)).toHaveText("10 %");
  await expect.poll(() => page.evaluate(() => (window as any).budgets.at(-1)?.share)).toBe(0.1);
  expect(JSON.parse((await page.evaluate(() => localStorage.getItem("motivus-worker")))!)).toMatchObject({
    threads: 2,
    share: 0.1,
  });
});

test("tasks running now with their elapsed time, what this browser contributed with its chart, and the cluster's numbers", async ({
  page,
  cluster,
}) => {
  await page.goto(`${cluster.origin}/pages/widget.html?threads=1`);
  await agree(page);
  await expect.poll(() => cluster.stats().offered_slots).toBe(1);
  await expect(widget(page).locator("ul li")).toHaveText(["No task right now."]);
  await expect(widget(page).locator(".total")).toHaveText("0 tasks · 0 s of CPU time");

  const client = await Client.connect({ uri: cluster.driverUri, logDir: null });
  expect(
    await client.selectTask(
      client.callAsync({ wasm_path: `${build}/echo.wasm`, loader_path: `${build}/echo.js`, arguments: ["x"] }),
    ),
  ).toBe(0);
  await expect(widget(page).locator(".total")).toHaveText(/^1 task · \d+ s of CPU time$/);
  await expect(widget(page).locator("svg.chart rect.bar:not(.empty)")).toHaveCount(1);
  await expect(widget(page).getByRole("img")).toHaveAttribute(
    "aria-label",
    /^CPU time per day, last 14 days: \d{4}-\d\d-\d\d \d+ s$/,
  );
  // The loopback pushes `stats` to a worker after each result it delivers.
  await expect(widget(page).getByText(/^1 worker · 0 queued · 0 running · 1 done$/)).toBeVisible();

  client.callAsync({ wasm_path: `${build}/forever.wasm`, loader_path: `${build}/forever.js` });
  await expect(widget(page).locator("ul li")).toHaveText([/^Task [0-9a-f]{8}\s*[0-9] s$/]);
  await expect(widget(page).locator("ul li")).toHaveText([/^Task [0-9a-f]{8}\s*[2-9] s$/]);
  await client.close(); // the driver leaves: the cluster aborts the task
  await expect(widget(page).locator("ul li")).toHaveText(["No task right now."]);
  await expect(widget(page).locator(".total")).toHaveText(/^1 task · /); // an aborted task is no contribution
});

test("status in words: hidden page (simulated: document.hidden overridden) and battery (simulated: navigator.getBattery replaced)", async ({
  page,
  cluster,
}) => {
  await page.addInitScript(() => {
    const battery = new EventTarget() as EventTarget & { charging: boolean; level: number };
    Object.assign(battery, { charging: true, level: 1 });
    (navigator as any).getBattery = () => Promise.resolve(battery);
    (window as any).setBattery = (charging: boolean, level: number) => {
      Object.assign(battery, { charging, level });
      battery.dispatchEvent(new Event("chargingchange"));
    };
  });
  await page.goto(`${cluster.origin}/pages/widget.html?threads=2`);
  await agree(page);
  await expect(status(page)).toHaveText("Working with 2 threads");

  await page.evaluate(() => {
    Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
    document.dispatchEvent(new Event("visibilitychange"));
  });
  await expect(status(page)).toHaveText("Paused: this page is hidden");
  await expect(pill(page)).toHaveText(/Paused/);
  await page.evaluate(() => {
    Object.defineProperty(document, "hidden", { configurable: true, get: () => false });
    document.dispatchEvent(new Event("visibilitychange"));
  });
  await expect(status(page)).toHaveText("Working with 2 threads");

  await page.evaluate(() => (window as any).setBattery(false, 0.6));
  await expect(status(page)).toHaveText("Working with 1 thread (on battery: one thread)");
  await page.evaluate(() => (window as any).setBattery(false, 0.1));
  await expect(status(page)).toHaveText("Paused: the battery is low (below 20 %, not charging)");
});

test("status in words: another tab (two real pages; the stored choice starts both, one works) and offline (context.setOffline)", async ({
  context,
  cluster,
}) => {
  const first = await context.newPage();
  await first.goto(`${cluster.origin}/pages/widget.html?threads=1`);
  await agree(first);
  await expect.poll(() => cluster.stats().offered_slots).toBe(1);

  const second = await context.newPage();
  await second.goto(`${cluster.origin}/pages/widget.html?threads=1`);
  await pill(second).click();
  await expect(status(second)).toHaveText("Waiting: working in another tab of this site");
  await expect(pill(second)).toHaveText(/Waiting/);
  expect(cluster.stats()).toMatchObject({ workers: 1, offered_slots: 1 });

  await first.close();
  await expect(status(second)).toHaveText("Working with 1 thread");
  await expect.poll(() => cluster.stats()).toMatchObject({ workers: 1, offered_slots: 1 });

  await context.setOffline(true);
  await expect(status(second)).toHaveText("Waiting: you are offline");
  await context.setOffline(false);
  await expect(status(second)).toHaveText("Working with 1 thread");
});

test("a stop or a withdrawal in one tab holds in the others (storage events)", async ({ context, cluster }) => {
  const [a, b] = [await context.newPage(), await context.newPage()];
  await a.goto(`${cluster.origin}/pages/widget.html?threads=1`);
  await b.goto(`${cluster.origin}/pages/widget.html?threads=1`);
  await agree(a);
  await pill(b).click();
  // b starts on a's "yes" too; whichever takes the tab lock first works, the other waits.
  const statuses = async () => [await status(a).textContent(), await status(b).textContent()].sort();
  await expect.poll(statuses).toEqual(["Waiting: working in another tab of this site", "Working with 1 thread"]);
  await button(a, "Stop").click();
  await expect.poll(statuses).toEqual(["Stopped", "Stopped"]); // the waiting one did not take over
  await expect.poll(() => cluster.stats().workers).toBe(0);
  await button(b, "Start").click();
  await expect.poll(() => cluster.stats().workers).toBe(1);
  await button(a, "Withdraw consent").click();
  await expect(button(b, "Agree and start")).toBeVisible();
  await expect.poll(() => cluster.stats().workers).toBe(0);
});

test("keyboard and screen reader: Tab reaches the button, Enter opens the panel and moves focus into it, Escape closes it and gives focus back", async ({
  page,
  cluster,
}) => {
  await page.goto(`${cluster.origin}/pages/widget.html?threads=1`);
  await expect(pill(page)).toBeVisible();
  await page.keyboard.press("Tab");
  await expect(pill(page)).toBeFocused();
  await expect(pill(page)).toHaveAttribute("aria-expanded", "false");
  await expect(widget(page).getByRole("button", { name: "Motivus: Help research" })).toBeVisible();
  await page.keyboard.press("Enter");
  await expect(pill(page)).toHaveAttribute("aria-expanded", "true");
  await expect(widget(page).getByRole("heading", { name: "Motivus Lend spare computing power" })).toBeFocused();
  await page.keyboard.press("Tab");
  await expect(button(page, "Close the Motivus panel")).toBeFocused();
  await page.keyboard.press("Tab");
  await expect(button(page, "Agree and start")).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(button(page, "Stop")).toBeFocused();
  await expect(status(page)).toHaveText("Working with 1 thread");
  await expect(widget(page).getByRole("complementary", { name: "Motivus" })).toBeVisible();
  await page.keyboard.press("Escape");
  await expect(pill(page)).toBeFocused();
  await expect(pill(page)).toHaveAttribute("aria-expanded", "false");
  await expect(widget(page).locator(".panel")).toBeHidden();
});

test('Spanish with data-lang="es"', async ({ page, cluster }) => {
  await page.goto(`${cluster.origin}/pages/widget.html?threads=1&lang=es`);
  await expect(pill(page)).toHaveText(/Ayuda a la ciencia/);
  await pill(page).click();
  await button(page, "Aceptar y comenzar").click();
  await expect(status(page)).toHaveText("Trabajando con 1 hilo");
  await expect(widget(page).getByRole("slider", { name: "Hilos" })).toBeVisible();
  await expect(button(page, "Retirar consentimiento")).toBeVisible();
});

test("never shifts the host page's layout nor inherits its CSS; collapses to a small button; follows prefers-color-scheme and prefers-reduced-motion", async ({
  page,
  cluster,
}) => {
  const layout = () =>
    page.evaluate(() => {
      const r = document.getElementById("content")!.getBoundingClientRect();
      return {
        x: r.x,
        y: r.y,
        w: r.width,
        h: r.height,
        scroll: document.documentElement.scrollHeight,
        width: document.documentElement.scrollWidth,
      };
    });
  await page.route("**/motivus-embed.js", (route) => route.abort());
  await page.goto(`${cluster.origin}/pages/widget.html`);
  const without = await layout();
  await page.unroute("**/motivus-embed.js");
  await page.reload();
  await expect(pill(page)).toBeVisible();
  expect(await layout()).toEqual(without);
  const box = (await pill(page).boundingBox())!;
  expect(box.width).toBeLessThan(240);
  expect(box.height).toBeLessThan(60);
  await pill(page).click();
  await expect(widget(page).locator(".panel")).toBeVisible();
  expect(await layout()).toEqual(without);

  const styles = await widget(page).evaluate((host) => {
    const root = host.shadowRoot!;
    const pick = (el: Element) => {
      const cs = getComputedStyle(el);
      return {
        font: cs.fontFamily,
        color: cs.color,
        transform: cs.textTransform,
        spacing: cs.letterSpacing,
        bg: cs.backgroundColor,
        display: cs.display,
      };
    };
    return {
      host: getComputedStyle(host).position,
      root: pick(root.querySelector(".root")!),
      pill: pick(root.querySelector(".pill")!),
      mark: pick(root.querySelector("svg")!),
    };
  });
  expect(styles.host).toBe("fixed");
  expect(styles.root.font).not.toMatch(/Comic/);
  expect(styles.root.transform).toBe("none");
  expect(styles.root.spacing).toBe("normal");
  expect(styles.root.color).toBe("rgb(27, 33, 48)");
  expect(styles.pill.bg).toBe("rgb(255, 255, 255)");
  expect(styles.mark.display).not.toBe("none");

  const panelStyle = () =>
    widget(page).evaluate((host) => {
      const cs = getComputedStyle(host.shadowRoot!.querySelector(".panel")!);
      return { bg: cs.backgroundColor, animation: cs.animationName };
    });
  expect(await panelStyle()).toEqual({ bg: "rgb(255, 255, 255)", animation: "open" });
  await page.emulateMedia({ colorScheme: "dark", reducedMotion: "reduce" });
  expect(await panelStyle()).toEqual({ bg: "rgb(27, 32, 48)", animation: "none" });
});

test("invalid settings are named in the console and never break the page", async ({ page, cluster }) => {
  const errors: string[] = [];
  page.on("console", (msg) => msg.type() === "error" && errors.push(msg.text()));
  page.on("pageerror", (err) => errors.push(`page error: ${err.message}`));
  await page.goto(`${cluster.origin}/pages/widget.html?threads=lots&lang=fr&position=middle`);
  await expect(pill(page)).toBeVisible();
  expect(errors).toEqual([
    'motivus: data-threads="lots" is not a whole number from 1 to 64; the default is used',
    'motivus: data-lang="fr" is not "en" or "es"; the page\'s language is used',
    'motivus: data-position="middle" is not one of bottom-right, bottom-left, top-right, top-left; bottom-right is used',
  ]);

  errors.length = 0;
  await page.goto(`${cluster.origin}/pages/widget.html?cluster=${encodeURIComponent("ftp://example.org/")}`);
  await expect
    .poll(() => errors)
    .toEqual([
      'motivus: data-cluster="ftp://example.org/" is not a cluster address (wss://host/socket, or an http(s) address of a loopback cluster); the widget is not shown',
    ]);
  expect(await widget(page).count()).toBe(0);
  expect(await page.evaluate(() => typeof (window as any).Motivus.start)).toBe("function");
  await expect(page.locator("#content")).toBeVisible();
});
