/**
 * busyFraction: the CPU share kept. A bench page with one thread and
 * `cpuShare` 0.5 is given more compute-kernel tasks than it can take at once,
 * so it is never short of work; its busy fraction is the time its slot spent
 * in tasks (the page's taskStarted → taskFinished) over whole cycles: from
 * the first task's start to the last one's. Reference: the same with cpuShare 1 (what
 * "all the time" measures as here, round trips included).
 */
import { join } from "node:path";
import { closeBenchPage, openBenchPage } from "../support/browser.js";
import { withContext } from "../support/cleanup.js";
import { burst, connectDriver, inlineBundle } from "../support/driver.js";
import { BENCH_BUILD } from "../support/paths.js";
import { fmt, round } from "../support/stats.js";

export const title = "CPU share: busy fraction of a thread at cpuShare 0.5 (reference: 1)";
export const budgetMs = 60_000;

const SHARE = 0.5;
const TASKS = 8;
const STEPS = 1000; // ~0.25 s each

/**
 * Whole cycles (a task, its rest, the round trip to the next): from the first task's start to the last one's,
 * the busy time of every task but the last, over that window.
 */
function busyFraction(record) {
  const ends = new Map(record.finished.map((e) => [e.tid, e.at]));
  const starts = record.started.map((e) => e.at).sort((a, b) => a - b);
  const busy = record.started
    .filter((e) => e.at < starts[starts.length - 1])
    .reduce((sum, e) => sum + (ends.get(e.tid) - e.at), 0);
  return busy / (starts[starts.length - 1] - starts[0]);
}

export async function run(shared) {
  const { progress } = shared;
  return withContext(shared, async ({ cluster, context, cleanup }) => {
    const client = await connectDriver(cluster.server.driverUri);
    cleanup.add("the driver", () => client.close());
    const kernel = {
      ...inlineBundle(join(BENCH_BUILD, "kernel.js"), join(BENCH_BUILD, "kernel.wasm")),
      arguments: [String(STEPS)],
    };
    const measured = {};
    for (const share of [1, SHARE]) {
      const bench = await openBenchPage(context, cluster, { share });
      await burst(client, 1, { ...kernel, arguments: ["100"] }, "warm-up kernel task"); // compiles the kernel
      await cluster.waitForSlots(1, 1, "the page's slot after the warm-up");
      await bench.page.evaluate(() => {
        window.bench.record.started.length = 0;
        window.bench.record.finished.length = 0;
      });
      progress(`cpuShare ${share}: ${TASKS} kernel tasks queued for one thread`);
      await burst(client, TASKS, kernel, "kernel task");
      measured[share] = busyFraction(await bench.record());
      await closeBenchPage(bench.page, cluster);
    }
    const value = measured[SHARE];
    return {
      figures: { busyFraction: round(value, 3) },
      rows: [
        {
          figure: "busyFraction",
          value: `${fmt(value * 100, 1)} % at cpuShare ${SHARE}`,
          reference: `${fmt(measured[1] * 100, 1)} % at cpuShare 1`,
          ratio: `${fmt((value - SHARE) * 100, 1)} points off`,
          target: "±5 points",
          notes: [
            `one thread, ${TASKS} kernel tasks (${STEPS} steps) queued at once; busy = the page's taskStarted → taskFinished`,
          ],
        },
      ],
      details: { share: SHARE, tasks: TASKS, steps: STEPS, busyFraction: measured },
    };
  });
}
