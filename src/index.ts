/**
 * motivus-worker: turn this page into a volunteer compute node of a Motivus
 * Waterbear cluster. `createWorker(options)` gives a controller; nothing
 * connects or computes until `start()` (call it once the visitor agreed).
 */
import { DataLinks } from "./cache/data-links.js";
import { ClusterConnection } from "./cluster/connection.js";
import type { Stats } from "./protocol/cluster.js";
import { resolveConfig, type ResolvedConfig, type WorkerOptions } from "./config.js";
import { Emitter } from "./events.js";
import { TaskPool, type PoolEvents } from "./pool/task-pool.js";
import { SandboxFrame } from "./sandbox/page/frame.js";

export type WorkerState = "idle" | "connecting" | "running" | "reconnecting" | "stopped" | "error";

export interface WorkerEvents extends PoolEvents {
  state: { state: WorkerState; reason: string | null };
  stats: Stats["body"];
}

export interface MotivusWorker {
  readonly state: WorkerState;
  readonly threads: number;
  /** Tasks running now. */
  readonly running: number;
  start(): Promise<void>;
  stop(): void;
  setThreads(count: number): void;
  on<K extends keyof WorkerEvents>(event: K, listener: (value: WorkerEvents[K]) => void): () => void;
}

// Read at load time: in the script-tag build this is the script's own URL, known only while it runs.
const libraryUrl: string = import.meta.url;

async function loadRuntime(config: ResolvedConfig): Promise<string> {
  const url = config.runtimeUrl ?? new URL("runtime.js", libraryUrl).href;
  const res = await fetch(url).catch((err: Error) => {
    throw new Error(`could not load the worker runtime from ${url}: ${err.message}`);
  });
  if (!res.ok) throw new Error(`could not load the worker runtime from ${url} (${res.status}); set the runtimeUrl option`);
  return res.text();
}

export function createWorker(options: WorkerOptions = {}): MotivusWorker {
  const config = resolveConfig(options);
  const events = new Emitter<WorkerEvents>();
  let state: WorkerState = "idle";
  let threads = config.threads;
  let frame: SandboxFrame | null = null;
  let pool: TaskPool | null = null;
  let connection: ClusterConnection | null = null;

  const setState = (next: WorkerState, reason: string | null = null) => {
    if (next === state) return;
    state = next;
    events.emit("state", { state, reason });
  };

  const stop = () => {
    pool?.stop();
    connection?.disconnect();
    frame?.destroy();
    pool = null;
    connection = null;
    frame = null;
    if (state !== "idle") setState("stopped");
  };

  return {
    get state() {
      return state;
    },
    get threads() {
      return threads;
    },
    get running() {
      return pool?.running ?? 0;
    },
    on: (event, listener) => events.on(event, listener),
    stop,
    setThreads(count: number) {
      if (!Number.isInteger(count) || count < 1) throw new RangeError(`threads must be a whole number of at least 1, not ${count}`);
      threads = count;
      pool?.setThreads(count);
    },
    async start() {
      if (state === "connecting" || state === "running" || state === "reconnecting") return;
      setState("connecting");
      try {
        frame = await SandboxFrame.create(await loadRuntime(config), config.container ?? document.body);
        const sandbox = frame;
        const conn: ClusterConnection = new ClusterConnection(config, {
          joined: () => {
            setState("running");
            pool?.joined();
          },
          lost: (reason) => {
            setState("reconnecting", reason);
            pool?.lost();
          },
          input: (input) => pool?.input(input),
          badInput: (tid, reason) => pool?.badInput(tid, reason),
          abort: (tid) => pool?.abort(tid),
          stats: (stats) => events.emit("stats", stats.body),
        });
        connection = conn;
        const dataLinks = new DataLinks({ clusterOrigin: config.httpOrigin, pageOrigin: location.origin, maxBytes: config.maxDataLinkBytes });
        pool = new TaskPool({ spawn: () => sandbox.spawn(), outbox: conn, events, deadlineMs: config.deadlineMs, dataLinks });
        pool.setThreads(threads);
        await conn.connect();
      } catch (err) {
        stop();
        setState("error", (err as Error).message);
        throw err;
      }
    },
  };
}

export { OptionsError, type WorkerOptions } from "./config.js";
export type { TaskEnded, TaskStarted } from "./pool/task-pool.js";
export { LoaderShape } from "./protocol/runner.js";
