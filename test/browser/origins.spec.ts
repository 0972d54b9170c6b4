// A page the cluster does not know: the loopback refuses it, and the page is told, in the page, which
// --allow-origin would admit it (not a bare "Failed to fetch" with the hint only in the cluster's log).
import { startLoopback } from "motivus-loopback";
import { expect, test } from "./support/cluster.js";

test("a page of another origin is told which --allow-origin admits it; with that flag it works", async ({ page }) => {
  const elsewhere = await startLoopback({ port: 0 }); // serves the worker page on an origin of its own
  const refusing = await startLoopback({ port: 0 });
  const admitting = await startLoopback({ port: 0, allowOrigins: [elsewhere.origin] });
  try {
    const open = (cluster: string) => page.goto(`${elsewhere.origin}/worker.html?autostart=1&cluster=${cluster}`);
    await open(refusing.origin);
    await expect(page.locator("#state")).toHaveText("error");
    await expect(page.locator("#log")).toContainText(`start the cluster with --allow-origin ${elsewhere.origin} to let it in`);
    expect(refusing.stats().workers).toBe(0);

    await open(admitting.origin);
    await expect(page.locator("#state")).toHaveText("running");
    await expect.poll(() => admitting.stats().offered_slots).toBe(1);
  } finally {
    await Promise.all([elsewhere.close(), refusing.close(), admitting.close()]);
  }
});
