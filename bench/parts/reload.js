/**
 * coldStartMs: a fresh browser context opens the bench page while a task
 * waits in the cluster; from page.goto to the task's result at the driver.
 * Reference: the bare page doing the same alone (fetch loader, wasm and data
 * package, compile, run) from page.goto to its result.
 * Then the page is reloaded in the same context and runs the task again:
 * warmRunDataBytes: bytes of data_link fetched again after the reload (target 0
 * once a cache exists; Chromium's HTTP cache is disabled for the page, so that
 * only the library's own cache counts); compilesPerBundlePerWorker: wasm compilations per
 * bundle per worker in that run, counted by wrapping the worker's WebAssembly
 * functions from outside (Playwright's Worker.evaluate) before any task arrives.
 * The task: test/fixtures/c/build/classic/datapkg with its data_link.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { benchRecord, closeBenchPage, waitForBenchSlots, watchPage } from "../support/browser.js";
import { Cleanup } from "../support/cleanup.js";
import { connectDriver, expectExitZero, inlineBundle, timedTask } from "../support/driver.js";
import { TEST_FIXTURES, URLS } from "../support/paths.js";
import { fmt, median, round } from "../support/stats.js";
import { waitFor, withTimeout } from "../support/wait.js";

export const title = "reload: cold start on a fresh context, then what a reload fetches and compiles again";
export const budgetMs = 90_000;

const WARM_TASKS = 3;
const COLD_ROUNDS = 3;
const GREETING = "hello from the data package\n";
const DATAPKG = join(TEST_FIXTURES, "c", "build", "classic");

export async function run({ browser: getBrowser, cluster: getCluster, progress, tmp }) {
  const cluster = await getCluster();
  const browser = await getBrowser();
  const cleanup = new Cleanup();
  try {
    const dataPath = `${URLS.testFixtures}c/build/classic/datapkg.data.zip`;
    const dataLink = `${cluster.origin}${dataPath}`;

    const spec = {
      loaderUrl: `${URLS.testFixtures}c/build/classic/datapkg.js`,
      wasmUrl: `${URLS.testFixtures}c/build/classic/datapkg.wasm`,
      dataZipUrl: dataPath,
      shape: "classic",
      results: ["/output/greeting.txt"],
    };
    /** The reference, cold: a fresh context opens the bare page, which fetches, compiles and runs alone. */
    const coldBare = async () => {
      const context = await browser.newContext();
      try {
        const done = new Promise((ok) => context.exposeFunction("benchDone", (result) => ok({ at: performance.now(), result })));
        const page = await context.newPage();
        const watch = watchPage(page, cluster.origin);
        const t0 = performance.now();
        await page.goto(`${cluster.origin}${URLS.barePage}?cold=${encodeURIComponent(JSON.stringify(spec))}`);
        const { at, result } = await withTimeout(done, 30_000, "the bare page's cold run");
        if (!result.ok) throw new Error(`the bare page's cold run failed: ${result.error}`);
        if (result.result.files["/output/greeting.txt"] !== GREETING)
          throw new Error(`the bare page's cold run wrote ${JSON.stringify(result.result.files)}`);
        watch.check();
        return at - t0;
      } finally {
        await context.close();
      }
    };

    const client = await connectDriver(cluster.server.driverUri);
    cleanup.add("the driver", () => client.close());
    const greetingPath = join(tmp, "greeting.txt");
    const task = {
      ...inlineBundle(join(DATAPKG, "datapkg.js"), join(DATAPKG, "datapkg.wasm")),
      data_link: dataLink,
      result_files: { "/output/greeting.txt": greetingPath },
    };
    /** Cold through the pipeline: the task waits in the cluster before a fresh context opens the bench page. */
    const coldBench = async () => {
      await waitFor(() => cluster.stats().workers === 0, 15_000, "no other worker on the cluster");
      const context = await browser.newContext();
      const page = await context.newPage();
      // Chromium's HTTP cache off for this page: the loopback (sirv) sends ETag and Last-Modified but no
      // Cache-Control, so Chromium would reuse data_link heuristically and a reload would fetch nothing
      // whether or not the library caches. Only the library's own cache may spare the download here.
      const cdp = await context.newCDPSession(page);
      await cdp.send("Network.enable");
      await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
      const watch = watchPage(page, cluster.origin);
      const state = { phase: "cold", fetched: [] }; // fetched: { phase, url, status, bytes }
      page.on("requestfinished", async (req) => {
        const phase = state.phase;
        const sizes = await req.sizes().catch(() => null);
        const status = (await req.response().catch(() => null))?.status() ?? null;
        state.fetched.push({ phase, url: req.url(), status, bytes: sizes?.responseBodySize ?? 0 });
      });
      const id = client.callAsync(task);
      const t0 = performance.now();
      await page.goto(`${cluster.origin}${URLS.benchPage}?threads=1`);
      expectExitZero(await withTimeout(client.selectTask(id), 60_000, "the cold task"), "cold datapkg task");
      const ms = performance.now() - t0;
      if ((await readFile(greetingPath, "utf8")) !== GREETING) throw new Error("the cold task wrote the wrong greeting");
      await waitForBenchSlots(page, cluster, 1);
      const record = await benchRecord(page, watch);
      const at = (name) => record.states.find((s) => s.state === name)?.at ?? null;
      const timeline = {
        connecting: at("connecting"),
        running: at("running"),
        finished: record.finished[0]?.at ?? null,
        taskMs: record.finished[0]?.ms ?? null,
      };
      return { ms, context, page, watch, state, timeline };
    };

    // Interleaved rounds (the first context of a run pays for Chromium's first renderer); the last bench page stays open.
    const bareColds = [];
    const benchColds = [];
    let open = null;
    for (let round = 1; round <= COLD_ROUNDS; round++) {
      progress(`cold round ${round} of ${COLD_ROUNDS}: bare page, then bench page`);
      bareColds.push(await coldBare());
      if (open) {
        await closeBenchPage(open.page, cluster);
        await open.context.close();
      }
      open = await coldBench();
      benchColds.push(open.ms);
    }
    const { context, page, watch, state, timeline } = open;
    cleanup.add("the bench page's context", () => context.close());
    const coldMs = median(benchColds);
    const bareColdMs = median(bareColds);
    const fetched = state.fetched;

    // ---- reload in the same context, count what is fetched and compiled again
    progress(`reload, then ${WARM_TASKS} tasks`);
    state.phase = "warm";
    await page.reload();
    await waitForBenchSlots(page, cluster, 1);
    // threads=1: exactly one worker once the old document's are gone.
    const workers = await waitFor(
      () => {
        const w = page.workers().filter((x) => x.url().startsWith("blob:"));
        return w.length === 1 && w;
      },
      15_000,
      "the reloaded page's worker",
    );
    const installed = await Promise.all(workers.map((w) => w.evaluate(countWasmCompiles).catch(() => false)));
    const warmMs = [];
    for (let i = 0; i < WARM_TASKS; i++) warmMs.push(await timedTask(client, task, "warm datapkg task", 30_000));
    const counts = installed.every(Boolean)
      ? await Promise.all(workers.map((w) => w.evaluate(() => self.__benchWasmCounts)))
      : null;
    const record = await benchRecord(page, watch);
    if (record.finished.length !== WARM_TASKS)
      throw new Error(`the reloaded page finished ${record.finished.length} tasks, expected ${WARM_TASKS}`);
    await closeBenchPage(page, cluster);

    const isData = (f) => f.url === dataLink;
    const warmDataBytes = fetched.filter((f) => f.phase === "warm" && isData(f)).reduce((n, f) => n + f.bytes, 0);
    const coldDataBytes = fetched.filter((f) => f.phase === "cold" && isData(f)).reduce((n, f) => n + f.bytes, 0);
    const warmOther = fetched.filter((f) => f.phase === "warm" && !isData(f) && /^https?:/.test(f.url));
    const workersUsed = counts ? counts.filter((c) => c.instantiate + c.instantiateFromBytes > 0).length : 0;
    const compiles = counts ? counts.reduce((n, c) => n + c.compile + c.instantiateFromBytes + c.moduleCtor, 0) : null;
    const perBundlePerWorker = counts && workersUsed ? compiles / workersUsed : null; // one bundle (datapkg)
    return {
      figures: { coldStartMs: round(coldMs, 1), warmRunDataBytes: warmDataBytes, compilesPerBundlePerWorker: perBundlePerWorker },
      rows: [
        {
          figure: "coldStartMs",
          value: `${fmt(coldMs, 0)} ms`,
          reference: `bare ${fmt(bareColdMs, 0)} ms`,
          ratio: `${fmt(coldMs / bareColdMs, 2)}× bare`,
          target: "—",
          notes: [
            `median of ${COLD_ROUNDS} fresh contexts: page.goto → first result at the driver (datapkg, classic, with data_link); bare: goto → fetch loader+wasm+data, compile, run`,
            `last round, in the page since navigation start (public state and taskFinished events): start() ${fmt(timeline.connecting, 0)} ms, joined ("running") ${fmt(timeline.running, 0)} ms, task finished ${fmt(timeline.finished, 0)} ms (its own ${fmt(timeline.taskMs, 0)} ms)`,
            `after the reload the first task took ${fmt(warmMs[0], 0)} ms (driver → result), the next ${fmt(median(warmMs.slice(1)), 0)} ms`,
          ],
        },
        {
          figure: "warmRunDataBytes",
          value: `${fmt(warmDataBytes, 0)} B`,
          reference: `cold run ${fmt(coldDataBytes, 0)} B`,
          ratio: coldDataBytes ? `${fmt(warmDataBytes / coldDataBytes, 2)}× cold` : "—",
          target: "0",
          notes: [
            `data_link response bodies after the reload (Playwright requestfinished sizes; Chromium's HTTP cache off for the page): ${describe(fetched.filter((f) => f.phase === "warm" && isData(f))) || "no request"}`,
            `the reload also fetched: ${describe(warmOther)}`,
          ],
        },
        {
          figure: "compilesPerBundlePerWorker",
          value: perBundlePerWorker === null ? "null" : fmt(perBundlePerWorker, 2),
          reference: "1 (compile once per worker)",
          ratio: "—",
          target: "≤ 1",
          notes: [
            counts
              ? `after the reload, ${WARM_TASKS} tasks of one bundle on ${workersUsed} worker(s): ${compiles} compilation(s) (WebAssembly.compile/compileStreaming/new Module/instantiate from bytes), ${counts.reduce((n, c) => n + c.instantiate, 0)} instantiation(s) of a compiled module`
              : "null: could not wrap WebAssembly in the sandboxed worker from outside (Worker.evaluate); the public API exposes no count",
          ],
        },
      ],
      details: {
        lastColdTimeline: timeline,
        coldMs: benchColds.map((x) => round(x, 1)),
        bareColdMs: bareColds.map((x) => round(x, 1)),
        warmMs: warmMs.map((x) => round(x, 1)),
        coldDataBytes,
        warmDataBytes,
        warmRefetched: warmOther,
        counts,
      },
    };
  } finally {
    await cleanup.run();
  }
}

