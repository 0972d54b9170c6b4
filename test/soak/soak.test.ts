// The soak (soak.ts): simulated and headless browser workers, the TS driver, workers killed at
// random, pages closed and reopened, the server restarted once; every task answered exactly once
// with its own answer, and the heaps flat. `npm test` runs the short form; `npm run soak` the full
// one (SOAK=full): 100 simulated workers, 2 browsers, 5,000 tasks. SOAK_ALGORITHM=sql|flate picks
// the algorithm (soak.ts), SOAK_TASKS / SOAK_WORKERS / SOAK_BROWSERS / SOAK_SEED override the sizes.
import { expect, it } from "vitest";
import { formatFigures, soak, type AlgorithmName, type SoakOptions } from "./soak.js";

const full = process.env.SOAK === "full";
const env = (name: string): number | undefined => (process.env[name] ? Number(process.env[name]) : undefined);

const tasks = env("SOAK_TASKS") ?? (full ? 5000 : 400);
const options: SoakOptions = full
  ? {
      workers: env("SOAK_WORKERS") ?? 100,
      browsers: env("SOAK_BROWSERS") ?? 2,
      tasks,
      restartAt: Math.floor(tasks / 2),
      killEveryMs: 100,
      // 0.5–1.5 s a task: the pages (tens of ms a task) then get well over their 1-in-102 round-robin
      // share, a few hundred tasks each, enough for a page's own limits to show.
      workMs: [500, 1500],
      // The second page is closed and reopened twice; the first lives from start to end.
      reopenAt: [Math.floor(tasks * 0.3), Math.floor(tasks * 0.7)],
      algorithm: (process.env.SOAK_ALGORITHM as AlgorithmName | undefined) ?? "sql",
      timeoutMs: 8 * 60_000,
    }
  : {
      workers: env("SOAK_WORKERS") ?? 10,
      browsers: env("SOAK_BROWSERS") ?? 1,
      tasks,
      restartAt: Math.floor(tasks / 2),
      killEveryMs: 150,
      workMs: [50, 250],
      // One page only: it is reopened before the warm-up ends, so the page measured lives through the restart.
      reopenAt: [Math.floor(tasks / 20)],
      // The no-modules glue. The full form runs the `--target web` glue (sql), with which a page
      // currently fails every task after its 124th (wasm out of memory: each task's module instance stays).
      algorithm: (process.env.SOAK_ALGORITHM as AlgorithmName | undefined) ?? "flate",
      timeoutMs: 80_000,
    };
if (env("SOAK_SEED") !== undefined) options.seed = env("SOAK_SEED");

it(
  `${full ? "full" : "short"} soak: ${options.workers} simulated workers, ${options.browsers} browsers, ${tasks} tasks, kills, reopens and a restart; every task answered once, heaps flat`,
  async () => {
    const figures = await soak({
      ...options,
      log:
        full || process.env.SOAK_LOG
          ? (line) => process.stdout.write(`soak ${new Date().toISOString().slice(11, 23)}: ${line}\n`)
          : undefined,
    });
    console.log(`\n${formatFigures(figures)}\n`);
    if (figures.notable.length > 0)
      console.log(`cluster log lines worth a look:\n  ${figures.notable.slice(0, 60).join("\n  ")}`);

    // Every property failed, in one message; then each on its own.
    expect(figures.violations).toEqual([]);
    expect(figures.answeredOnce).toBe(tasks);
    expect(figures.failed).toBe(0);
    expect(figures.duplicateFrames ?? 0).toBe(0);
    expect(figures.done).toBeGreaterThanOrEqual(tasks);
    expect(figures.restarts).toBe(1);
    expect(figures.kills.total).toBeGreaterThan(0);
    expect(figures.pageReopens).toBe(options.browsers > 0 ? options.reopenAt!.length : 0);
    expect(figures.server.flat).toBe(true);
    expect(figures.pages.filter((p) => p.flat !== null).every((p) => p.flat)).toBe(true);
  },
  full ? 10 * 60_000 : 90_000,
);
