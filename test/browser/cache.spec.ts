// The data package store end to end: the built library on a worker page (test/browser/pages/cache.html),
// a real loopback cluster serving generated data packages with sirv (ETag, Last-Modified), and the
// TypeScript driver. A data package outlives the page in IndexedDB, revalidates with a 304, stays
// under its cap, is re-fetched when damaged, and a page without IndexedDB still works.
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "@playwright/test";
import { strToU8, zipSync } from "fflate";
import { Client } from "motivus-driver";
import type { CacheStats, MotivusWorker } from "motivus-worker";
import { startLoopback, type LoopbackServer } from "motivus-loopback";
import { expect, fixtures, root, test as base } from "./support/cluster.js";
import { openWorker, reopen } from "./support/cache-page.js";

interface CachePage {
  motivusWorker: MotivusWorker;
  cacheStore: {
    contents(): Promise<{
      sizes: Record<string, number>;
      index: { links: Record<string, { key: string; etag: string | null }> } | null;
    }>;
    overwrite(key: string, bytes: number[]): Promise<void>;
  };
}

/** The cluster fixture, plus a folder of generated data packages served at /packages/. */
const test = base.extend<{ packages: string }>({
  packages: async ({}, use) => {
    const dir = await mkdtemp(join(tmpdir(), "motivus-packages-"));
    await use(dir);
    await rm(dir, { recursive: true, force: true });
  },
  cluster: async ({ clusterLog, packages }, use) => {
    const server = await startLoopback({
      port: 0,
      algorithms: `${fixtures}/registry`,
      mounts: {
        "/fixtures/": fixtures,
        "/pages/": `${root}/test/browser/pages`,
        "/modules/": `${root}/node_modules`,
        "/packages/": packages,
      },
      log: (line) => clusterLog.push(line),
    });
    await use(server);
    await server.close();
  },
});

// The datapkg algorithm prints /pkg/greeting.txt, 28 bytes of its data package: every variant keeps that size.
const datapkg = { wasm_path: `${fixtures}/c/build/classic/datapkg.wasm`, loader_path: `${fixtures}/c/build/classic/datapkg.js` };
const greeting = (n: number) => `hello from package number ${n}\n`;
const zipOf = (n: number) => zipSync({ "datapkg.data": strToU8(greeting(n)) }, { level: 0, mtime: new Date("2020-01-01") });
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** Write package `n` into the served folder; its link on the cluster's origin. */
async function publish(dir: string, origin: string, n: number, name = `pkg-${n}`): Promise<string> {
  await writeFile(join(dir, `${name}.data.zip`), zipOf(n));
  return `${origin}/packages/${name}.data.zip`;
}

const stats = (page: Page): Promise<CacheStats> =>
  page.evaluate(() => (window as unknown as CachePage).motivusWorker.cacheStats());
const contents = (page: Page) => page.evaluate(() => (window as unknown as CachePage).cacheStore.contents());
/** The data packages' keys (bundle files share the store under `bundle:<sha256>` keys). */
const storedKeys = async (page: Page) =>
  Object.keys((await contents(page)).sizes)
    .filter((key) => !key.startsWith("bundle:"))
    .sort();

/** Run datapkg with `link`; what the program read from its data package. */
async function greetingVia(cluster: LoopbackServer, link: string): Promise<string> {
  const out = join(await mkdtemp(join(tmpdir(), "motivus-greeting-")), "greeting.txt");
  const client = await Client.connect({ uri: cluster.driverUri, logDir: null });
  try {
    expect(
      await client.selectTask(client.callAsync({ ...datapkg, data_link: link, result_files: { "/output/greeting.txt": out } })),
    ).toBe(0);
    return await readFile(out, "utf8");
  } finally {
    await client.close();
  }
}

/** The HTTP statuses `link` answered the page with, as they come. */
function statusesOf(page: Page, link: string): number[] {
  const seen: number[] = [];
  page.on("response", (response) => void (response.url() === link && seen.push(response.status())));
  return seen;
}

test.afterEach(async ({ clusterLog }, info) => {
  if (info.status !== info.expectedStatus) console.log(`DEBUG ${info.title}\n${clusterLog.join("\n")}`);
});

test("a second page load runs the task from the cache with the network to data_link blocked", async ({
  page,
  cluster,
  packages,
}) => {
  const link = await publish(packages, cluster.origin, 1);
  await openWorker(page, cluster);
  expect(await greetingVia(cluster, link)).toBe(greeting(1));
  await expect.poll(() => storedKeys(page)).toEqual([sha256(zipOf(1))]);

  await page.route(link, (route) => route.abort());
  const blocked: string[] = [];
  page.on("requestfailed", (request) => void (request.url() === link && blocked.push(request.failure()?.errorText ?? "")));
  await reopen(page, cluster);
  expect(await greetingVia(cluster, link)).toBe(greeting(1));
  expect(blocked).toHaveLength(1); // the revalidation was tried, and failed
  expect(await stats(page)).toMatchObject({ persistent: true, reason: null, hits: 1, misses: 0, entries: 1 });
});

