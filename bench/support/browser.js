/**
 * Debian's Chromium through playwright-core (never downloaded), and the two
 * bench pages: bench.html (the library's public API, a worker of the cluster)
 * and bare.html (the same wasm run directly, no pipeline).
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { CHROMIUM_ARGS, chromiumPath } from "../../packages/loopback/dist/browsers.js";
import { BUNDLE_STORE_PATH } from "motivus-protocol";
import { URLS } from "./paths.js";
import { waitFor } from "./wait.js";

export async function launchChromium() {
  try {
    return await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS, headless: true });
  } catch (err) {
    throw new Error(
      `could not start Chromium at ${chromiumPath()} (install Debian's chromium or set CHROMIUM_PATH): ${err.message.split("\n")[0]}`,
      { cause: err },
    );
  }
}

/**
 * Collect what a page does wrong (errors, failed loads, requests off the cluster's machine);
 * `check()` throws the first one. Chromium asks for favicon.ico by itself: ignored.
 */
export function watchPage(page, origin) {
  const problems = [];
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error" && !msg.text().startsWith("Failed to load resource"))
      problems.push(`console error: ${msg.text()}`);
  });
  page.on("response", (res) => {
    if (res.status() >= 400 && new URL(res.url()).pathname !== "/favicon.ico")
      problems.push(`HTTP ${res.status()} for ${res.url()}`);
  });
  page.on("request", (req) => {
    const url = new URL(req.url());
    // The cluster and the payload sink (support/sink.js) are both on 127.0.0.1; nothing else may be asked.
    if (/^(https?|wss?):$/.test(url.protocol) && url.hostname !== new URL(origin).hostname)
      problems.push(`the page requested ${req.url()}`);
  });
  return {
    problems,
    check() {
      if (problems.length) throw new Error(`the page reported: ${problems.slice(0, 3).join("; ")}`);
    },
  };
}

/**
 * A bench page (bench.html) in `context` working for `cluster` with `threads` slots; resolves once its slots are
 * offered. `expectWorkers`: how many worker channels the cluster should then hold in all (default 1: this page).
 */
export async function openBenchPage(context, cluster, { threads = 1, share = 1, expectWorkers = 1 } = {}) {
  const page = await context.newPage();
  const watch = watchPage(page, cluster.origin);
  await page.goto(`${cluster.origin}${URLS.benchPage}?threads=${threads}&share=${share}`);
  await waitForBenchSlots(page, cluster, threads, expectWorkers);
  return { page, watch, record: () => benchRecord(page, watch) };
}

/**
 * A bench page in a Chromium no DevTools client watches, for the payload figures: Playwright's CDP
 * session is sent every WebSocket frame the page sends or receives, payload and all, into this
 * process, which also runs the cluster and the driver (20 MiB frames cost it ~0.5 s each way).
 * Nothing is read back from the page; the cluster's own timeline says what it did.
 */
export async function openUnwatchedBenchPage(cluster, { threads = 1 } = {}) {
  const profile = await mkdtemp(join(tmpdir(), "motivus-bench-chromium-"));
  const url = `${cluster.origin}${URLS.benchPage}?threads=${threads}`;
  const args = [...CHROMIUM_ARGS, "--headless=new", `--user-data-dir=${profile}`, url];
  const browser = spawn(chromiumPath(), args, { stdio: "ignore" });
  const exited = new Promise((ok) => browser.once("exit", ok));
  const close = async () => {
    browser.kill();
    await exited;
    await rm(profile, { recursive: true, force: true });
  };
  try {
    await cluster.waitForSlots(threads, 1, "the unwatched bench page to offer its slots");
  } catch (err) {
    await close();
    throw err;
  }
  return { close };
}

/** A Phoenix frame's event name (V2 arrays, V1 objects), for the byte counts by kind. */
function frameEvent(payload) {
  try {
    const frame = JSON.parse(payload.toString());
    return (Array.isArray(frame) ? frame[3] : frame.event) ?? "?";
  } catch {
    return "binary";
  }
}

/**
 * A one-slot bench page that counts the bytes its WebSocket receives and the program files (bundle store)
 * it downloads; `reload()` loads it again in place, counting on.
 */
export async function openCountingBenchPage(context, cluster) {
  const page = await context.newPage();
  const watch = watchPage(page, cluster.origin);
  const counts = { frameBytes: 0, bundleBytes: 0, bundleRequests: 0, byEvent: {} };
  page.on("websocket", (ws) =>
    ws.on("framereceived", ({ payload }) => {
      const bytes = Buffer.byteLength(payload);
      counts.frameBytes += bytes;
      const event = frameEvent(payload);
      counts.byEvent[event] = (counts.byEvent[event] ?? 0) + bytes;
    }),
  );
  page.on("requestfinished", async (request) => {
    if (!new URL(request.url()).pathname.startsWith(BUNDLE_STORE_PATH)) return;
    counts.bundleRequests++;
    counts.bundleBytes += (await request.sizes()).responseBodySize;
  });
  const open = async () => {
    await page.goto(`${cluster.origin}${URLS.benchPage}?threads=1`);
    await waitForBenchSlots(page, cluster, 1);
  };
  await open();
  return { page, watch, counts, reload: open, record: () => benchRecord(page, watch) };
}

/** Wait for the page's worker to be `running` and the cluster to hold its slots. */
export async function waitForBenchSlots(page, cluster, slots, workers = 1) {
  await waitFor(
    async () => {
      const { state, startError } = await page.evaluate(() => window.bench?.record ?? { state: "loading" });
      if (startError) throw new Error(`the bench page could not start its worker: ${startError}`);
      return state === "running";
    },
    30_000,
    "the bench page's worker to join the cluster",
  );
  await cluster.waitForSlots(slots, workers, `the bench page's ${slots} slot(s)`);
}

/** The page's record of task events (bench.html); throws if a task failed there or the page misbehaved. */
export async function benchRecord(page, watch) {
  const record = await page.evaluate(() => window.bench.record);
  if (record.failed.length)
    throw new Error(`the bench page reported ${record.failed.length} failed task(s): ${record.failed[0].error}`);
  watch?.check();
  return record;
}

/** A bare page (bare.html): `window.bare` runs wasm directly in a plain Web Worker. */
export async function openBarePage(context, origin, query = "") {
  const page = await context.newPage();
  const watch = watchPage(page, origin);
  await page.goto(`${origin}${URLS.barePage}${query}`);
  await page.waitForFunction(() => window.bare?.ready === true, null, { timeout: 30_000 });
  return { page, watch };
}

/** Close a bench page and wait until the cluster has let its channel go. */
export async function closeBenchPage(page, cluster, workersLeft = 0) {
  await page.close();
  await waitFor(() => cluster.stats().workers === workersLeft, 15_000, "the closed bench page to leave the cluster");
}
