/**
 * Simulated workers without a browser (support/simulated-workers-thread.js),
 * in a worker thread: raw Phoenix workers of the loopback cluster, or echo
 * sockets of the reference relay. `stop()` resolves with how many tasks they answered.
 */
import { Worker } from "node:worker_threads";
import { withTimeout } from "./wait.js";

const THREAD = new URL("./simulated-workers-thread.js", import.meta.url);

/** mode "phoenix" (url: the cluster's http origin) or "echo" (url: the relay's worker ws URL). */
export async function startSimulatedWorkers({ mode, url, workers, slots = 1 }) {
  const thread = new Worker(THREAD, { workerData: { mode, url, workers, slots } });
  const died = new Promise((_, fail) => {
    thread.on("error", fail);
    thread.on("exit", (code) => fail(new Error(`the simulated workers' thread exited (${code})`)));
  });
  died.catch(() => {});
  const message = (kind) => Promise.race([died, new Promise((ok) => thread.on("message", (m) => m.kind === kind && ok(m)))]);
  const ready = await withTimeout(message("ready"), 15_000, "the simulated workers to connect");
  if (ready.error) {
    await thread.terminate();
    throw new Error(`simulated workers: ${ready.error}`);
  }
  let stopped = null;
  return {
    stop: () =>
      (stopped ??= (async () => {
        thread.postMessage({ kind: "stop" });
        const { answered, errors } = await withTimeout(message("stopped"), 15_000, "the simulated workers to stop");
        await thread.terminate();
        if (errors.length) throw new Error(`simulated workers: ${errors[0]}`);
        return answered;
      })()),
  };
}
