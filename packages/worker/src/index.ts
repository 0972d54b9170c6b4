/**
 * motivus-worker: turn this page into a volunteer compute node of a Motivus
 * Waterbear cluster. `createWorker(options)` gives a controller; nothing
 * connects or computes until `start()` (call it once the visitor agreed).
 */
import { BundleCache } from "./cache/bundle-cache.js";
import { DataLinks, type CacheStats } from "./cache/data-links.js";
import { ClusterConnection, reconnectAfterMs } from "./cluster/connection.js";
import type { Stats } from "motivus-protocol";
import { resolveConfig, type ResolvedConfig, type WorkerOptions } from "./config.js";
import { Emitter } from "./events.js";
import { Policy } from "./policy/policy.js";
import { describeReason, type Budget } from "./policy/rules.js";
import { contentKey } from "./pool/bundle-keys.js";
import { TaskPool, type PoolEvents } from "./pool/task-pool.js";
import { SandboxFrame } from "./sandbox/page/frame.js";

/** `waiting`: started, but the policy holds the connection back (offline, or another tab of this site works). */
export type WorkerState = "idle" | "connecting" | "running" | "waiting" | "reconnecting" | "stopped" | "error";

export interface WorkerEvents extends PoolEvents {
  state: { state: WorkerState; reason: string | null };
  stats: Stats["body"];
  /** What the pool may do now (policy/rules.ts); `describeBudget` puts it in words. */
  budget: Budget;
}

export interface MotivusWorker {
  readonly state: WorkerState;
  readonly threads: number;
  /** Tasks running now. */
  readonly running: number;
  start(): Promise<void>;
  stop(): void;
  setThreads(count: number): void;
  /** What the policy allows now: threads, pause (and why), CPU share, whether to connect. */
  readonly budget: Budget;
  /** The busy fraction of each thread, 0 < share ≤ 1: a thread rests between tasks to keep to it. */
  setCpuShare(share: number): void;
  on<K extends keyof WorkerEvents>(event: K, listener: (value: WorkerEvents[K]) => void): () => void;
  /** Whether data packages are cached across page loads (else why not), hits, misses, bytes held. */
  cacheStats(): Promise<CacheStats>;
  /**
   * Whether this page can run -pthread programs (it is cross-origin isolated: SharedArrayBuffer). On a
   * page that cannot, such a task fails at once, naming the headers the site must send.
   */
  readonly threadedPrograms: boolean;
}

/**
 * The runtime beside this file. Written literally, `new URL("./runtime.js", import.meta.url)`, so that
 * bundlers (Vite, webpack, Rollup, Parcel) see it, emit `runtime.js` with the app and rewrite the URL.
 */
const defaultRuntimeUrl = (): string => new URL("./runtime.js", import.meta.url).href;

async function loadRuntime(config: ResolvedConfig): Promise<string> {
  const url = config.runtimeUrl ?? defaultRuntimeUrl();
  const res = await fetch(url).catch((err: Error) => {
    throw new Error(`could not load the worker runtime from ${url} (the runtimeUrl option): ${err.message}`);
  });
  if (!res.ok) throw new Error(`could not load the worker runtime from ${url} (${res.status}); set the runtimeUrl option`);
  const source = await res.text();
  // A server that answers unknown paths with its index page (most single-page-app hosts) answers 200.
  if (!isJavaScript(res.headers.get("content-type"), source)) {
    throw new Error(
      `${url} is not the worker runtime (${res.headers.get("content-type") ?? "no content type"}, starting "${source.slice(0, 20)}"): ` +
        "serve motivus-worker's runtime.js there, or point the runtimeUrl option at it",
    );
  }
  return source;
}

/** Not HTML: neither served as HTML nor starting with markup (an index page served for any path). */
function isJavaScript(contentType: string | null, source: string): boolean {
  return !/^\s*(text\/html|application\/xhtml)/i.test(contentType ?? "") && !source.trimStart().startsWith("<");
}

