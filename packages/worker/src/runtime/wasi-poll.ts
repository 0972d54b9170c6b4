/**
 * WASI `poll_oneoff`, the call behind sleep (Go's `time.Sleep`, Rust's `thread::sleep`, C's
 * `nanosleep`) and behind waiting on files. The shim answers one clock subscription only (and
 * leaves `nevents` unwritten); programs such as Go's scheduler send several. Here: file
 * subscriptions are ready at once (stdin is empty, writes never block); with none, the call sleeps
 * until the earliest clock and reports it. The sleep blocks the worker's thread (`Atomics.wait`
 * where shared memory exists, else a busy wait): a WASI program is synchronous.
 */
const SUBSCRIPTION_SIZE = 48;
const EVENT_SIZE = 32;
const EVENTTYPE_CLOCK = 0;
const SUBCLOCKFLAGS_ABSTIME = 1;
const CLOCK_REALTIME = 0;
const ERRNO_SUCCESS = 0;
const ERRNO_INVAL = 28;

interface Subscription {
  userdata: bigint;
  type: number;
  /** For a clock: when it fires, in ms on `performance.now()`'s scale. */
  dueMs: number;
}

export function pollOneoff(memory: () => WebAssembly.Memory) {
  return (inPtr: number, outPtr: number, count: number, neventsPtr: number): number => {
    if (count === 0) return ERRNO_INVAL;
    const view = new DataView(memory().buffer);
    const subscriptions = Array.from({ length: count }, (_, i) => readSubscription(view, inPtr + i * SUBSCRIPTION_SIZE));
    let ready = subscriptions.filter((s) => s.type !== EVENTTYPE_CLOCK);
    if (ready.length === 0) {
      const earliest = Math.min(...subscriptions.map((s) => s.dueMs));
      sleepUntil(earliest);
      ready = subscriptions.filter((s) => s.dueMs <= earliest);
    }
    const after = new DataView(memory().buffer); // the memory may have grown meanwhile (another view)
    ready.forEach((s, i) => writeEvent(after, outPtr + i * EVENT_SIZE, s));
    after.setUint32(neventsPtr, ready.length, true);
    return ERRNO_SUCCESS;
  };
}

function readSubscription(view: DataView, at: number): Subscription {
  const userdata = view.getBigUint64(at, true);
  const type = view.getUint8(at + 8);
  if (type !== EVENTTYPE_CLOCK) return { userdata, type, dueMs: 0 };
  const clock = view.getUint32(at + 16, true);
  const timeoutMs = Number(view.getBigUint64(at + 24, true)) / 1e6;
  const absolute = (view.getUint16(at + 40, true) & SUBCLOCKFLAGS_ABSTIME) !== 0;
  if (!absolute) return { userdata, type, dueMs: performance.now() + timeoutMs };
  // An absolute time is on the clock it names: realtime is the epoch, the others count from the worker's start.
  const nowOnClock = clock === CLOCK_REALTIME ? Date.now() : performance.now();
  return { userdata, type, dueMs: performance.now() + (timeoutMs - nowOnClock) };
}

function writeEvent(view: DataView, at: number, s: Subscription): void {
  view.setBigUint64(at, s.userdata, true);
  view.setUint16(at + 8, ERRNO_SUCCESS, true);
  view.setUint8(at + 10, s.type);
  view.setBigUint64(at + 16, 0n, true); // nbytes: nothing to read, writes never block
  view.setUint16(at + 24, 0, true);
}

function sleepUntil(dueMs: number): void {
  const cell = typeof SharedArrayBuffer === "function" ? new Int32Array(new SharedArrayBuffer(4)) : null;
  for (let left = dueMs - performance.now(); left > 0; left = dueMs - performance.now()) {
    if (cell) Atomics.wait(cell, 0, 0, left);
  }
}
