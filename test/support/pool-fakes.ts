/**
 * What the pool tests fake around a real TaskPool: the runner side of a sandboxed worker (speaking as
 * runtime/worker.ts does), and the events and data links a pool is given.
 */
import * as Comlink from "comlink";
import { DataLinks } from "../../packages/worker/src/cache/data-links.js";
import { Emitter } from "../../packages/worker/src/events.js";
import type { RunnerApi, RunnerNote, RunnerTask } from "../../packages/worker/src/messages/runner.js";
import type { PoolEvents, TaskEnded } from "../../packages/worker/src/pool/task-pool.js";

/** A pool's events, and every task that ended (finished or failed), in order. */
export function poolEvents(): { events: Emitter<PoolEvents>; ended: TaskEnded[] } {
  const events = new Emitter<PoolEvents>();
  const ended: TaskEnded[] = [];
  events.on("taskFinished", (e) => void ended.push(e));
  events.on("taskFailed", (e) => void ended.push(e));
  return { events, ended };
}

/** Data links of a page on page.test working for cluster.test (the tests fetch none). */
export const testDataLinks = () =>
  new DataLinks({ clusterOrigin: "http://cluster.test", pageOrigin: "http://page.test", maxBytes: 1024 });

/**
 * Exposes `runner` on `port`, and a turn after each answer sends its idle note, as the runtime does;
 * not after a task `spins` says so (a worker whose thread the algorithm left busy never gets there).
 */
export function exposeRunner(runner: RunnerApi, port: MessagePort, spins: (task: RunnerTask) => boolean = () => false): void {
  const api: RunnerApi = {
    run: (task) =>
      runner.run(task).then((outcome) => {
        if (!spins(task)) setTimeout(() => port.postMessage({ note: "idle" } satisfies RunnerNote), 0);
        return outcome;
      }),
    cachedModules: () => runner.cachedModules(),
  };
  Comlink.expose(api, port);
}