/** "name status bytes, …" of fetched resources. */
function describe(fetched) {
  return fetched.map((f) => `${new URL(f.url).pathname.replace(/^.*\//, "")} ${f.status ?? "?"} ${fmt(f.bytes, 0)} B`).join(", ");
}

/** Runs inside a worker (Worker.evaluate): count WebAssembly compilations and instantiations from now on. */
function countWasmCompiles() {
  const W = WebAssembly;
  const counts = { compile: 0, instantiateFromBytes: 0, moduleCtor: 0, instantiate: 0 };
  const wrap = (name, count) => {
    const original = W[name];
    if (typeof original !== "function") return;
    W[name] = function (...args) {
      count(args);
      return original.apply(this, args);
    };
  };
  wrap("compile", () => counts.compile++);
  wrap("compileStreaming", () => counts.compile++);
  wrap("instantiateStreaming", () => counts.instantiateFromBytes++);
  wrap("instantiate", ([source]) => (source instanceof W.Module ? counts.instantiate++ : counts.instantiateFromBytes++));
  const Module = W.Module;
  W.Module = new Proxy(Module, {
    construct(target, args, newTarget) {
      counts.moduleCtor++;
      return Reflect.construct(target, args, newTarget === W.Module ? target : newTarget);
    },
  });
  self.__benchWasmCounts = counts;
  return W.compile !== undefined && self.__benchWasmCounts === counts;
}
