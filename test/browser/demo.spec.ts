// The demo the loopback serves at `/` (what `npm start` opens): the widget embedded by its script tag
// as a site owner would, an accessibility scan with axe-core (light and dark, collapsed and open,
// before and after consent), the loopback dashboard, and the developer worker page's old address.
import type { Page } from "@playwright/test";
import { createRequire } from "node:module";
import { Client } from "motivus-driver";
import { expect, fixtures, test } from "./support/cluster.js";

const axePath = createRequire(import.meta.url).resolve("axe-core");
const widget = (page: Page) => page.locator("motivus-widget");

/** axe-core's violations on the page as it is now: rule, impact and the first target of each. */
async function axeViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => "axe" in window))) await page.addScriptTag({ path: axePath });
  // Colours are measured as drawn: let the panel's opening animation end first (the status dot's pulse never does).
  await page.evaluate(async () => {
    const roots: DocumentOrShadowRoot[] = [
      document,
      ...[...document.querySelectorAll("*")].flatMap((el) => (el.shadowRoot ? [el.shadowRoot] : [])),
    ];
    const finite = roots.flatMap((root) => root.getAnimations()).filter((a) => a.effect?.getTiming().iterations !== Infinity);
    await Promise.all(finite.map((a) => a.finished.catch(() => undefined)));
  });
  const violations = await page.evaluate(
    async () =>
      (await (window as any).axe.run(document)).violations as { id: string; impact: string; nodes: { target: unknown[] }[] }[],
  );
  return violations.map((v) => `${v.id} (${v.impact}): ${JSON.stringify(v.nodes[0]?.target)}`);
}

test("the demo page has no accessibility violations (axe-core): collapsed, open, after consent, light and dark", async ({
  page,
  cluster,
}) => {
  await page.goto(`${cluster.origin}/`);
  await expect(widget(page).locator("button.pill")).toBeVisible();
  expect(await axeViolations(page)).toEqual([]);
  await page.getByRole("button", { name: "Open the widget" }).click();
  await expect(widget(page).getByRole("button", { name: "Agree and start" })).toBeVisible();
  expect(await axeViolations(page)).toEqual([]);
  await widget(page).getByRole("button", { name: "Agree and start" }).click();
  await expect(widget(page).getByRole("status")).toHaveText("Working with 1 thread");
  expect(await axeViolations(page)).toEqual([]);
  await page.emulateMedia({ colorScheme: "dark" });
  expect(await axeViolations(page)).toEqual([]);
  await widget(page).locator("button.pill").click();
  expect(await axeViolations(page)).toEqual([]);
});

test("the demo embeds the widget with its script tag; nothing runs until the visitor agrees, then tasks run here", async ({
  page,
  cluster,
}) => {
  await page.goto(`${cluster.origin}/`);
  expect(await page.locator('script[src="/dist/browser/motivus-embed.js"][data-cluster="/"][async]').count()).toBe(1);
  await expect(page.locator("#driver-uri")).toHaveText(`ws://${new URL(cluster.origin).host}/client_socket/websocket`);
  await expect(widget(page).locator("button.pill")).toHaveText(/Help research/);
  await page.waitForTimeout(1000);
  expect(cluster.stats().workers).toBe(0);
  await page.getByRole("button", { name: "Open the widget" }).click();
  await widget(page).getByRole("button", { name: "Agree and start" }).click();
  await expect.poll(() => cluster.stats().offered_slots).toBe(1);
  const client = await Client.connect({ uri: cluster.driverUri, logDir: null });
  const build = `${fixtures}/c/build/modularize`;
  expect(
    await client.selectTask(
      client.callAsync({ wasm_path: `${build}/echo.wasm`, loader_path: `${build}/echo.js`, arguments: ["demo"] }),
    ),
  ).toBe(0);
  await client.close();
  await expect(widget(page).locator(".total")).toHaveText(/^1 task · /);
});

test("the dashboard shows connected workers, the queue and a throughput chart from /api/loopback/stats, polled once a second; it has no accessibility violations", async ({
  page,
  context,
  cluster,
}) => {
  const polls: number[] = [];
  page.on("request", (r) => r.url().endsWith("/api/loopback/stats") && polls.push(Date.now()));
  await page.goto(`${cluster.origin}/dashboard.html`);
  await expect(page.locator("#workers")).toHaveText("0");
  await expect(page.locator("#live")).toHaveText("live");

  const worker = await context.newPage();
  await worker.goto(`${cluster.origin}/worker.html?autostart=1&threads=2`);
  await expect(page.locator("#workers")).toHaveText("1");
  await expect(page.locator("#offered_slots")).toHaveText("2");
  const client = await Client.connect({ uri: cluster.driverUri, logDir: null });
  const build = `${fixtures}/c/build/modularize`;
  const ids = Array.from({ length: 6 }, () =>
    client.callAsync({ wasm_path: `${build}/echo.wasm`, loader_path: `${build}/echo.js`, arguments: ["x"] }),
  );
  for (const id of ids) await client.selectTask(id);
  await expect(page.locator("#done")).toHaveText("6");
  await expect(page.locator("#chart rect.bar").first()).toBeVisible();
  await expect(page.getByRole("img")).toHaveAttribute(
    "aria-label",
    /^Tasks finished per second over the last \d+ seconds; now \d+, at most [1-6]\.$/,
  );
  await client.close();
  const gaps = polls.slice(1).map((t, i) => t - polls[i]!);
  expect(Math.min(...gaps)).toBeGreaterThan(700); // once a second, not faster
  expect(await axeViolations(page)).toEqual([]);
});

test("the developer worker page moved to /worker.html; its old address /?autostart=1 still leads there", async ({
  page,
  cluster,
}) => {
  await page.goto(`${cluster.origin}/?autostart=1&threads=1`);
  await expect(page).toHaveURL(`${cluster.origin}/worker.html?autostart=1&threads=1`);
  await expect.poll(() => cluster.stats().offered_slots).toBe(1);
  expect(await page.evaluate(() => (window as any).motivusWorker.state)).toBe("running");
});
