// Benchmark of the BUILT motivus-worker package (dist/): the loopback cluster
// on its own, then the whole pipeline driver → cluster → headless Chromium
// worker → cluster → driver, with the Emscripten fixtures.
//
//   npm run build && npm run bench
//
// Everything talks to 127.0.0.1 only; Chromium is the system one
// (CHROMIUM_PATH or /usr/bin/chromium), never downloaded. Bounded: a watchdog
// ends the run (non-zero) after WATCHDOG_MS. Any task that errors fails the run.
//
// The simulated workers of part 1 run in a worker thread (this same file, see
// the bottom), so the loopback server and the driver get the main thread.
import { existsSync, readdirSync, statSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes, randomUUID } from "node:crypto";
import { gzipSync } from "node:zlib";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const DIST = join(ROOT, "dist");
const FIXTURES = join(ROOT, "test", "fixtures");
const C = (shape, name) => join(FIXTURES, "c", "build", shape, name);

// Sizes of the runs (the brief's numbers).
const CLUSTER_TASKS = 5000; // part 1, burst
const CLUSTER_WORKERS = 4;
const CLUSTER_SLOTS = 2; // per simulated worker
const CLUSTER_SEQUENTIAL = 1000; // part 1, one task at a time: unloaded latency
const CLUSTER_BUNDLE_TASKS = 500; // part 1, burst carrying the real echo bundle (92 KB) inline
const WARM_TASKS = 100; // part 2
const KMEANS_TASKS = 60; // part 3
const BIG_BYTES = 20 * 1024 * 1024; // part 4
const WATCHDOG_MS = 170_000;
// Without it, performance.memory is bucketed and cached (one stale reading per process).
const BENCH_CHROMIUM_ARGS = ["--enable-precise-memory-info"];
const KMEANS_LABELS = "[0,0,0,0,0,1,1,1,1,1]";

// ---------------------------------------------------------------- main thread

