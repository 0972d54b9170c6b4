// npm run bench: the benchmark of the built package (dist/). Runs the parts in
// order, each figure beside a reference measured in the same run, prints the
// table and writes bench/results.json. What each figure means: bench/README.md.
//
//   npm run build && npm run bench
//
// Everything talks to 127.0.0.1 only; Chromium is the system one (CHROMIUM_PATH
// or /usr/bin/chromium), never downloaded. A part that fails leaves its figures
// null, the others still run, and the run exits 1 (2: no build). BENCH_PROFILE=1
// adds CPU profiles of the warm task path (part "overhead"); BENCH_PARTS=a,b runs
// only those parts (results.json then holds null for the others).
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import * as sizes from "./parts/sizes.js";
import * as cluster from "./parts/cluster.js";
import * as overhead from "./parts/overhead.js";
import * as compute from "./parts/compute.js";
import * as threads from "./parts/threads.js";
import * as payload from "./parts/payload.js";
import * as legacy from "./parts/legacy.js";
import * as reload from "./parts/reload.js";
import * as share from "./parts/share.js";
import * as bigProgram from "./parts/big-program.js";
import * as bundles from "./parts/bundles.js";
import { Cleanup } from "./support/cleanup.js";
import { launchChromium } from "./support/browser.js";
import { startCluster } from "./support/cluster.js";
import { RESULTS, checkBuild } from "./support/paths.js";
import { printTable } from "./support/table.js";
import { withTimeout } from "./support/wait.js";

const PARTS = [
  ["sizes", sizes],
  ["cluster", cluster],
  ["overhead", overhead],
  ["compute", compute],
  ["threads", threads],
  ["payload", payload],
  ["legacy", legacy],
  ["reload", reload],
  ["share", share],
  ["big-program", bigProgram],
  ["bundles", bundles],
];
/** Every figure of results.json, in this order; `null` when not measured. */
const FIGURES = [
  "taskOverheadMs",
  "computeEfficiency",
  "wasmVsNative",
  "threadScaling",
  "payloadMBps",
  "payloadRoundTripMBps",
  "pythonPayloadMBps",
  "legacyVsOriginal",
  "clusterTasksPerSecond",
  "clusterP50Ms",
  "clusterP99Ms",
  "coldStartMs",
  "warmRunDataBytes",
  "compilesPerBundlePerWorker",
  "embedGzipBytes",
  "workerGzipBytes",
  "libraryGzipBytes",
  "workerPackedBytes",
  "loopbackPackedBytes",
  "driverPackedBytes",
  "protocolPackedBytes",
  "busyFraction",
  "bigProgramTaskMs",
  "bigProgramBytesPerTask",
  "coldBigBundleMs",
  "bigBundleTaskMs",
  "tinyBundleTaskMs",
  "bigBundleBytesPerTask",
  "returningVisitorBundleBytes",
];
const DEADLINE_MS = 360_000; // parts start and end within this; the whole run stays under six and a half minutes
const RESERVE_MS = 8_000; // for closing the browser and the cluster

const log = (line) => console.error(`bench: ${line}`);

async function main() {
  const started = performance.now();
  const stale = checkBuild();
  if (stale) log(`warning: ${stale} is newer than the build; run \`npm run build\` to measure the current sources`);
  const cleanup = new Cleanup();
  const tmp = await mkdtemp(join(os.tmpdir(), "motivus-bench-"));
  cleanup.add("the temporary folder", () => rm(tmp, { recursive: true, force: true }));

  // The browser parts share one Chromium and one loopback cluster (started when first needed);
  // each part opens its own browser context and pages and closes them.
  let browser = null;
  let browserCluster = null;
  const ctx = {
    tmp,
    profile: process.env.BENCH_PROFILE === "1",
    async browser() {
      if (!browser) {
        browser = await launchChromium();
        cleanup.add("Chromium", () => browser.close());
      }
      return browser;
    },
    async cluster() {
      if (!browserCluster) {
        browserCluster = await startCluster({ scratch: tmp });
        cleanup.add("the loopback cluster", () => browserCluster.close());
      }
      return browserCluster;
    },
  };

  const figures = Object.fromEntries(FIGURES.map((key) => [key, null]));
  const rows = [];
  const parts = {};
  let failed = 0;

  const finish = async () => {
    const cpus = os.cpus();
    const meta = {
      generated: new Date().toISOString(),
      seconds: seconds(started),
      machine: `${cpus.length} cores (${cpus[0]?.model.trim() ?? "?"}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM`,
      loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))),
      node: process.version,
      chromium: browser?.version() ?? null,
      staleBuild: stale,
    };
    await writeFile(RESULTS, `${JSON.stringify({ ...figures, details: { ...meta, parts } }, null, 2)}\n`);
    printTable(rows, meta);
    log(`wrote ${RESULTS}`);
  };
  // Last resort, should a part's cleanup hang: write what there is and leave.
  const watchdog = setTimeout(
    async () => {
      log("FAILED: the run did not end in time; writing what was measured");
      await finish().catch(() => {});
      process.exit(1);
    },
    DEADLINE_MS + 2 * RESERVE_MS,
  );
  watchdog.unref();

  try {
    const only = process.env.BENCH_PARTS ? process.env.BENCH_PARTS.split(",") : null;
    for (const [name, part] of PARTS.filter(([n]) => !only || only.includes(n))) {
      const t0 = performance.now();
      const left = DEADLINE_MS - (t0 - started) - RESERVE_MS;
      const fail = (message) => {
        failed++;
        rows.push({ figure: `(${name})`, value: "FAILED", reference: "", ratio: "", target: "", notes: [message] });
        parts[name] = { ok: false, seconds: seconds(t0), error: message };
      };
      if (left < 10_000) {
        log(`${name}: not run, the run's ${DEADLINE_MS / 1000} s are used up`);
        fail(`not run: the run's ${DEADLINE_MS / 1000} s were used up`);
        continue;
      }
      log(`${name}: ${part.title}`);
      const partCtx = { ...ctx, progress: (line) => log(`${name}: ${line}`) };
      try {
        const out = await withTimeout(part.run(partCtx), Math.min(part.budgetMs, left), `part ${name}`);
        Object.assign(figures, out.figures);
        rows.push(...out.rows);
        parts[name] = { ok: true, seconds: seconds(t0), details: out.details ?? null };
      } catch (err) {
        log(`${name}: FAILED: ${err.stack ?? err}`);
        fail(String(err.message ?? err).split("\n")[0]);
      }
    }
  } finally {
    await cleanup.run();
  }
  await finish();
  clearTimeout(watchdog);
  if (failed) {
    log(`${failed} part(s) failed`);
    process.exitCode = 1;
  }
}

const seconds = (t0) => Number(((performance.now() - t0) / 1000).toFixed(1));

try {
  await main();
} catch (err) {
  log(`FAILED: ${err.message}`);
  process.exitCode = 2;
}
// A part that timed out may have left sockets or timers behind.
process.exit(process.exitCode ?? 0);
