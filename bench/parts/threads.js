/**
 * threadScaling: throughput of the compute kernel with threads=2 over
 * threads=1: a bench page opened with `threads` N, several tasks submitted at
 * once, after every slot's worker has compiled the kernel. The settings
 * alternate (1, 2, 1, 2; a fresh page each) and each keeps its fastest burst, so
 * that load from elsewhere on the machine does not decide the ratio. (Not
 * setThreads on one page: a slot retired while offered stays offered until a
 * task comes, so the first burst after 2 → 1 would still run on two slots.)
 * Reference: the same measured natively in the same rounds, `NATIVE_TASKS`
 * runs of the gcc build one after the other vs two at a time: what the machine
 * lets two threads of this kernel gain right now (2 on two free cores).
 */
import { execFile } from "node:child_process";
import { cpus } from "node:os";
import { promisify } from "node:util";
import { join } from "node:path";
import { closeBenchPage, openBenchPage } from "../support/browser.js";
import { withContext } from "../support/cleanup.js";
import { burst, connectDriver, inlineBundle } from "../support/driver.js";
import { nativeKernelPath } from "../support/native.js";
import { BENCH_BUILD } from "../support/paths.js";
import { fmt, round } from "../support/stats.js";

export const title = "threads: kernel throughput with threads=2 over threads=1";
export const budgetMs = 120_000;

const TASKS = 6;
const STEPS = 2000; // ~0.5 s each
const ROUNDS = 2;
const NATIVE_TASKS = 4;

/** `tasks` runs of the native kernel, `parallel` at a time: wall ms. */
async function nativeBurst(exe, tasks, parallel) {
  const run = promisify(execFile);
  const t0 = performance.now();
  let left = tasks;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (left-- > 0) await run(exe, [String(STEPS)]);
    }),
  );
  return performance.now() - t0;
}

export async function run(shared) {
  const { progress, tmp } = shared;
  return withContext(shared, async ({ cluster, context, cleanup }) => {
    const client = await connectDriver(cluster.server.driverUri);
    cleanup.add("the driver", () => client.close());
    const kernel = {
      ...inlineBundle(join(BENCH_BUILD, "kernel.js"), join(BENCH_BUILD, "kernel.wasm")),
      arguments: [String(STEPS)],
    };
    const exe = nativeKernelPath(tmp);
    const walls = { 1: [], 2: [] };
    const native = { 1: [], 2: [] };
    for (let round = 1; round <= ROUNDS; round++) {
      progress(`round ${round} of ${ROUNDS}, native: ${NATIVE_TASKS} kernel runs one at a time, then two at a time`);
      native[1].push(await nativeBurst(exe, NATIVE_TASKS, 1));
      native[2].push(await nativeBurst(exe, NATIVE_TASKS, 2));
      for (const threads of [1, 2]) {
        const bench = await openBenchPage(context, cluster, { threads });
        // One short task per slot at once: each slot's worker compiles the kernel before the measured burst.
        await burst(client, threads, { ...kernel, arguments: ["200"] }, "warm-up kernel task");
        await cluster.waitForSlots(threads, 1, `the page's ${threads} slot(s) after the warm-up`);
        progress(`round ${round} of ${ROUNDS}, threads=${threads}: ${TASKS} kernel tasks at once`);
        walls[threads].push((await burst(client, TASKS, kernel, "kernel task")).wallMs);
        await bench.record();
        await closeBenchPage(bench.page, cluster);
      }
    }
    const wall = { 1: Math.min(...walls[1]), 2: Math.min(...walls[2]) };
    const nativeScaling = Math.min(...native[1]) / Math.min(...native[2]);
    const scaling = wall[1] / wall[2];
    const perSecond = (t) => TASKS / (wall[t] / 1000);
    return {
      figures: { threadScaling: round(scaling, 3) },
      rows: [
        {
          figure: "threadScaling",
          value: `${fmt(scaling, 2)}× (${fmt(perSecond(1), 2)} → ${fmt(perSecond(2), 2)} tasks/s)`,
          reference: `native ${fmt(nativeScaling, 2)}×`,
          ratio: `${fmt(scaling / nativeScaling, 2)}× native`,
          target: "2× ideal",
          notes: [
            `${TASKS} kernel tasks (${STEPS} steps) submitted at once, fastest of ${ROUNDS} alternating rounds per setting: ${fmt(wall[1], 0)} ms vs ${fmt(wall[2], 0)} ms`,
            `native reference: ${NATIVE_TASKS} gcc-built runs one at a time ${fmt(Math.min(...native[1]), 0)} ms vs two at a time ${fmt(Math.min(...native[2]), 0)} ms; ${cpus().length} cores shared with Node, Chromium's main threads and whatever else runs`,
          ],
        },
      ],
      details: {
        tasks: TASKS,
        steps: STEPS,
        wallMs: { 1: walls[1].map((x) => round(x, 1)), 2: walls[2].map((x) => round(x, 1)) },
        nativeTasks: NATIVE_TASKS,
        nativeWallMs: { 1: native[1].map((x) => round(x, 1)), 2: native[2].map((x) => round(x, 1)) },
        nativeScaling: round(nativeScaling, 3),
      },
    };
  });
}
