/** The runner side of a fake sandboxed worker (the pool tests'), speaking as runtime/worker.ts does. */
import * as Comlink from "comlink";
import type { RunnerApi, RunnerNote, RunnerTask } from "../../packages/worker/src/messages/runner.js";

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
