// The TypeScript driver in a browser (the built dist/driver, imports mapped
// as a bundler would): one page drives, another page is the worker.
import { expect, test } from "./support/cluster.js";

test("the driver runs in a browser page: results and failures come back", async ({ page, context, cluster }) => {
  const worker = await context.newPage();
  await worker.goto(`${cluster.origin}/worker.html?autostart=1&threads=1`);
  await expect.poll(() => cluster.stats().offered_slots).toBe(1);
  await page.goto(`${cluster.origin}/pages/driver.html`);
  await page.waitForFunction(() => (window as any).driverReady === true);
  const ok = await page.evaluate(() => (window as any).runInBrowser("modularize", "echo", ["a", "b"]));
  expect(ok).toEqual({ data: 0 });
  const crash = await page.evaluate(() => (window as any).runInBrowser("classic", "crash", []));
  expect(crash.error).toMatch(/^TaskError: task 1 failed: the algorithm aborted/);
  expect(cluster.stats()).toMatchObject({ done: 2 });
});