async function main() {
  const started = performance.now();
  const need = ["loopback/index.js", "loopback/browsers.js", "driver/index.js", "cluster/encoding.js", "browser/motivus-worker.js", "browser/runtime.js"];
  const missing = need.filter((f) => !existsSync(join(DIST, f)));
  if (missing.length) {
    console.error(`bench: the built package is missing (dist/${missing[0]}${missing.length > 1 ? ` and ${missing.length - 1} more` : ""}).`);
    console.error("bench: run `npm run build` first, then `npm run bench`.");
    process.exit(2);
  }
  const stale = staleness();
  if (stale) console.error(`bench: warning: ${stale} is newer than the build; run \`npm run build\` to measure the current sources.`);

  const { startLoopback } = await import("../dist/loopback/index.js");
  const { Client } = await import("../dist/driver/index.js");
  const { toBase64 } = await import("../dist/protocol/body.js");
  const { CHROMIUM_ARGS, chromiumPath } = await import("../dist/loopback/browsers.js");
  const { chromium } = await import("playwright-core");

  const open = []; // things to close, last opened first
  const closeAll = async (keep = 0) => {
    while (open.length > keep) {
      const [name, close] = open.pop();
      try {
        await withTimeout(Promise.resolve().then(close), 10_000, `closing ${name}`);
      } catch (err) {
        console.error(`bench: could not close ${name}: ${err.message}`);
      }
    }
  };
  const watchdog = setTimeout(() => {
    console.error(`bench: FAILED: still running after ${WATCHDOG_MS / 1000} s; giving up.`);
    closeAll().finally(() => process.exit(1));
  }, WATCHDOG_MS);
  watchdog.unref();

  const rows = []; // [section, metric, value, note]
  let rssAfterCluster = null;
  const row = (section, metric, value, note = "") => rows.push([section, metric, value, note]);
  const progress = (line) => console.error(`bench: ${line}`);
  const tmp = await mkdtemp(join(os.tmpdir(), "motivus-bench-"));
  open.push(["temporary folder", () => rm(tmp, { recursive: true, force: true })]);

  try {
    // ------------------------------------------------ 1. loopback cluster alone
    progress(`part 1: loopback cluster with ${CLUSTER_WORKERS} simulated workers x ${CLUSTER_SLOTS} slots`);
    {
      const keep = open.length;
      const server = await startLoopback({ port: 0, algorithms: null, mounts: {} });
      open.push(["loopback server (part 1)", () => server.close()]);
      const workers = await startSimulatedWorkers(server.origin);
      open.push(["simulated workers", () => workers.stop()]);
      await waitFor(() => server.stats().offered_slots === CLUSTER_WORKERS * CLUSTER_SLOTS, 10_000, "the simulated workers' slots");
      const client = await Client.connect({ uri: server.driverUri, logDir: null });
      open.push(["driver (part 1)", () => client.close()]);

      const tiny = { wasm: "AGFzbQEAAAA=", loader: Buffer.from("// tiny\n").toString("base64"), arguments: ["a", "b"] };
      // Warm-up (JIT, first frames), not measured.
      await client.barrier(Array.from({ length: 200 }, () => client.callAsync(tiny)));

      const burst = await runBurst(client, CLUSTER_TASKS, () => tiny, 60_000, "tiny-task burst");
      row("1 cluster", `${CLUSTER_TASKS} tiny tasks, all submitted at once`, `${fmt(burst.perSecond, 0)} tasks/s`, `wall ${fmt(burst.wallMs, 0)} ms`);
      row("1 cluster", "  latency under that load p50 / p99", `${fmt(pct(burst.latencies, 0.5), 0)} / ${fmt(pct(burst.latencies, 0.99), 0)} ms`, "mostly queueing: 5000 tasks, 8 slots");

      const seq = [];
      const seqStart = performance.now();
      for (let i = 0; i < CLUSTER_SEQUENTIAL; i++) {
        const t0 = performance.now();
        expectZero(await withTimeout(client.selectTask(client.callAsync(tiny)), 10_000, "a sequential tiny task"), "tiny task");
        seq.push(performance.now() - t0);
      }
      const seqWall = performance.now() - seqStart;
      row("1 cluster", `latency driver→result, 1 in flight (${CLUSTER_SEQUENTIAL})`, `p50 ${fmt(pct(seq, 0.5), 3)} / p99 ${fmt(pct(seq, 0.99), 3)} ms`, `${fmt(CLUSTER_SEQUENTIAL / (seqWall / 1000), 0)} tasks/s serially`);

      const echoBundle = { wasm_path: C("classic", "echo.wasm"), loader_path: C("classic", "echo.js"), arguments: ["a", "b"] };
      const bundleBytes = statSync(echoBundle.wasm_path).size + statSync(echoBundle.loader_path).size;
      const withBundle = await runBurst(client, CLUSTER_BUNDLE_TASKS, () => echoBundle, 60_000, "echo-bundle burst");
      row(
        "1 cluster",
        `${CLUSTER_BUNDLE_TASKS} tasks carrying the echo bundle (${fmt(bundleBytes / 1024, 0)} KiB)`,
        `${fmt(withBundle.perSecond, 0)} tasks/s`,
        `${fmt(withBundle.perSecond / burst.perSecond, 3)}x the tiny rate; ${fmt((withBundle.perSecond * bundleBytes * 4) / 3 / 1e6, 1)} MB/s of base64`,
      );

      // Where the driver's time goes with a real bundle: its base64 encoder vs Node's.
      const bundle = new Uint8Array(Buffer.concat([await readFile(echoBundle.wasm_path), await readFile(echoBundle.loader_path)]));
      const timeIt = (f, n) => {
        f();
        const t = performance.now();
        for (let i = 0; i < n; i++) f();
        return (performance.now() - t) / n;
      };
      const ours = timeIt(() => toBase64(bundle), 50);
      const nodes = timeIt(() => Buffer.from(bundle.buffer, bundle.byteOffset, bundle.byteLength).toString("base64"), 50);
      row("1 cluster", "  driver base64 of that bundle, per task", `${fmt(ours, 2)} ms`, `toBase64 (dist/protocol/body.js); Node's Buffer: ${fmt(nodes, 3)} ms (${fmt(ours / nodes, 0)}x)`);

      const stats = server.stats();
      const expected = 200 + CLUSTER_TASKS + CLUSTER_SEQUENTIAL + CLUSTER_BUNDLE_TASKS;
      if (stats.done !== expected || stats.aborted || stats.requeued) {
        throw new Error(`part 1: the cluster counts ${JSON.stringify(stats)}, expected done=${expected} and nothing aborted or requeued`);
      }
      const answered = await workers.stop();
      if (answered !== expected) throw new Error(`part 1: the simulated workers answered ${answered} tasks, expected ${expected}`);
      await closeAll(keep); // driver, workers, server of part 1
      rssAfterCluster = { now: process.memoryUsage().rss, peak: process.resourceUsage().maxRSS * 1024 };
    }

    // ------------------------------------------------ browser parts
    const server = await startLoopback({ port: 0, algorithms: null, mounts: { "/fixtures/": FIXTURES } });
    open.push(["loopback server", () => server.close()]);
    const schedule = new Map(); // scheduler task id → { queued, dispatched, done }
    server.scheduler.on("event", (event) => {
      if (event.kind === "ignored") return;
      const t = schedule.get(event.task.id) ?? {};
      t[event.kind] = performance.now();
      schedule.set(event.task.id, t);
    });
    progress(`starting Chromium (${chromiumPath()})`);
    let browser;
    try {
      browser = await chromium.launch({ executablePath: chromiumPath(), args: [...CHROMIUM_ARGS, ...BENCH_CHROMIUM_ARGS], headless: true });
    } catch (err) {
      throw new Error(`could not start Chromium at ${chromiumPath()} (install Debian's chromium or set CHROMIUM_PATH): ${err.message.split("\n")[0]}`);
    }
    open.push(["Chromium", () => browser.close()]);
    const context = await browser.newContext();
    const client = await Client.connect({ uri: server.driverUri, logDir: null });
    open.push(["driver", () => client.close()]);
    const pageProblems = [];

    /** A fresh demo page as a worker with `threads` slots, its task events recorded in the page. */
    const openWorkerPage = async (threads) => {
      await waitFor(() => server.stats().workers === 0, 10_000, "earlier worker pages to leave the cluster");
      const page = await context.newPage();
      const origin = new URL(server.origin);
      page.on("request", (req) => {
        const url = new URL(req.url());
        if (!["blob:", "data:", "about:"].includes(url.protocol) && url.host !== origin.host) {
          pageProblems.push(`the page requested ${req.url()} (not 127.0.0.1)`);
        }
      });
      page.on("pageerror", (err) => pageProblems.push(`page error: ${err.message}`));
      page.on("console", (msg) => {
        // A failed load is reported (with its address) by the response listener below.
        if (msg.type() === "error" && !msg.text().startsWith("Failed to load resource")) pageProblems.push(`console error: ${msg.text()}`);
      });
      page.on("response", (res) => {
        // Chromium asks for /favicon.ico on its own; the demo has none.
        if (res.status() >= 400 && new URL(res.url()).pathname !== "/favicon.ico") pageProblems.push(`HTTP ${res.status()} for ${res.url()}`);
      });
      await page.goto(`${server.origin}/?autostart=1&threads=${threads}`);
      await waitFor(() => server.stats().offered_slots === threads, 15_000, `the page's ${threads} slot(s)`);
      await page.evaluate(() => {
        const events = { finished: [], failed: [] };
        window.__bench = events;
        window.motivusWorker.on("taskFinished", (e) => events.finished.push(e));
        window.motivusWorker.on("taskFailed", (e) => events.failed.push(e));
      });
      return page;
    };
    const pageEvents = async (page) => {
      const events = await page.evaluate(() => window.__bench);
      if (events.failed.length) throw new Error(`the page reported ${events.failed.length} failed task(s): ${events.failed[0].error}`);
      return events;
    };
    const closePage = async (page) => {
      await page.close();
      await waitFor(() => server.stats().workers === 0, 10_000, "the closed page to leave the cluster");
    };
    const heapOf = async (page) => {
      const used = () => page.evaluate(() => performance.memory.usedJSHeapSize);
      const before = await used();
      const cdp = await page.context().newCDPSession(page);
      await cdp.send("HeapProfiler.collectGarbage");
      await cdp.detach();
      return { before, after: await used() };
    };

    // ------------------------------------------------ 2. warm vs cold (threads=1)
    progress("part 2: echo on a fresh page, cold then warm");
    const echo = { wasm_path: C("classic", "echo.wasm"), loader_path: C("classic", "echo.js"), arguments: ["a", "b"] };
    const pageA = await openWorkerPage(1);
    const firstId = Math.max(0, ...schedule.keys()) + 1;
    const t0 = performance.now();
    expectZero(await withTimeout(client.selectTask(client.callAsync(echo)), 30_000, "the cold echo task"), "cold echo task");
    const cold = performance.now() - t0;
    const eventsCold = await pageEvents(pageA);
    if (eventsCold.finished.length !== 1) throw new Error(`part 2: the page finished ${eventsCold.finished.length} tasks, expected 1`);
    const inPageCold = eventsCold.finished[0].ms;

    // The page's main thread (not the algorithm's Web Worker): Chromium's own counters, in seconds.
    const cdpA = await pageA.context().newCDPSession(pageA);
    await cdpA.send("Performance.enable");
    const mainThread = async () => Object.fromEntries((await cdpA.send("Performance.getMetrics")).metrics.map((m) => [m.name, m.value]));
    const mainNote = (m) => `page main thread busy ${fmt(m.task, 2)} ms/task (script ${fmt(m.script, 2)}, layout+style ${fmt(m.layout, 2)})`;

    /** `n` tasks one at a time on pageA: driver round trips, the page's own ms, and the cluster's dispatch→result. */
    const sequential = async (definition, n, what) => {
      const fromId = Math.max(0, ...schedule.keys()) + 1;
      const fromEvent = (await pageEvents(pageA)).finished.length;
      const before = await mainThread();
      const rtt = [];
      for (let i = 0; i < n; i++) {
        const t = performance.now();
        expectZero(await withTimeout(client.selectTask(client.callAsync(definition)), 30_000, what), what);
        rtt.push(performance.now() - t);
      }
      const after = await mainThread();
      const busy = (name) => ((after[name] - before[name]) * 1000) / n;
      const main = { task: busy("TaskDuration"), script: busy("ScriptDuration"), layout: busy("LayoutDuration") + busy("RecalcStyleDuration") };
      const finished = (await pageEvents(pageA)).finished.slice(fromEvent);
      if (finished.length !== n) throw new Error(`part 2: the page finished ${finished.length} of ${n} ${what}s`);
      const inPage = finished.map((e) => e.ms);
      const atWorker = range(fromId, fromId + n - 1).map((id) => schedule.get(id)).map((t) => t.done - t.dispatched);
      return { rtt, inPage, atWorker, main, mean: mean(rtt) };
    };
    const warm = await sequential(echo, WARM_TASKS, "warm echo task");
    const warmMean = warm.mean;
    const tenth = Math.max(1, Math.floor(WARM_TASKS / 10));
    row("2 cold/warm", "cold echo (first task, compiles the wasm)", `${fmt(cold, 1)} ms`, `in page ${inPageCold} ms`);
    row("2 cold/warm", `warm echo, mean of next ${WARM_TASKS}`, `${fmt(warmMean, 2)} ms`, `p50 ${fmt(pct(warm.rtt, 0.5), 2)} / p99 ${fmt(pct(warm.rtt, 0.99), 2)} ms`);
    row("2 cold/warm", "  cold / warm", `${fmt(cold / warmMean, 1)}x`);
    row("2 cold/warm", "  warm in page (taskFinished.ms, whole ms)", `${fmt(mean(warm.inPage), 2)} ms`, `first ${tenth}: ${fmt(mean(warm.inPage.slice(0, tenth)), 1)} ms, last ${tenth}: ${fmt(mean(warm.inPage.slice(-tenth)), 1)} ms`);
    row("2 cold/warm", "  warm cluster dispatch→result (page + 2 ws hops)", `${fmt(mean(warm.atWorker), 2)} ms`, `${fmt((mean(warm.atWorker) / warmMean) * 100, 0)}% of the round trip`);
    row("2 cold/warm", "  warm page main thread", `${fmt(warm.main.task, 2)} ms/task`, mainNote(warm.main).replace(/^page main thread busy [^(]*/, ""));
    row("2 cold/warm", "  warm driver + cluster share", `${fmt(warmMean - mean(warm.atWorker), 2)} ms`, "driver reads + base64s the bundle, zod, frames, gunzip");
    row("2 cold/warm", "per-task overhead (warm round trip) vs 1 ms target", `${fmt(warmMean, 2)} ms`, `round trip ${fmt(warmMean, 1)}x, in page ${fmt(mean(warm.inPage), 1)}x the DESIGN's "well under one" ms`);

    // The same, without the demo page's log panel (it appends to one text node and reads
    // scrollHeight per line, on the main thread, twice per task), then also without the
    // driver's base64 of the bundle (the bench passes it pre-encoded): what is left is the library.
    await pageA.evaluate(() => {
      document.getElementById("log").style.display = "none";
    });
    const quiet = await sequential(echo, WARM_TASKS, "warm echo task (log hidden)");
    const bundleB64 = {
      wasm: (await readFile(echo.wasm_path)).toString("base64"),
      loader: (await readFile(echo.loader_path)).toString("base64"),
      arguments: echo.arguments,
    };
    const lean = await sequential(bundleB64, WARM_TASKS, "warm echo task (log hidden, pre-encoded)");
    row("2 cold/warm", "warm echo, demo log panel hidden", `${fmt(quiet.mean, 2)} ms`, `in page ${fmt(mean(quiet.inPage), 2)} ms; ${fmt(warmMean / quiet.mean, 2)}x faster than as-is`);
    row("2 cold/warm", "  its page main thread", `${fmt(quiet.main.task, 2)} ms/task`, mainNote(quiet.main).replace(/^page main thread busy [^(]*/, ""));
    row("2 cold/warm", "  + bundle pre-encoded (no driver base64)", `${fmt(lean.mean, 2)} ms`, `in page ${fmt(mean(lean.inPage), 2)} ms; dispatch→result ${fmt(mean(lean.atWorker), 2)} ms; ${fmt(warmMean / lean.mean, 2)}x faster`);

    // ------------------------------------------------ 4. big payload (same page)
    progress(`part 4: one echo task with a ${BIG_BYTES / 1024 / 1024} MiB preload file`);
    const big = randomBytes(BIG_BYTES);
    const bigFinishedBefore = (await pageEvents(pageA)).finished.length;
    let t = performance.now();
    expectZero(await withTimeout(client.selectTask(client.callAsync({ ...echo, preload_files: { "/input/in.txt": big } })), 60_000, "the 20 MiB task"), "20 MiB task");
    const bigOneWay = performance.now() - t;
    const copyPath = join(tmp, "copy.bin");
    t = performance.now();
    expectZero(
      await withTimeout(client.selectTask(client.callAsync({ ...echo, preload_files: { "/input/in.txt": big }, result_files: { "/output/copy.txt": copyPath } })), 60_000, "the 20 MiB echo-back task"),
      "20 MiB echo-back task",
    );
    const bigBothWays = performance.now() - t;
    if (!big.equals(await readFile(copyPath))) throw new Error("part 4: the 20 MiB file came back different");
    const bigEvents = (await pageEvents(pageA)).finished.slice(bigFinishedBefore);
    const mb = BIG_BYTES / 1e6;
    row("4 big payload", `20 MiB preload in (no result file)`, `${fmt(bigOneWay, 0)} ms`, `${fmt(mb / (bigOneWay / 1000), 1)} MB/s; in page ${bigEvents[0]?.ms} ms`);
    row("4 big payload", `20 MiB in and back (/output/copy.txt, verified)`, `${fmt(bigBothWays, 0)} ms`, `${fmt((2 * mb) / (bigBothWays / 1000), 1)} MB/s both ways; in page ${bigEvents[1]?.ms} ms`);
    row("4 big payload", "  vs a warm tiny echo", `${fmt(bigOneWay / warmMean, 0)}x`, "");

    // ------------------------------------------------ 5a. memory of page A
    const heapA = await heapOf(pageA);
    await closePage(pageA);

    // ------------------------------------------------ 3. scaling
    const matrix = await readFile(join(FIXTURES, "c", "data", "matrix.txt"));
    const scaling = {};
    let heapC = null;
    for (const threads of [1, 2]) {
      progress(`part 3: ${KMEANS_TASKS} k-means tasks, threads=${threads}`);
      const page = await openWorkerPage(threads);
      const outs = range(1, KMEANS_TASKS).map((i) => join(tmp, `t${threads}`, `labels-${i}.json`));
      const fromId = Math.max(0, ...schedule.keys()) + 1;
      const cpu = process.cpuUsage();
      const s = performance.now();
      const ids = outs.map((out) =>
        client.callAsync({
          wasm_path: C("modularize", "kmeans.wasm"),
          loader_path: C("modularize", "kmeans.js"),
          arguments: ["--k=2"],
          preload_files: { "/input/matrix.txt": matrix },
          result_files: { "/output/labels.json": out },
        }),
      );
      const results = await withTimeout(client.barrier(ids), 60_000, `${KMEANS_TASKS} k-means tasks`);
      const wall = performance.now() - s;
      const cpuUsed = process.cpuUsage(cpu);
      const nodeCpu = (cpuUsed.user + cpuUsed.system) / 1000 / wall;
      const times = range(fromId, fromId + KMEANS_TASKS - 1).map((id) => schedule.get(id));
      const allQueued = Math.max(...times.map((t) => t.queued)) - s;
      const busy = times.reduce((sum, t) => sum + (t.done - t.dispatched), 0) / (wall * threads);
      results.forEach((r) => expectZero(r, "k-means task"));
      for (const out of outs) {
        const labels = await readFile(out, "utf8");
        if (labels !== KMEANS_LABELS) throw new Error(`part 3: k-means wrote ${labels} to ${out}, expected ${KMEANS_LABELS}`);
      }
      const events = await pageEvents(page);
      if (events.finished.length !== KMEANS_TASKS) throw new Error(`part 3: the page finished ${events.finished.length} tasks, expected ${KMEANS_TASKS}`);
      scaling[threads] = { wall, inPage: mean(events.finished.map((e) => e.ms)), nodeCpu, allQueued, busy };
      if (threads === 2) heapC = await heapOf(page);
      await closePage(page);
    }
    const speedUp = scaling[1].wall / scaling[2].wall;
    for (const threads of [1, 2]) {
      const { wall, inPage, nodeCpu, allQueued, busy } = scaling[threads];
      row("3 scaling", `${KMEANS_TASKS} k-means, threads=${threads}`, `${fmt(wall, 0)} ms`, `${fmt(KMEANS_TASKS / (wall / 1000), 1)} tasks/s; ${fmt(inPage, 1)} ms/task in page`);
      row("3 scaling", "  where the time goes", `${fmt(busy * 100, 0)}% slot use`, `all ${KMEANS_TASKS} queued after ${fmt(allQueued, 0)} ms; bench process (driver+server) CPU ${fmt(nodeCpu * 100, 0)}% of a core`);
    }
    row("3 scaling", "  speed-up threads=2 / threads=1", `${fmt(speedUp, 2)}x`, `ideal 2x; ${os.cpus().length} cores shared with Node + Chromium's main thread`);

    // ------------------------------------------------ 5. memory
    const rss = process.memoryUsage().rss;
    const maxRss = process.resourceUsage().maxRSS * 1024;
    row("5 memory", `page JS heap after parts 2+4 (${3 * WARM_TASKS + 3} tasks, 2x20 MiB)`, `${mib(heapA.before)}`, `${mib(heapA.after)} after a forced GC`);
    row("5 memory", "page JS heap after 60 k-means, threads=2", `${mib(heapC.before)}`, `${mib(heapC.after)} after a forced GC`);
    row("5 memory", "bench process (Node) RSS after part 1, now / peak", `${mib(rssAfterCluster.now)} / ${mib(rssAfterCluster.peak)}`, `server + driver, ${CLUSTER_TASKS + CLUSTER_SEQUENTIAL + CLUSTER_BUNDLE_TASKS + 200} tasks`);
    row("5 memory", "bench process (Node) RSS at the end, now / peak", `${mib(rss)} / ${mib(maxRss)}`, `peak ${fmt(maxRss / BIG_BYTES, 0)}x the 20 MiB payload (server + driver in one process)`);

    if (pageProblems.length) throw new Error(`the worker page(s) reported problems:\n  ${pageProblems.slice(0, 5).join("\n  ")}`);

    const version = browser.version();
    await closeAll();
    clearTimeout(watchdog);
    printReport(version, rows, performance.now() - started, stale);
  } catch (err) {
    console.error(`bench: FAILED: ${err.stack ?? err}`);
    await closeAll();
    clearTimeout(watchdog);
    process.exitCode = 1;
  }
}

/** Submit `n` tasks at once; throughput from the first submit to the last result, and each task's latency. */
async function runBurst(client, n, definition, timeoutMs, what) {
  const latencies = new Array(n);
  const start = performance.now();
  const done = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    done.push(
      client.selectTask(client.callAsync(definition(i))).then((data) => {
        expectZero(data, what);
        latencies[i] = performance.now() - t0;
      }),
    );
  }
  await withTimeout(Promise.all(done), timeoutMs, `the ${what} of ${n} tasks`);
  const wallMs = performance.now() - start;
  return { wallMs, perSecond: n / (wallMs / 1000), latencies };
}

function expectZero(data, what) {
  // A successful Emscripten task answers its exit status as `data`; the simulated workers answer 0 too.
  if (data !== 0) throw new Error(`a ${what} answered ${JSON.stringify(data)?.slice(0, 200)} instead of exit status 0`);
}

/** The simulated workers, in a worker thread; `stop()` resolves with how many tasks they answered. */
async function startSimulatedWorkers(origin) {
  // Any base64 works for the cluster; this one is what a real worker would send for exit status 0.
  const body = gzipSync(JSON.stringify({ data: 0 })).toString("base64");
  const thread = new Worker(fileURLToPath(import.meta.url), { workerData: { origin, workers: CLUSTER_WORKERS, slots: CLUSTER_SLOTS, body } });
  const failed = new Promise((_, fail) => {
    thread.on("error", fail);
    thread.on("exit", (code) => fail(new Error(`the simulated workers' thread exited (${code})`)));
  });
  failed.catch(() => {});
  const message = (kind) =>
    Promise.race([failed, new Promise((ok) => thread.on("message", (m) => m.kind === kind && ok(m)))]);
  const ready = await withTimeout(message("ready"), 10_000, "the simulated workers to join");
  if (ready.error) throw new Error(`simulated workers: ${ready.error}`);
  let stopped = null;
  return {
    stop: () =>
      (stopped ??= (async () => {
        thread.postMessage({ kind: "stop" });
        const { answered, errors } = await withTimeout(message("stopped"), 10_000, "the simulated workers to stop");
        await thread.terminate();
        if (errors.length) throw new Error(`simulated workers: ${errors[0]}`);
        return answered;
      })()),
  };
}

function printReport(chromiumVersion, rows, totalMs, stale) {
  const cpus = os.cpus();
  const lines = [];
  lines.push("motivus-worker benchmark (built package, dist/)");
  lines.push(
    `machine: ${cpus.length} cores (${cpus[0]?.model.trim() ?? "?"}), ${mib(os.totalmem())} RAM, load avg ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`,
  );
  lines.push(`node ${process.version} · chromium ${chromiumVersion} · ${os.platform()} ${os.release()}`);
  if (stale) lines.push(`WARNING: ${stale} is newer than the build`);
  lines.push("");
  const header = ["part", "measure", "figure", "ratio / note"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => (i === 2 ? String(c).padStart(widths[i]) : String(c).padEnd(widths[i]))).join(" │ ").trimEnd();
  lines.push(line(header));
  lines.push(widths.map((w) => "─".repeat(w)).join("─┼─"));
  let last = null;
  for (const r of rows) {
    lines.push(line([r[0] === last ? "" : r[0], r[1], r[2], r[3]]));
    last = r[0];
  }
  lines.push("");
  lines.push(`total ${fmt(totalMs / 1000, 1)} s; all tasks answered exit status 0; all traffic on 127.0.0.1`);
  console.log(lines.join("\n"));
}

// ---------------------------------------------------------------- helpers

/** Which source file is newer than the build, if any. */
function staleness() {
  const built = ["browser/motivus-worker.js", "browser/runtime.js", "loopback/index.js", "driver/index.js"].map((f) => statSync(join(DIST, f)).mtimeMs);
  const oldestBuild = Math.min(...built);
  const walk = (dir) =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
  const src = join(ROOT, "src");
  if (!existsSync(src)) return null;
  const newer = walk(src).filter((f) => statSync(f).mtimeMs > oldestBuild);
  return newer.length ? `src/${newer[0].slice(src.length + 1)}` : null;
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, fail) => {
    timer = setTimeout(() => fail(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function waitFor(check, ms, what) {
  const end = performance.now() + ms;
  while (!check()) {
    if (performance.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((ok) => setTimeout(ok, 10));
  }
}

function pct(values, p) {
  const sorted = values.filter((v) => v !== undefined).sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];
}
const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length;
const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const fmt = (n, digits) => Number(n).toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

// ---------------------------------------------------------------- worker thread

/**
 * `workers` raw Phoenix V2 workers of the loopback cluster, each offering
 * `slots` slots and answering every `input` at once with a precomputed body.
 */
async function simulatedWorkers({ origin, workers, slots, body }) {
  const { WebSocket } = await import("ws");
  const errors = [];
  let answered = 0;
  const sockets = [];
  const join1 = async (index) => {
    const token = `bench-worker-${index}`;
    const res = await fetch(`${origin}/api/user`, { headers: { authorization: `Bearer ${token}` } });
    if (!res.ok) throw new Error(`GET /api/user answered ${res.status}`);
    const { data } = await res.json();
    const topic = `room:worker:${data.uuid}:${randomUUID()}`;
    const ws = new WebSocket(`${origin.replace(/^http/, "ws")}/socket/websocket?token=${encodeURIComponent(token)}&vsn=2.0.0`);
    sockets.push(ws);
    await new Promise((ok, fail) => {
      ws.once("open", ok);
      ws.once("error", fail);
    });
    let ref = 1;
    let nextTid = 0;
    const joinRef = "1";
    const send = (event, payload) => ws.send(JSON.stringify([joinRef, String(++ref), topic, event, payload]));
    const offer = () => send("input_request", { tid: `w${index}-${nextTid++}` });
    const joined = new Promise((ok, fail) => {
      ws.on("message", (data) => {
        const [, replyRef, , event, payload] = JSON.parse(data.toString());
        if (event === "input") {
          ws.send(JSON.stringify([joinRef, String(++ref), topic, "result", { tid: payload.tid, type: "response", body, stdout: null, stderr: null }]));
          answered++;
          offer();
        } else if (event === "phx_reply") {
          if (replyRef === joinRef) return payload.status === "ok" ? ok() : fail(new Error(`join refused: ${JSON.stringify(payload.response)}`));
          if (payload.status !== "ok") errors.push(`the cluster answered ${JSON.stringify(payload.response)}`);
          else if (payload.response?.delivered === false) errors.push("a result was not delivered");
        }
      });
    });
    ws.send(JSON.stringify([joinRef, joinRef, topic, "phx_join", {}]));
    await joined;
    for (let i = 0; i < slots; i++) offer();
    const heartbeat = setInterval(() => ws.send(JSON.stringify([null, String(++ref), "phoenix", "heartbeat", {}])), 10_000);
    ws.on("close", () => clearInterval(heartbeat));
  };
  try {
    await Promise.all(Array.from({ length: workers }, (_, i) => join1(i)));
    parentPort.postMessage({ kind: "ready" });
  } catch (err) {
    parentPort.postMessage({ kind: "ready", error: err.message });
  }
  parentPort.on("message", async (m) => {
    if (m.kind !== "stop") return;
    await Promise.all(
      sockets.map(
        (ws) =>
          new Promise((ok) => {
            if (ws.readyState === ws.CLOSED) return ok();
            ws.once("close", ok);
            ws.close(1000, "bench done");
          }),
      ),
    );
    parentPort.postMessage({ kind: "stopped", answered, errors });
  });
}

// ---------------------------------------------------------------- entry

if (isMainThread) {
  await main();
} else {
  await simulatedWorkers(workerData);
}
