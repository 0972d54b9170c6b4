/**
 * A loopback cluster (the built `startLoopback`) on a free port, serving the
 * bench pages and fixtures beside the library, and what the parts ask of it:
 * waiting for offered slots, and the cluster's own view of each task
 * (queued → dispatched → done, from its public scheduler events).
 */
import { startLoopback } from "motivus-loopback";
import { BENCH, TEST_FIXTURES } from "./paths.js";
import { waitFor } from "./wait.js";

/**
 * `scratch`: a folder served at /scratch/ (big payload files for the bare page).
 * Mounts: /bench/ → bench/ (pages, fixtures), /fixtures/ → test/fixtures/; /dist/ is the loopback's own.
 */
export async function startCluster({ scratch = null } = {}) {
  const server = await startLoopback({
    port: 0,
    algorithms: null,
    mounts: { "/bench/": BENCH, "/fixtures/": TEST_FIXTURES, ...(scratch ? { "/scratch/": scratch } : {}) },
  });
  /** task id → { queued, dispatched, done } in performance.now() of this process. */
  const timeline = new Map();
  server.scheduler.on("event", (event) => {
    if (!["queued", "dispatched", "done"].includes(event.kind)) return;
    const t = timeline.get(event.task.id) ?? {};
    t[event.kind] = performance.now();
    timeline.set(event.task.id, t);
  });
  return {
    server,
    origin: server.origin,
    timeline,
    /** The highest task id the cluster has seen (tasks after a mark have larger ids). */
    lastTaskId: () => Math.max(0, ...timeline.keys()),
    stats: () => server.stats(),
    /** Wait until the cluster holds exactly `slots` offered slots from `workers` worker channels. */
    waitForSlots: (slots, workers, what, ms = 30_000) =>
      waitFor(
        () => {
          const s = server.stats();
          return s.offered_slots === slots && s.workers === workers;
        },
        ms,
        what,
      ),
    close: () => server.close(),
  };
}

/**
 * queued→done of the tasks with ids in (afterId, …]: from the cluster having the task to it having the
 * result. (Not dispatched→done: the "dispatched" event follows the socket write to the page, and on a
 * busy two-core machine the browser often runs the whole task while Node waits to be scheduled
 * again inside that write, so dispatched→done can come out shorter than the task itself.)
 */
export function queuedToDone(timeline, afterId) {
  return [...timeline.entries()].filter(([id, t]) => id > afterId && t.done && t.queued).map(([, t]) => t.done - t.queued);
}
