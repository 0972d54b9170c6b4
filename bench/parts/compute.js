/**
 * computeEfficiency: a CPU-bound C kernel (N-body, ~1 s) through the whole
 * pipeline vs the same wasm run directly in the bare page (bare / pipeline, 1 is
 * perfect). wasmVsNative: the same wasm in the bare page vs the same C built
 * natively with gcc -O2 at bench time (wasm time / native time: how much slower
 * the browser runs it). Rounds interleave native, bare and pipeline runs so that
 * load from elsewhere on the machine falls on all three alike, and each figure
 * compares the fastest run of each (CPU-bound and deterministic: the fastest run
 * is the one the rest of the machine disturbed least); medians are in the details.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { closeBenchPage, openBarePage, openBenchPage } from "../support/browser.js";
import { Cleanup } from "../support/cleanup.js";
import { connectDriver, inlineBundle, timedTask } from "../support/driver.js";
import { nativeKernel } from "../support/native.js";
import { BENCH_BUILD, URLS } from "../support/paths.js";
import { fmt, median, round } from "../support/stats.js";

export const title = "compute: a ~1 s C kernel through the pipeline, directly in the page, and native";
export const budgetMs = 120_000;

const STEPS = 4500; // ~1 s of wasm on the 2-core CI machine
const ROUNDS = 5;

export async function run({ browser: getBrowser, cluster: getCluster, progress, tmp }) {
  const cluster = await getCluster();
  const browser = await getBrowser();
  const cleanup = new Cleanup();
  try {
    progress("gcc -O2 kernel.c");
    const native = nativeKernel(tmp);
    const context = await browser.newContext();
    cleanup.add("the browser context", () => context.close());
    const bare = await openBarePage(context, cluster.origin);
    await bare.page.evaluate(
      (base) => window.bare.load("kernel", { loaderUrl: `${base}kernel.js`, wasmUrl: `${base}kernel.wasm`, shape: "modularize" }),
      URLS.benchBuild,
    );
    const bareRun = () => bare.page.evaluate((steps) => window.bare.run("kernel", { args: [String(steps)] }), STEPS);
    const client = await connectDriver(cluster.server.driverUri);
    cleanup.add("the driver", () => client.close());
    const bench = await openBenchPage(context, cluster, { threads: 1 });
    const kernel = inlineBundle(join(BENCH_BUILD, "kernel.js"), join(BENCH_BUILD, "kernel.wasm"));
    const out = join(tmp, "checksum.txt");
    const task = { ...kernel, arguments: [String(STEPS), "/output/checksum.txt"], result_files: { "/output/checksum.txt": out } };

    progress("warm-up: one kernel run in each");
    await timedTask(client, task, "warm-up kernel task", 60_000);
    await bareRun();
    const times = { native: [], nativeCpu: [], bare: [], pipeline: [] };
    const checksums = new Set();
    for (let round = 1; round <= ROUNDS; round++) {
      progress(`round ${round} of ${ROUNDS}: native, bare, pipeline`);
      const n = native(STEPS);
      times.native.push(n.ms);
      times.nativeCpu.push(n.cpuMs);
      checksums.add(n.stdout);
      const b = await bareRun();
      times.bare.push(b.ms[0]);
      checksums.add(b.stdout.join("\n"));
      times.pipeline.push(await timedTask(client, task, "kernel task", 60_000));
      checksums.add((await readFile(out, "utf8")).trim());
    }
    if (checksums.size !== 1)
      throw new Error(`the kernel's checksums differ between native, bare and pipeline runs: ${[...checksums].join(" | ")}`);
    const record = await bench.record();
    const inPage = record.finished.slice(-ROUNDS).map((e) => e.ms);
    bare.watch.check();
    await closeBenchPage(bench.page, cluster);

    const best = (values) => Math.min(...values);
    const nativeMs = best(times.native);
    const bareMs = best(times.bare);
    const pipelineMs = best(times.pipeline);
    const efficiency = bareMs / pipelineMs;
    const slowdown = bareMs / nativeMs;
    return {
      figures: { computeEfficiency: round(efficiency, 4), wasmVsNative: round(slowdown, 3) },
      rows: [
        {
          figure: "computeEfficiency",
          value: fmt(efficiency, 3),
          reference: `bare ${fmt(bareMs, 0)} ms`,
          ratio: `bare / pipeline ${fmt(pipelineMs, 0)} ms`,
          target: "≥ 0.98",
          notes: [
            `N-body kernel, ${STEPS} steps, fastest of ${ROUNDS} interleaved rounds (driver → result; bare: in its worker); medians: bare ${fmt(median(times.bare), 0)}, pipeline ${fmt(median(times.pipeline), 0)} ms`,
            `in the page (taskFinished.ms) fastest ${fmt(best(inPage), 0)} ms; checksum ${[...checksums][0].replace(/^.*checksum /, "")} natively, bare and through the pipeline`,
          ],
        },
        {
          figure: "wasmVsNative",
          value: `${fmt(slowdown, 2)}× (wasm / native)`,
          reference: `native ${fmt(nativeMs, 0)} ms`,
          ratio: `wasm ${fmt(bareMs, 0)} ms / native`,
          target: "published 1.45–1.55×",
          notes: [
            `wasm: the bare page's worker (emcc -O2); native: gcc -O2 -ffp-contract=off, process wall time (its CPU time: fastest ${fmt(best(times.nativeCpu.filter((x) => x !== null)), 0)} ms); median wasm / native ${fmt(median(times.bare) / median(times.native), 2)}×`,
          ],
        },
      ],
      details: {
        steps: STEPS,
        ms: Object.fromEntries(Object.entries(times).map(([k, v]) => [k, v.map((x) => round(x, 1))])),
        inPageMs: inPage,
        checksum: [...checksums][0],
      },
    };
  } finally {
    await cleanup.run();
  }
}
