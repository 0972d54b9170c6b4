// The script tag's settings and its small API on window.Motivus, on real host pages against a real
// loopback cluster.
import type { Page } from "@playwright/test";
import { expect, test } from "./support/cluster.js";

const widget = (page: Page) => page.locator("motivus-widget");

/** The token the worker library used, as the cluster's user API saw it. */
function tokenUsed(page: Page): Promise<string | null> {
  return new Promise((ok) =>
    page.on("request", (r) => r.url().endsWith("/api/user") && ok(r.headers()["authorization"] ?? null)),
  );
}

test("window.Motivus set before the tag: its settings are read (client_id as the token), a data attribute wins, an unknown key is named", async ({
  page,
  cluster,
}) => {
  const errors: string[] = [];
  page.on("console", (msg) => msg.type() === "error" && errors.push(msg.text()));
  const token = tokenUsed(page);
  await page.goto(`${cluster.origin}/pages/embed-preset.html`);
  await expect(widget(page)).toHaveAttribute("data-position", "top-left");
  await expect(widget(page).locator("button.pill")).toHaveText(/Help research/); // data-lang="en" over lang: "es"
  expect(errors).toEqual([
    "motivus: window.Motivus has settings nobody reads: colour (known: cluster, token, client_id, threads, lang, position, cpuShare)",
  ]);
  await page.evaluate(() => (window as any).Motivus.start());
  expect(await token).toBe("Bearer volunteer-1234");
  await expect.poll(() => cluster.stats().offered_slots).toBe(2);
});

test("the original widget's snippet (async tag, then `Motivus.client_id = '1234'`) still gives its client_id as the token", async ({
  page,
  cluster,
}) => {
  const token = tokenUsed(page);
  await page.goto(`${cluster.origin}/pages/embed-original.html`);
  await expect(widget(page)).toBeVisible();
  expect(await page.evaluate(() => (window as any).Motivus.client_id)).toBe("1234");
  await page.evaluate(() => (window as any).Motivus.start());
  expect(await token).toBe("Bearer 1234");
  await expect.poll(() => cluster.stats().workers).toBe(1);
});

test("the API after load: start (consent through the site's own UI), on, open and close, stop, withdraw", async ({
  page,
  cluster,
}) => {
  await page.goto(`${cluster.origin}/pages/widget.html?threads=1`);
  await page.waitForFunction(() => typeof (window as any).Motivus?.on === "function");
  expect(await page.evaluate(() => Object.keys((window as any).Motivus).sort())).toEqual([
    "close",
    "on",
    "open",
    "start",
    "stop",
    "withdraw",
  ]);
  await page.evaluate(() => {
    const events: string[] = ((window as any).events = []);
    const M = (window as any).Motivus;
    M.on("consent", ({ given }: { given: boolean }) => events.push(`consent ${given}`));
    M.on("state", ({ state }: { state: string }) => events.push(state));
  });
  await page.evaluate(() => (window as any).Motivus.start());
  await expect.poll(() => cluster.stats().offered_slots).toBe(1);
  expect(await page.evaluate(() => (window as any).events)).toEqual(["consent true", "connecting", "running"]);

  await page.evaluate(() => (window as any).Motivus.open());
  await expect(widget(page).locator(".panel")).toBeVisible();
  await expect(widget(page).getByRole("status")).toHaveText("Working with 1 thread");
  await page.evaluate(() => (window as any).Motivus.close());
  await expect(widget(page).locator(".panel")).toBeHidden();

  await page.evaluate(() => (window as any).Motivus.stop());
  await expect.poll(() => cluster.stats().workers).toBe(0);
  await page.evaluate(() => (window as any).Motivus.withdraw());
  expect(await page.evaluate(() => (window as any).events)).toEqual([
    "consent true",
    "connecting",
    "running",
    "stopped",
    "consent false",
  ]);
  expect(await page.evaluate(() => localStorage.getItem("motivus-worker"))).toBeNull();
});
