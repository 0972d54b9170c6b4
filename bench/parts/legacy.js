/**
 * legacyVsOriginal: a legacy Motivus adapter bundle (the kmeans fixture) run
 * the original widget's way in the bare page (per task a new Worker from a blob
 * URL of the loader, the task body plus `buffWasm` posted, one reply, terminate),
 * per-task median, divided by the per-task median of the same bundle through
 * the whole pipeline (driver → result). Above 1: the pipeline is faster.
 */
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { closeBenchPage, openBarePage, openBenchPage } from "../support/browser.js";
import { withContext } from "../support/cleanup.js";
import { connectDriver, inlineBundle, sequentialTasks } from "../support/driver.js";
import { TEST_FIXTURES } from "../support/paths.js";
import { fmt, median, round } from "../support/stats.js";

export const title = "legacy: an adapter bundle the original widget's way vs through the pipeline";
export const budgetMs = 90_000;

const WARMUP = 2;
const TASKS = 15;
const LABELS = "[0,0,0,0,0,1,1,1,1,1]";

export async function run(shared) {
  const { progress, tmp } = shared;
  return withContext(shared, async ({ cluster, context, cleanup }) => {
    const bundle = inlineBundle(
      join(TEST_FIXTURES, "legacy", "kmeans.legacy.js"),
      join(TEST_FIXTURES, "legacy", "kmeans.legacy.wasm"),
    );
    const matrix = readFileSync(join(TEST_FIXTURES, "c", "data", "matrix.txt"));
    const labelsPath = join(tmp, "labels.json");
    const definition = {
      ...bundle,
      arguments: ["--k=2"],
      preload_files: { "/input/matrix.txt": matrix },
      result_files: { "/output/labels.json": labelsPath },
    };
    // The task body as the cluster hands it to a worker (what the driver builds from `definition`).
    const body = {
      run_type: "wasm",
      params: null,
      arguments: ["--k=2"],
      preload_files: { "/input/matrix.txt": matrix.toString("base64") },
      result_files: { "/output/labels.json": labelsPath },
      wasm: bundle.wasm,
      loader: bundle.loader,
      data_link: null,
      processing_base_time: null,
      flops: null,
      flop: null,
    };

    progress(`bare page, the original widget's way: ${WARMUP} + ${TASKS} tasks`);
    const bare = await openBarePage(context, cluster.origin);
    const original = await bare.page.evaluate(
      ([b, runs, warmup]) => window.bare.legacyOriginal(b, { runs, warmup }),
      [body, TASKS, WARMUP],
    );
    if (original.files["/output/labels.json"] !== LABELS)
      throw new Error(`the original way wrote ${original.files["/output/labels.json"]}, expected ${LABELS}`);
    bare.watch.check();
    await bare.page.close();

    progress(`pipeline: ${WARMUP} + ${TASKS} tasks`);
    const client = await connectDriver(cluster.server.driverUri);
    cleanup.add("the driver", () => client.close());
    const bench = await openBenchPage(context, cluster, { threads: 1 });
    await sequentialTasks(client, WARMUP, definition, "warm-up legacy task");
    const rtt = await sequentialTasks(client, TASKS, definition, "legacy task");
    const labels = await readFile(labelsPath, "utf8");
    if (labels !== LABELS) throw new Error(`the pipeline wrote ${labels}, expected ${LABELS}`);
    const inPage = (await bench.record()).finished.slice(-TASKS).map((e) => e.ms);
    await closeBenchPage(bench.page, cluster);

    const originalMs = median(original.ms);
    const pipelineMs = median(rtt);
    const ratio = originalMs / pipelineMs;
    return {
      figures: { legacyVsOriginal: round(ratio, 3) },
      rows: [
        {
          figure: "legacyVsOriginal",
          value: `${fmt(ratio, 2)}×`,
          reference: `original ${fmt(originalMs, 1)} ms/task`,
          ratio: `original / pipeline ${fmt(pipelineMs, 1)} ms/task`,
          target: "≥ 4",
          notes: [
            `kmeans.legacy (C adapter) --k=2, medians of ${TASKS} tasks one at a time; in the page (taskFinished.ms) ${fmt(median(inPage), 0)} ms; labels ${LABELS} both ways`,
          ],
        },
      ],
      details: { originalMs: original.ms.map((x) => round(x, 2)), pipelineMs: rtt.map((x) => round(x, 2)), inPageMs: inPage },
    };
  });
}
