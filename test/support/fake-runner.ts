/** The runner side of a fake sandboxed worker (the pool tests'), speaking as runtime/worker.ts does. */
import * as Comlink from "comlink";
import type { RunnerApi, RunnerNote } from "../../packages/worker/src/messages/runner.js";

/** Exposes `runner` on `port`, and a turn after each answer sends its idle note, as the runtime does. */
export function exposeRunner(runner: RunnerApi, port: MessagePort): void {
  const api: RunnerApi = {
    run: (task) =>
      runner.run(task).then((outcome) => {
        setTimeout(() => port.postMessage({ note: "idle" } satisfies RunnerNote), 0);
        return outcome;
      }),
    cachedModules: () => runner.cachedModules(),
  };
  Comlink.expose(api, port);
}