test("eviction keeps the store under its cap, least recently used out first", async ({ page, cluster, packages }) => {
  const size = zipOf(1).byteLength; // every variant has the same size
  const cap = 2 * size + Math.floor(size / 2); // room for two
  await openWorker(page, cluster, `?cap=${cap}`);
  const links = [];
  for (const n of [1, 2, 3, 4]) links.push(await publish(packages, cluster.origin, n));
  for (const [i, n] of [1, 2, 3, 4].entries()) {
    expect(await greetingVia(cluster, links[i]!)).toBe(greeting(n));
    await expect.poll(async () => (await storedKeys(page)).includes(sha256(zipOf(n)))).toBe(true);
    const { sizes } = await contents(page);
    expect(Object.values(sizes).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(cap);
  }
  expect(await storedKeys(page)).toEqual([sha256(zipOf(3)), sha256(zipOf(4))].sort());
  expect(await stats(page)).toMatchObject({ persistent: true, bytes: 2 * size, entries: 2, misses: 4 });

  // Package 3 used again (after a reload), then a fifth one: 4 is now the least recently used.
  await reopen(page, cluster, `?cap=${cap}`);
  expect(await greetingVia(cluster, links[2]!)).toBe(greeting(3));
  const fifth = await publish(packages, cluster.origin, 5);
  expect(await greetingVia(cluster, fifth)).toBe(greeting(5));
  await expect.poll(() => storedKeys(page)).toEqual([sha256(zipOf(3)), sha256(zipOf(5))].sort());
});

test("a damaged entry is detected by its hash, dropped and fetched again", async ({ page, cluster, packages }) => {
  const link = await publish(packages, cluster.origin, 1);
  await openWorker(page, cluster);
  expect(await greetingVia(cluster, link)).toBe(greeting(1));
  const key = sha256(zipOf(1));
  await expect.poll(() => storedKeys(page)).toEqual([key]);
  // Another package's bytes, a perfectly good zip, under package 1's key: only the hash tells.
  const impostor = Array.from(zipOf(9));
  await page.evaluate(([k, bytes]) => (window as unknown as CachePage).cacheStore.overwrite(k, bytes), [key, impostor] as const);

  await reopen(page, cluster);
  const statuses = statusesOf(page, link);
  const warnings: string[] = [];
  page.on("console", (message) => void (message.type() === "warning" && warnings.push(message.text())));
  expect(await greetingVia(cluster, link)).toBe(greeting(1));
  expect(statuses).toEqual([200]); // fetched in full, not revalidated against the damaged copy
  expect(warnings.join("\n")).toMatch(/cached copy of .*pkg-1.data.zip is damaged/);
  await expect.poll(async () => (await contents(page)).sizes[key]).toBe(zipOf(1).byteLength);
  expect(await stats(page)).toMatchObject({ persistent: true, hits: 0, misses: 1, entries: 1 });
});

test("without IndexedDB (simulated: its getter throws, as in a storage-blocked context) tasks still run, in memory, and stats say why", async ({
  page,
  cluster,
  packages,
}) => {
  await page.context().addInitScript(() => {
    Object.defineProperty(window, "indexedDB", {
      get() {
        throw new DOMException("blocked", "SecurityError");
      },
    });
  });
  const link = await publish(packages, cluster.origin, 1);
  await openWorker(page, cluster);
  const statuses = statusesOf(page, link);
  expect(await greetingVia(cluster, link)).toBe(greeting(1));
  expect(await greetingVia(cluster, link)).toBe(greeting(1));
  expect(statuses).toEqual([200]); // the second came from memory
  const now = await stats(page);
  expect(now).toMatchObject({ persistent: false, hits: 1, misses: 1, bytes: 0, entries: 0 });
  expect(now.reason).toMatch(/IndexedDB is unavailable in this context \(private window\?\): SecurityError: blocked/);
});

test("validators: an unchanged file revalidates with a 304 and runs from the cached bytes; a changed one is fetched anew", async ({
  page,
  cluster,
  packages,
}) => {
  const link = await publish(packages, cluster.origin, 1);
  const statuses = statusesOf(page, link);
  await openWorker(page, cluster);
  expect(await greetingVia(cluster, link)).toBe(greeting(1));
  await expect.poll(() => storedKeys(page)).toEqual([sha256(zipOf(1))]);
  expect((await contents(page)).index?.links[link]?.etag).toMatch(/^W\/"/); // sirv's weak ETag, kept

  await reopen(page, cluster);
  expect(await greetingVia(cluster, link)).toBe(greeting(1));
  expect(await greetingVia(cluster, link)).toBe(greeting(1)); // once per page life: no second request
  expect(statuses).toEqual([200, 304]);
  expect(await stats(page)).toMatchObject({ hits: 2, misses: 0 });

  // The same name, other bytes (and another mtime, so another ETag).
  await publish(packages, cluster.origin, 2, "pkg-1");
  await utimes(join(packages, "pkg-1.data.zip"), new Date(), new Date(Date.now() + 60_000));
  await reopen(page, cluster);
  expect(await greetingVia(cluster, link)).toBe(greeting(2));
  expect(statuses).toEqual([200, 304, 200]);
  // The old bytes go with the link that held them.
  await expect.poll(() => storedKeys(page)).toEqual([sha256(zipOf(2))]);
});

test("data saver (simulated: navigator.connection.saveData set by an init script): a package over saveDataMaxBytes is refused with a reason, one under it runs", async ({
  page,
  cluster,
  packages,
}) => {
  await page.context().addInitScript(() => Object.defineProperty(navigator, "connection", { value: { saveData: true } }));
  const link = await publish(packages, cluster.origin, 1);
  const size = zipOf(1).byteLength;

  await openWorker(page, cluster, `?saveDataMax=${size - 1}`);
  expect(await page.evaluate(() => (window as unknown as CachePage).motivusWorker.budget)).toMatchObject({
    limits: ["save-data"],
    maxDataBytes: size - 1,
  });
  await expect(greetingVia(cluster, link)).rejects.toThrow(
    `data_link ${link} is larger than the ${size - 1} bytes a data package may have`,
  );

  await reopen(page, cluster, `?saveDataMax=${size}`);
  expect(await greetingVia(cluster, link)).toBe(greeting(1));
});