export function createWorker(options: WorkerOptions = {}): MotivusWorker {
  const config = resolveConfig(options);
  const events = new Emitter<WorkerEvents>();
  let state: WorkerState = "idle";
  let threads = config.threads;
  let frame: SandboxFrame | null = null;
  let pool: TaskPool | null = null;
  let connection: ClusterConnection | null = null;
  let stateReason: string | null = null;
  let wanted = false; // start() was called and stop() was not
  let linking: Promise<void> | null = null;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let retries = 0;
  const policy = new Policy(config.policy, { threads, share: config.cpuShare }, (budget) => obey(budget));
  // Lives as long as the worker, across stop and start; IndexedDB is opened at the first data_link.
  const dataLinks = new DataLinks({
    clusterOrigin: config.httpOrigin,
    pageOrigin: location.origin,
    maxBytes: Math.min(config.maxDataLinkBytes, policy.budget.maxDataBytes ?? Infinity), // data saver
    cache: new BundleCache({ maxBytes: config.cacheMaxBytes, hash: contentKey }),
  });

  const setState = (next: WorkerState, reason: string | null = null) => {
    if (next === state && reason === stateReason) return;
    state = next;
    stateReason = reason;
    events.emit("state", { state, reason });
  };

  const obeyPool = (budget: Budget) => {
    pool?.setPaused(budget.paused !== null); // first: a slot that setThreads adds must not be offered while paused
    pool?.setShare(budget.share);
    pool?.setThreads(budget.threads);
  };

  /** A new budget: the pool follows it; offline or with another tab working, this one lets go of the cluster. */
  const obey = (budget: Budget) => {
    events.emit("budget", budget);
    obeyPool(budget);
    if (!wanted) return;
    if (!budget.connect) {
      clearTimeout(retry);
      if (connection?.joined) pool?.lost(); // what ran or was offered is the cluster's again
      connection?.disconnect();
      setState("waiting", describeReason(budget.paused!, policy.rules));
    } else if (state === "waiting") resume();
  };

  /**
   * Back online, or this tab's turn: connect again, retrying with back-off until it works. (The
   * `online` event often comes before the network carries a request; only the first start gives up.)
   */
  const resume = () => {
    link().then(
      () => (retries = 0),
      (err: Error) => {
        if (!wanted || !policy.budget.connect) return;
        setState("reconnecting", err.message);
        retry = setTimeout(resume, reconnectAfterMs(++retries));
      },
    );
  };

  /** Connect, making the sandbox frame and the pool the first time; returns early when the policy calls it off. */
  const link = (): Promise<void> => {
    setState("connecting");
    return (linking ??= (async () => {
      if (!frame) {
        const created = await SandboxFrame.create(await loadRuntime(config), config.container ?? document.body);
        if (!wanted) return created.destroy();
        frame = created;
      }
      const sandbox = frame;
      if (!connection) {
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
        pool = new TaskPool({
          spawn: () => sandbox.spawn(),
          outbox: conn,
          events,
          deadlineMs: config.deadlineMs,
          startupMs: config.startupMs,
          dataLinks,
        });
        obeyPool(policy.budget);
      }
      if (!wanted || !policy.budget.connect) return;
      await connection.connect(); // returns early when disconnect() calls it off
    })().finally(() => (linking = null)));
  };

  const fail = (err: Error) => {
    stop();
    setState("error", err.message);
  };

  const stop = () => {
    wanted = false;
    policy.end(); // releases the tab lock: another tab of this site takes over
    clearTimeout(retry);
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
    get budget() {
      return policy.budget;
    },
    cacheStats: () => dataLinks.stats(),
    threadedPrograms: globalThis.crossOriginIsolated === true,
    stop,
    setThreads(count: number) {
      if (!Number.isInteger(count) || count < 1)
        throw new RangeError(`threads must be a whole number of at least 1, not ${count}`);
      threads = count;
      policy.choose({ threads: count });
    },
    setCpuShare(share: number) {
      if (!(share > 0 && share <= 1)) throw new RangeError(`the CPU share must be above 0 and at most 1, not ${share}`);
      policy.choose({ share });
    },
    /** Resolves once connected, or once waiting for its turn (state `waiting`, the reason says why). */
    async start() {
      if (wanted) return;
      wanted = true;
      try {
        setState("connecting");
        await policy.begin(); // the first readings: visibility, battery, network, the tab lock
        if (!wanted) return;
        if (policy.budget.connect) await link();
        else setState("waiting", describeReason(policy.budget.paused!, policy.rules));
      } catch (err) {
        fail(err as Error);
        throw err;
      }
    },
  };
}

export { OptionsError, type WorkerOptions } from "./config.js";
export { describeBudget, describeReason, type Budget, type Reason } from "./policy/rules.js";
export type { CacheStats } from "./cache/data-links.js";
export type { TaskEnded, TaskStarted } from "./pool/task-pool.js";
export { LoaderShape } from "./messages/runner.js";
