/**
 * One working tab per origin with the Web Locks API: the tab that holds the
 * lock "motivus-worker" works; the others wait in the lock's queue and the
 * browser hands it to the next one when the holder releases it (stop) or
 * closes (a closed or crashed tab releases its locks by itself). Without the
 * API (old browsers, opaque origins) every tab counts as the only one.
 */
import type { Unwatch } from "./signals.js";

const TAB_LOCK = "motivus-worker";

/**
 * Ask for the lock: `report("mine")` once this tab holds it, `report("other")` while
 * another tab does. `ready` settles at the first answer (not when the lock is released,
 * which is when `locks.request` itself settles). `stop` releases the lock or leaves the queue.
 */
export function holdTabLock(report: (tab: "mine" | "other") => void): { ready: Promise<void>; stop: Unwatch } {
  const locks = globalThis.navigator?.locks;
  let stopped = false;
  let answered: () => void = () => {};
  const ready = new Promise<void>((ok) => (answered = ok));
  const tell = (tab: "mine" | "other") => {
    if (stopped) return;
    report(tab);
    answered();
  };
  let release: () => void = () => {};
  const released = new Promise<void>((ok) => (release = ok));
  const queue = new AbortController();
  const hold = () => {
    tell("mine");
    return released;
  };
  if (!locks) tell("mine");
  else {
    locks
      .request(TAB_LOCK, { ifAvailable: true }, (lock) => {
        if (lock) return hold();
        tell("other");
        // Wait in the queue; the browser grants the lock when the holding tab releases it or closes.
        locks.request(TAB_LOCK, { signal: queue.signal }, hold).catch(() => {});
        return undefined;
      })
      .catch(() => tell("mine")); // refused here (a sandboxed frame without storage): no rule
  }
  return {
    ready,
    stop: () => {
      stopped = true;
      answered();
      queue.abort();
      release();
    },
  };
}
