// Screenshots of the widget for the README, taken from the real demo page against a real loopback
// cluster: `SCREENSHOTS=1 npx playwright test test/browser/screenshots.spec.ts` writes
// docs/screenshots/*.png (skipped otherwise, so test runs leave the tree as it was).
// The previous days of the contribution chart are seeded in localStorage (a returning visitor's
// history); today's bar, the running tasks and every other number come from tasks run here.
import type { Page } from "@playwright/test";
import { mkdir } from "node:fs/promises";
import { Client } from "motivus-driver";
import { expect, fixtures, root, test } from "./support/cluster.js";

test.skip(!process.env.SCREENSHOTS, "set SCREENSHOTS=1 to write docs/screenshots/*.png");
test.use({ viewport: { width: 1280, height: 800 } });

const out = `${root}/docs/screenshots`;
const build = `${fixtures}/c/build/modularize`;
const widget = (page: Page) => page.locator("motivus-widget");

/** The widget with a margin of the page around it. */
async function shoot(page: Page, name: string): Promise<void> {
  await page.evaluate(async () => {
    const roots = [document, document.querySelector("motivus-widget")!.shadowRoot!];
    const finite = roots.flatMap((r) => r.getAnimations()).filter((a) => a.effect?.getTiming().iterations !== Infinity);
    await Promise.all(finite.map((a) => a.finished.catch(() => undefined)));
  });
  const box = (await widget(page).boundingBox())!;
  const parts = await widget(page).evaluate((host) =>
    [...host.shadowRoot!.querySelectorAll(".pill, .panel")].map((el) => el.getBoundingClientRect().toJSON()),
  );
  const visible = parts.filter((r: DOMRect) => r.width > 0);
  const x0 = Math.min(box.x, ...visible.map((r: DOMRect) => r.x));
  const y0 = Math.min(box.y, ...visible.map((r: DOMRect) => r.y));
  const x1 = Math.max(box.x + box.width, ...visible.map((r: DOMRect) => r.right));
  const y1 = Math.max(box.y + box.height, ...visible.map((r: DOMRect) => r.bottom));
  const m = 24;
  const clip = { x: Math.max(0, x0 - m), y: Math.max(0, y0 - m), width: 0, height: 0 };
  clip.width = Math.min(1280, x1 + m) - clip.x;
  clip.height = Math.min(800, y1 + m) - clip.y;
  await page.screenshot({ path: `${out}/${name}.png`, clip });
}

test("widget screenshots: collapsed, light (asking), working, dark", async ({ page, cluster }) => {
  test.setTimeout(120_000);
  await mkdir(out, { recursive: true });
  await page.emulateMedia({ colorScheme: "light", reducedMotion: "reduce" });
  await page.goto(`${cluster.origin}/`);
  await expect(widget(page).locator("button.pill")).toBeVisible();
  await page.screenshot({ path: `${out}/demo-page.png` });
  await shoot(page, "widget-collapsed");

  await widget(page).locator("button.pill").click();
  await expect(widget(page).getByRole("button", { name: "Agree and start" })).toBeVisible();
  await shoot(page, "widget-light");

  // A returning visitor: the days before today from localStorage, then agree on this page.
  await page.evaluate(() => {
    const days: Record<string, [number, number]> = {};
    const pad = (n: number) => String(n).padStart(2, "0");
    const cpu = [0, 6, 9, 0, 14, 11, 4, 0, 18, 22, 7, 13, 16];
    cpu.forEach((minutes, i) => {
      const d = new Date();
      d.setDate(d.getDate() - (13 - i));
      if (minutes) days[`${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`] = [minutes * 9, minutes * 60_000];
    });
    const tasks = Object.values(days).reduce((n, [t]) => n + t, 0);
    const cpuMs = Object.values(days).reduce((n, [, ms]) => n + ms, 0);
    localStorage.setItem(
      "motivus-worker",
      JSON.stringify({ consent: false, running: false, threads: 2, share: 0.5, tasks, cpuMs, days }),
    );
  });
  await page.reload();
  await widget(page).locator("button.pill").click();
  await widget(page).getByRole("button", { name: "Agree and start" }).click();
  await expect.poll(() => cluster.stats().offered_slots).toBe(2);

  const client = await Client.connect({ uri: cluster.driverUri, logDir: null });
  for (let i = 0; i < 3; i++)
    await client.selectTask(
      client.callAsync({ wasm_path: `${build}/echo.wasm`, loader_path: `${build}/echo.js`, arguments: ["x"] }),
    );
  await expect(widget(page).getByText(/^1 worker · 0 queued · 0 running · 3 done$/)).toBeVisible();
  client.callAsync({ wasm_path: `${build}/forever.wasm`, loader_path: `${build}/forever.js` });
  client.callAsync({ wasm_path: `${build}/forever.wasm`, loader_path: `${build}/forever.js` });
  await expect(widget(page).locator("ul li")).toHaveText([/ s$/, / s$/], { timeout: 20_000 });
  await page.waitForTimeout(4200); // a few seconds on the clock
  await shoot(page, "widget-working");
  await page.emulateMedia({ colorScheme: "dark", reducedMotion: "reduce" });
  await shoot(page, "widget-dark");
  await client.close();
});
