/**
 * taskOverheadMs: the per-task cost of the pipeline, warm, for a no-op
 * program: median driver → cluster → bench page → sandboxed worker → back,
 * minus the median of the same no-op run directly in the bare page's worker
 * (module compiled once, fresh instance per run). With BENCH_PROFILE=1, CPU
 * profiles of the page, its sandbox frame, its worker and this Node process
 * (driver + cluster) during more no-op tasks, summarised in the table and saved
 * in bench/profiles/.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { closeBenchPage, openBarePage, openBenchPage } from "../support/browser.js";
import { withContext } from "../support/cleanup.js";
import { queuedToDone } from "../support/cluster.js";
import { connectDriver, inlineBundle, sequentialTasks } from "../support/driver.js";
import { BENCH, BENCH_BUILD, URLS } from "../support/paths.js";
import { profileTargets } from "../support/profile.js";
import { fmt, mean, median, percentile, round } from "../support/stats.js";

export const title = "overhead: a warm no-op task through the pipeline vs run directly";
export const budgetMs = 90_000;

const WARMUP = 10;
const TASKS = 100;
const BARE_RUNS = 200;
const PROFILED_TASKS = 200;

/** bench/profiles/ (git-ignored): the .cpuprofile files, to open in Chromium's DevTools (Performance panel). */
async function profilesDir() {
  const dir = join(BENCH, "profiles");
  await mkdir(dir, { recursive: true });
  return dir;
}

export async function run(shared) {
  const { progress, profile } = shared;
  return withContext(shared, async ({ cluster, browser, context, cleanup }) => {
    const noop = inlineBundle(join(BENCH_BUILD, "noop.js"), join(BENCH_BUILD, "noop.wasm"));

    progress(`bare page: ${BARE_RUNS} no-op runs`);
    const bare = await openBarePage(context, cluster.origin);
    const bareRuns = await bare.page.evaluate(
      async ({ base, runs }) => {
        await window.bare.load("noop", { loaderUrl: `${base}noop.js`, wasmUrl: `${base}noop.wasm`, shape: "modularize" });
        return window.bare.run("noop", { runs, warmup: 20 });
      },
      { base: URLS.benchBuild, runs: BARE_RUNS },
    );
    bare.watch.check();
    await bare.page.close();

    progress(`bench page: ${WARMUP} + ${TASKS} no-op tasks`);
    const client = await connectDriver(cluster.server.driverUri);
    cleanup.add("the driver", () => client.close());
    const bench = await openBenchPage(context, cluster, { threads: 1 });
    await sequentialTasks(client, WARMUP, noop, "warm-up no-op task");
    const mark = cluster.lastTaskId();
    const before = (await bench.record()).finished.length;
    const rtt = await sequentialTasks(client, TASKS, noop, "no-op task");
    const finished = (await bench.record()).finished.slice(before);
    if (finished.length !== TASKS) throw new Error(`the bench page finished ${finished.length} of ${TASKS} no-op tasks`);
    const inPage = finished.map((e) => e.ms);
    const atCluster = queuedToDone(cluster.timeline, mark);

    let profiles = null;
    if (profile) {
      progress(`profiling ${PROFILED_TASKS} more no-op tasks (page, sandbox frame, worker)`);
      const benchUrl = bench.page.url();
      profiles = await profileTargets(
        browser,
        (info) =>
          info.type === "page" && info.url === benchUrl
            ? "page"
            : info.type === "iframe" && info.url === "about:srcdoc"
              ? "sandbox frame"
              : info.type === "worker" && info.url.startsWith("blob:null/")
                ? "worker"
                : null,
        () => sequentialTasks(client, PROFILED_TASKS, noop, "profiled no-op task"),
        { saveTo: join(await profilesDir(), "overhead") },
      );
    }
    await bench.record();
    await closeBenchPage(bench.page, cluster);

    const pipelineMs = median(rtt);
    const bareMs = median(bareRuns.ms);
    const overheadMs = pipelineMs - bareMs;
    const rows = [
      {
        figure: "taskOverheadMs",
        value: `${fmt(overheadMs, 2)} ms`,
        reference: `bare ${fmt(bareMs, 3)} ms`,
        ratio: `pipeline ${fmt(pipelineMs, 2)} ms = ${fmt(pipelineMs / bareMs, 1)}× bare`,
        target: "< 1 ms",
        notes: [
          `median of ${TASKS} warm no-op tasks, one at a time, driver → result; bare: median of ${BARE_RUNS} runs in bare.html's worker (compiled once, instance per run)`,
          `where it goes (medians): in the page (public taskFinished.ms, whole ms) ${fmt(median(inPage), 0)} ms (mean ${fmt(mean(inPage), 2)}); cluster has the task → has its result ${fmt(median(atCluster), 2)} ms; so driver → cluster and back ≈ ${fmt(pipelineMs - median(atCluster), 2)} ms, cluster → page → cluster outside the page's own time ≈ ${fmt(median(atCluster) - median(inPage), 2)} ms`,
          ...(profiles ?? []).map(
            (p) =>
              `profile ${p.target}: busy ${p.busyMs} of ${p.totalMs} ms; ${p.functions
                .slice(0, 4)
                .map((f) => `${f.fn} ${Math.round(f.shareOfBusy * 100)}%`)
                .join(", ")}`,
          ),
        ],
      },
    ];
    return {
      figures: { taskOverheadMs: round(overheadMs, 3) },
      rows,
      details: {
        pipelineMedianMs: round(pipelineMs, 3),
        pipelineP90Ms: round(percentile(rtt, 0.9), 3),
        bareMedianMs: round(bareMs, 3),
        inPageMedianMs: median(inPage),
        inPageMeanMs: round(mean(inPage), 3),
        clusterQueuedToResultMedianMs: round(median(atCluster), 3),
        profiles,
      },
    };
  });
}
