/**
 * The Web Worker entry (built as dist/browser/runtime.js, a classic script). The sandbox frame posts
 * one message `{ port }`; the runner is exposed with Comlink on that port, and the worker's own port
 * is used for nothing else.
 */
import * as Comlink from "comlink";
import { isExitStatus } from "./errors.js";
import type { RunnerApi, RunnerNote } from "../messages/runner.js";
import { Leftovers, type Scope } from "./leftovers.js";
import { Runner } from "./runner.js";
import { startModuleWorkersAsClassic } from "./module-workers.js";

startRuntime();

/** Everything the worker keeps is the runner's (and the leftovers' it is handed); nothing lives at module scope. */
function startRuntime(): void {
  // Before any algorithm code runs: module workers start as classic ones (the sandbox's origin is
  // opaque), and what it starts is tracked, and ended with its task.
  startModuleWorkersAsClassic(self as unknown as Scope);
  // The worker's own timer, before an algorithm can replace the global one: the idle note must not be its to fake.
  const setTimer = self.setTimeout.bind(self);
  const leftovers = new Leftovers(self as unknown as Scope);
  let toHost: MessagePort | null = null;
  const note = (message: RunnerNote) => toHost?.postMessage(message);
  const runner = new Runner(leftovers, note);

  // An error no code caught fails the current task instead of leaving it waiting for its deadline.
  self.addEventListener("error", (event) => {
    if (isExitStatus(event.error) || runner.fail(event.error ?? event.message)) event.preventDefault();
  });
  self.addEventListener("unhandledrejection", (event) => {
    if (isExitStatus(event.reason) || runner.fail(event.reason)) event.preventDefault();
  });

  self.addEventListener("message", function handOff(event: MessageEvent<unknown>) {
    const port = (event.data as { port?: unknown } | null)?.port;
    if (!(port instanceof MessagePort)) return;
    self.removeEventListener("message", handOff);
    leftovers.keep(port); // the one port a task's end does not close
    toHost = port;
    // Only the RunnerApi crosses the port; `fail` stays private to this worker.
    const api: RunnerApi = {
      run: (task) =>
        runner.run(task).then((outcome) => {
          // A turn of the event loop after the answer: a thread an algorithm left spinning never gets there.
          setTimer(() => note({ note: "idle" }), 0);
          // Result files' bytes are moved to the page, not copied.
          return Comlink.transfer(outcome, Object.values(outcome.files ?? {}));
        }),
      cachedModules: () => runner.cachedModules(),
    };
    Comlink.expose(api, port);
  });
}
