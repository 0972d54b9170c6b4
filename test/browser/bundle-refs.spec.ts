// Bundles by reference end to end (docs/protocol.md): the built library on a worker page
// (test/browser/pages/cache.html, which reaches the worker's IndexedDB store from outside), a real
// loopback cluster that keeps each program file once and sends references to a worker that asks,
// and the TypeScript driver. The worker gets no inline bytes, keeps the files in IndexedDB across
// page loads, finds a damaged one by its hash, and keeps the files under the store's byte cap.
import { createHash } from "node:crypto";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "@playwright/test";
import { Client } from "motivus-driver";
import type { LoopbackServer } from "motivus-loopback";
import type { MotivusWorker } from "motivus-worker";
import { BUNDLE_STORE_PATH, decodeFrame, type Frame } from "motivus-protocol";
import { expect, fixtures, test } from "./support/cluster.js";
import { openWorker, reopen } from "./support/cache-page.js";

interface CachePage {
  cacheStore: {
    contents(): Promise<{ sizes: Record<string, number> }>;
    overwrite(key: string, bytes: number[]): Promise<void>;
  };
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const echo = { wasm: `${fixtures}/c/build/classic/echo.wasm`, loader: `${fixtures}/c/build/classic/echo.js` };
const bundleKey = (bytes: Uint8Array) => `bundle:${sha256(bytes)}`;

const contents = (page: Page) => page.evaluate(() => (window as unknown as CachePage).cacheStore.contents());
const storedBundleFiles = async (page: Page) =>
  Object.entries((await contents(page)).sizes).filter(([key]) => key.startsWith("bundle:"));

/** The URLs of the bundle store the page requests from now on. */
function bundleRequests(page: Page): string[] {
  const seen: string[] = [];
  page.on("request", (request) => void (request.url().includes(BUNDLE_STORE_PATH) && seen.push(request.url())));
  return seen;
}

/** Run echo with `words`; what it wrote to /output/args.txt. */
async function echoed(cluster: LoopbackServer, words: string[]): Promise<string> {
  const out = join(await mkdtemp(join(tmpdir(), "motivus-refs-")), "args.txt");
  const client = await Client.connect({ uri: cluster.driverUri, logDir: null });
  try {
    const task = { wasm_path: echo.wasm, loader_path: echo.loader, arguments: words, result_files: { "/output/args.txt": out } };
    expect(await client.selectTask(client.callAsync(task))).toBe(0);
    return await readFile(out, "utf8");
  } finally {
    await client.close();
  }
}

test.afterEach(async ({ clusterLog }, info) => {
  if (info.status !== info.expectedStatus) console.log(`DEBUG ${info.title}\n${clusterLog.join("\n")}`);
});

test("a worker that asks for references gets none of the program's bytes inline, and runs it right", async ({
  page,
  cluster,
}) => {
  // The page's socket as the browser sees it (the worker speaks vsn=2.0.0); its text frames (a result
  // with files may go as a binary one: docs/protocol.md, "Files in binary frames").
  const sent: Frame[] = [];
  const received: Frame[] = [];
  const text = (into: Frame[]) => (frame: { payload: string | Buffer }) =>
    void (typeof frame.payload === "string" && into.push(decodeFrame(frame.payload, "2.0.0")));
  page.on("websocket", (socket) => {
    socket.on("framesent", text(sent));
    socket.on("framereceived", text(received));
  });
  const requests = bundleRequests(page);
  await openWorker(page, cluster);
  expect(await echoed(cluster, ["by", "reference"])).toBe("by reference\n");

  const join = sent.find((frame) => frame.event === "phx_join" && String(frame.topic).startsWith("room:worker:"));
  expect(join?.payload).toEqual({ bundle_refs: 1, binary_files: 1 });
  const inputs = received.filter((frame) => frame.event === "input");
  expect(inputs).toHaveLength(1);
  const body = (inputs[0]!.payload as { body: Record<string, unknown> }).body;
  expect(body).not.toHaveProperty("wasm");
  expect(body).not.toHaveProperty("loader");
  const wasm = new Uint8Array(await readFile(echo.wasm));
  expect(body.wasm_ref).toEqual({
    sha256: sha256(wasm),
    size: wasm.byteLength,
    url: `${BUNDLE_STORE_PATH}${sha256(wasm)}`,
  });
  expect(body.loader_ref).toMatchObject({ sha256: sha256(new Uint8Array(await readFile(echo.loader))) });
  const fetched = (ref: unknown) => `${cluster.origin}${(ref as { url: string }).url}`;
  expect(requests.sort()).toEqual([fetched(body.wasm_ref), fetched(body.loader_ref)].sort());
});

test("a reloaded page runs a program it kept without a request to the bundle store", async ({ page, cluster }) => {
  const [wasm, loader] = [new Uint8Array(await readFile(echo.wasm)), new Uint8Array(await readFile(echo.loader))];
  const first = bundleRequests(page);
  await openWorker(page, cluster);
  expect(await echoed(cluster, ["first"])).toBe("first\n");
  expect(first).toHaveLength(2);
  await expect
    .poll(async () => Object.fromEntries(await storedBundleFiles(page)))
    .toEqual({ [bundleKey(wasm)]: wasm.byteLength, [bundleKey(loader)]: loader.byteLength });

  await reopen(page, cluster);
  const afterReload = bundleRequests(page);
  expect(await echoed(cluster, ["second"])).toBe("second\n");
  expect(afterReload).toEqual([]);
  const stats = page.evaluate(() => (window as unknown as { motivusWorker: MotivusWorker }).motivusWorker.cacheStats());
  expect(await stats).toMatchObject({
    persistent: true,
    bundleFiles: 2,
    bundleBytes: wasm.byteLength + loader.byteLength,
  });
});

test("a damaged stored file is found by its hash, dropped and fetched again", async ({ page, cluster }) => {
  const wasm = new Uint8Array(await readFile(echo.wasm));
  await openWorker(page, cluster);
  expect(await echoed(cluster, ["before"])).toBe("before\n");
  await expect.poll(async () => (await storedBundleFiles(page)).length).toBe(2);
  // Another program's wasm, a perfectly good module, under echo's key: only the hash tells.
  const impostor = Array.from(await readFile(`${fixtures}/c/build/classic/crash.wasm`));
  await page.evaluate(([key, bytes]) => (window as unknown as CachePage).cacheStore.overwrite(key, bytes), [
    bundleKey(wasm),
    impostor,
  ] as const);

  await reopen(page, cluster);
  const requests = bundleRequests(page);
  const warnings: string[] = [];
  page.on("console", (message) => void (message.type() === "warning" && warnings.push(message.text())));
  expect(await echoed(cluster, ["after"])).toBe("after\n");
  expect(requests).toEqual([`${cluster.origin}${BUNDLE_STORE_PATH}${sha256(wasm)}`]); // the loader was intact
  expect(warnings.join("\n")).toContain(`the stored bundle file ${sha256(wasm)} is damaged`);
  await expect.poll(async () => (await contents(page)).sizes[bundleKey(wasm)]).toBe(wasm.byteLength);
});

/** A WASI program (the C one of test/fixtures/wasi) made distinct by a custom section naming `n`; every variant has one size. */
async function wasiVariant(n: number): Promise<Uint8Array<ArrayBuffer>> {
  const base = new Uint8Array(await readFile(`${fixtures}/wasi/build/wordfreq-c.wasm`));
  const name = new TextEncoder().encode("motivus-test");
  const payload = new TextEncoder().encode(`variant ${String(n).padStart(4, "0")}`);
  const section = [0, 1 + name.byteLength + payload.byteLength, name.byteLength, ...name, ...payload]; // sizes < 128: one LEB byte
  return new Uint8Array([...base, ...section]);
}

/** Run WASI variant `program`: it counts the words of its one input file. */
async function countWords(cluster: LoopbackServer, program: Uint8Array<ArrayBuffer>): Promise<string> {
  const out = join(await mkdtemp(join(tmpdir(), "motivus-refs-")), "report.txt");
  const client = await Client.connect({ uri: cluster.driverUri, logDir: null });
  try {
    const task = {
      wasm: program,
      arguments: ["/output/report.txt", "/input/a.txt"],
      preload_files: { "/input/a.txt": "the cap holds the files" },
      result_files: { "/output/report.txt": out },
    };
    expect(await client.selectTask(client.callAsync(task))).toBe(0);
    return await readFile(out, "utf8");
  } finally {
    await client.close();
  }
}

test("the store's byte cap holds with bundle files: never over it, least recently used out first", async ({ page, cluster }) => {
  const programs = await Promise.all([1, 2, 3, 4].map(wasiVariant));
  const size = programs[0]!.byteLength;
  const cap = 2 * size + Math.floor(size / 2); // room for two
  const total = async () => (await storedBundleFiles(page)).reduce((sum, [, bytes]) => sum + bytes, 0);
  await openWorker(page, cluster, `?cap=${cap}`);
  for (const program of programs.slice(0, 3)) {
    expect(await countWords(cluster, program)).toMatch(/the/);
    await expect.poll(async () => (await storedBundleFiles(page)).map(([key]) => key)).toContain(bundleKey(program));
    expect(await total()).toBeLessThanOrEqual(cap);
  }
  const stored = async () => (await storedBundleFiles(page)).map(([key]) => key).sort();
  expect(await stored()).toEqual([bundleKey(programs[1]!), bundleKey(programs[2]!)].sort());

  // Program 2 used again (after a reload, from the store), then a fourth: 3 is now the least recently used.
  await reopen(page, cluster, `?cap=${cap}`);
  const requests = bundleRequests(page);
  expect(await countWords(cluster, programs[1]!)).toMatch(/the/);
  expect(requests).toEqual([]);
  expect(await countWords(cluster, programs[3]!)).toMatch(/the/);
  await expect.poll(stored).toEqual([bundleKey(programs[1]!), bundleKey(programs[3]!)].sort());
  expect(await total()).toBeLessThanOrEqual(cap);
});
