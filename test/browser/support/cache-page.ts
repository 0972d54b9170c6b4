/** The cache test page (pages/cache.html) as a worker of a test cluster, opened and reopened in one browser context. */
import type { Page } from "@playwright/test";
import type { LoopbackServer } from "motivus-loopback";
import { expect } from "./cluster.js";

/** Open the cache page as a worker and wait until the cluster holds its one offer. */
export async function openWorker(page: Page, cluster: LoopbackServer, query = ""): Promise<void> {
  await page.goto(`${cluster.origin}/pages/cache.html${query}`);
  await expect.poll(() => cluster.stats().offered_slots).toBe(1);
}

/** End this page life (its worker leaves the cluster) and open the page again, in the same context: a reload. */
export async function reopen(page: Page, cluster: LoopbackServer, query = ""): Promise<void> {
  await page.goto("about:blank");
  await expect.poll(() => cluster.stats().workers).toBe(0);
  await openWorker(page, cluster, query);
}
