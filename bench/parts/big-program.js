/**
 * bigProgramTaskMs, bigProgramBytesPerTask: how a 10 MB-class program fares. Ghostscript from the
 * corpus (@jspawn/ghostscript-wasm: a 16 MB wasm, closure-minified MODULARIZE) renders a PostScript
 * page, warm, one task at a time through the TypeScript driver, the loopback and the bench page.
 * The reference is the same program's compute alone: the page's own time for each task (instance,
 * run, files read back), measured in the same run. Bytes per task: what the page's WebSocket
 * receives per warm task (the TypeScript driver uploads the program once; the worker gets references).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { closeBenchPage, openCountingBenchPage } from "../support/browser.js";
import { withContext } from "../support/cleanup.js";
import { connectDriver, inlineBundle, sequentialTasks } from "../support/driver.js";
import { ROOT } from "../support/paths.js";
import { fmt, median, round } from "../support/stats.js";

export const title = "big program: a warm 16 MB-wasm task (Ghostscript) vs its compute alone";
export const budgetMs = 90_000;

const WARMUP = 2;
const TASKS = 8;
const CORPUS = join(ROOT, "test", "corpus", "emscripten");
const CASE = "ghostscript-jspawn-umd";

function ghostscriptTask(tmp) {
  const c = JSON.parse(readFileSync(join(CORPUS, "cases.json"), "utf8")).find((entry) => entry.name === CASE);
  const pkg = join(CORPUS, "node_modules", c.package);
  if (!existsSync(join(pkg, c.wasm))) throw new Error(`${c.package} is not installed: run scripts/corpora.sh`);
  const bundle = inlineBundle(join(pkg, c.loader), join(pkg, c.wasm));
  const preload = Object.fromEntries(
    Object.entries(c.task.preload_files).map(([path, file]) => [path, readFileSync(join(CORPUS, file))]),
  );
  return {
    // Its result file comes back too (the program writes it into a folder the worker makes for it).
    definition: {
      ...bundle,
      arguments: c.task.arguments,
      preload_files: preload,
      result_files: Object.fromEntries(c.task.result_files.map((path, i) => [path, join(tmp, `gs-${i}`)])),
    },
    wasmBytes: Buffer.byteLength(bundle.wasm, "base64"),
  };
}

export async function run(shared) {
  const { progress } = shared;
  return withContext(shared, async ({ cluster, context, cleanup }) => {
    const task = ghostscriptTask(shared.tmp);
    const client = await connectDriver(cluster.server.driverUri);
    cleanup.add("the driver", () => client.close());
    const bench = await openCountingBenchPage(context, cluster);
    progress(`${WARMUP} + ${TASKS} Ghostscript tasks`);
    await sequentialTasks(client, WARMUP, task.definition, "warm-up Ghostscript task", 120_000);
    const before = (await bench.record()).finished.length;
    const bytesBefore = bench.counts.frameBytes;
    const rtt = await sequentialTasks(client, TASKS, task.definition, "Ghostscript task", 120_000);
    const frameBytes = Math.round((bench.counts.frameBytes - bytesBefore) / TASKS);
    const inPage = (await bench.record()).finished.slice(before).map((e) => e.ms);
    await closeBenchPage(bench.page, cluster);

    const pipelineMs = median(rtt);
    const computeMs = median(inPage);
    return {
      figures: { bigProgramTaskMs: round(pipelineMs, 1), bigProgramBytesPerTask: frameBytes },
      rows: [
        {
          figure: "bigProgramTaskMs",
          value: `${fmt(pipelineMs, 0)} ms`,
          reference: `compute alone ${fmt(computeMs, 0)} ms`,
          ratio: `${fmt(pipelineMs / computeMs, 2)}× compute`,
          target: "(sets the next step's target)",
          notes: [
            `median of ${TASKS} warm tasks, one at a time, driver → result; compute alone: the page's own time per task (instance, run, result files)`,
            `${(task.wasmBytes / 2 ** 20).toFixed(1)} MiB wasm, uploaded once by the driver; the worker gets references`,
          ],
        },
        {
          figure: "bigProgramBytesPerTask",
          value: `${fmt(frameBytes / 1024, 1)} KiB`,
          reference: `wasm ${(task.wasmBytes / 2 ** 20).toFixed(1)} MiB`,
          ratio: `${fmt(frameBytes / task.wasmBytes, 5)}× the wasm`,
          target: "—",
          notes: ["what the page's WebSocket received per warm task: the input (references, the preload file), replies, stats"],
        },
      ],
      details: {
        pipelineMs: rtt.map((ms) => round(ms, 1)),
        inPageMs: inPage,
        wasmBytes: task.wasmBytes,
        frameBytes,
      },
    };
  });
}
