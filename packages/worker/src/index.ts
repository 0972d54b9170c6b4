/**
 * motivus-worker: turn this page into a volunteer compute node of a Motivus
 * Waterbear cluster. `createWorker(options)` gives a controller; nothing
 * connects or computes until `start()` (call it once the visitor agreed).
 */
import { BundleFileStore } from "./cache/bundle-file-store.js";
import { BundleFiles } from "./cache/bundle-files.js";
import { DataPackageStore } from "./cache/data-package-store.js";
import { DataLinks, type CacheStats } from "./cache/data-links.js";
import { CacheDatabase } from "./cache/store.js";
import { ClusterConnection, reconnectAfterMs } from "./cluster/connection.js";
import { Lifecycle, type WorkerState } from "./cluster/worker-state.js";
import type { Stats } from "motivus-protocol";
import { resolveConfig, type ResolvedConfig, type WorkerOptions } from "./config.js";
import { Emitter } from "./events.js";
import { Policy } from "./policy/policy.js";
import { describeReason, isShare, MAX_THREADS, MIN_SHARE, type Budget } from "./policy/rules.js";
import { contentKey } from "./pool/bundle-keys.js";
import { TaskPool, type PoolEvents } from "./pool/task-pool.js";
import { SandboxFrame } from "./sandbox/page/frame.js";

export type { WorkerState } from "./cluster/worker-state.js";

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
  /** The busy fraction of each thread, from 0.05 to 1: a thread rests between tasks to keep to it. */
  setCpuShare(share: number): void;
  on<K extends keyof WorkerEvents>(event: K, listener: (value: WorkerEvents[K]) => void): () => void;
  /** Whether data packages and programs are cached across page loads (else why not), hits, misses, bytes held. */
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
      `${url} is not the worker runtime (${res.headers.get("content-type") ?? "no content type"}, starting ${JSON.stringify(source.slice(0, 20))}): ` +
        "serve motivus-worker's runtime.js there, or point the runtimeUrl option at it",
    );
  }
  return source;
}

/** Not HTML: neither served as HTML nor starting with markup (an index page served for any path). */
function isJavaScript(contentType: string | null, source: string): boolean {
  return !/^\s*(text\/html|application\/xhtml)/i.test(contentType ?? "") && !source.trimStart().startsWith("<");
}

/**
 * The worker behind `createWorker`: the sandbox frame, the pool and the connection, made the first
 * time it connects and dropped by `stop()`, under the policy's budget. Its state moves only through
 * the table of cluster/worker-state.ts; "started and not stopped" is that state, not a flag of its own.
 */
class WorkerController {
  readonly events: Emitter<WorkerEvents>;
  readonly lifecycle: Lifecycle;
  readonly policy: Policy;
  readonly dataLinks: DataLinks;
  readonly bundleFiles: BundleFiles;
  /** The visitor's choice (the budget may grant fewer). */
  threads: number;
  private frame: SandboxFrame | null = null;
  private pool: TaskPool | null = null;
  private connection: ClusterConnection | null = null;
  private linking: Promise<void> | null = null;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private retries = 0;

  constructor(private readonly config: ResolvedConfig) {
    this.events = new Emitter<WorkerEvents>(config.logger);
    this.lifecycle = new Lifecycle((change) => this.events.emit("state", change));
    this.threads = config.threads;
    this.policy = new Policy(config.policy, { threads: config.threads, share: config.cpuShare }, (budget) => this.obey(budget));
    // Live as long as the worker, across stop and start; IndexedDB is opened at the first data_link or bundle file.
    const db = new CacheDatabase({ maxBytes: config.cacheMaxBytes, hash: contentKey, logger: config.logger });
    const linkPolicy = { clusterOrigin: config.httpOrigin, pageOrigin: location.origin };
    this.dataLinks = new DataLinks({
      ...linkPolicy,
      maxBytes: Math.min(config.maxDataLinkBytes, this.policy.budget.maxDataBytes ?? Infinity), // data saver
      cache: new DataPackageStore(db),
    });
    // Data saver limits data packages only: a program arrives one way or the other, by reference or inline.
    this.bundleFiles = new BundleFiles({
      ...linkPolicy,
      maxBytes: config.maxDataLinkBytes,
      hash: contentKey,
      store: new BundleFileStore(db),
    });
  }

  get running(): number {
    return this.pool?.running ?? 0;
  }

  async start(): Promise<void> {
    if (!this.lifecycle.move("start")) return;
    try {
      await this.policy.begin(); // the first readings: visibility, battery, network, the tab lock
      if (!this.lifecycle.active) return;
      if (this.policy.budget.connect) await this.link();
      else this.lifecycle.move("hold", waitingFor(this.policy));
    } catch (err) {
      this.fail(err as Error);
      throw err;
    }
  }

  stop(): void {
    // First: the budget that ending the policy reports must find the worker stopped, not bring the connection back.
    this.lifecycle.move("stop");
    this.policy.end(); // releases the tab lock: another tab of this site takes over
    clearTimeout(this.retry);
    this.pool?.stop();
    this.connection?.disconnect();
    this.frame?.destroy();
    this.pool = null;
    this.connection = null;
    this.frame = null;
  }

  setThreads(count: number): void {
    if (!Number.isInteger(count) || count < 1 || count > MAX_THREADS)
      throw new RangeError(`threads must be a whole number from 1 to ${MAX_THREADS}, not ${count}`);
    this.threads = count;
    this.policy.choose({ threads: count });
  }

  setCpuShare(share: number): void {
    if (!isShare(share)) throw new RangeError(`the CPU share must be from ${MIN_SHARE} to 1, not ${share}`);
    this.policy.choose({ share });
  }

  /** A new budget: the pool follows it; offline or with another tab working, this one lets go of the cluster. */
  private obey(budget: Budget): void {
    this.events.emit("budget", budget);
    this.obeyPool(budget);
    if (!budget.connect) this.hold();
    else if (this.lifecycle.move("release")) this.resume();
  }

  private obeyPool(budget: Budget): void {
    this.pool?.setPaused(budget.paused !== null); // first: a slot that setThreads adds must not be offered while paused
    this.pool?.setShare(budget.share);
    this.pool?.setThreads(budget.threads);
  }

  /** Let go of the cluster while the policy says so. */
  private hold(): void {
    if (!this.lifecycle.can("hold")) return;
    clearTimeout(this.retry);
    if (this.connection?.joined) this.pool?.lost(); // what ran or was offered is the cluster's again
    this.connection?.disconnect();
    this.lifecycle.move("hold", waitingFor(this.policy));
  }

  /**
   * Back online, or this tab's turn: connect again, retrying with back-off until it works. (The
   * `online` event often comes before the network carries a request; only the first start gives up.)
   */
  private resume(): void {
    this.link().then(
      () => (this.retries = 0),
      (err: Error) => {
        if (!this.policy.budget.connect || !this.lifecycle.move("connectFailed", err.message)) return;
        this.retry = setTimeout(() => this.resume(), reconnectAfterMs(++this.retries));
      },
    );
  }

  /** Connect, making the sandbox frame and the pool the first time; returns early when the policy calls it off. */
  private link(): Promise<void> {
    if (!this.lifecycle.move("connect")) return Promise.resolve();
    return (this.linking ??= this.establish().finally(() => (this.linking = null)));
  }

  private async establish(): Promise<void> {
    const frame = await this.sandbox();
    if (!frame) return;
    const connection = this.connection ?? this.attach(frame);
    if (!this.lifecycle.active || !this.policy.budget.connect) return;
    await connection.connect(); // returns early when disconnect() calls it off
  }

  /** The sandbox frame, made from the runtime the first time; null when the worker was stopped meanwhile. */
  private async sandbox(): Promise<SandboxFrame | null> {
    if (this.frame) return this.frame;
    const created = await SandboxFrame.create(await loadRuntime(this.config), this.config.container ?? document.body);
    if (!this.lifecycle.active) {
      created.destroy();
      return null;
    }
    return (this.frame = created);
  }

  /** A connection and the pool that serves it, for a worker that has neither (a first start, or after stop). */
  private attach(frame: SandboxFrame): ClusterConnection {
    const connection = new ClusterConnection(this.config, {
      joined: () => {
        this.lifecycle.move("joined");
        this.pool?.joined();
      },
      lost: (reason) => {
        this.lifecycle.move("lost", reason);
        this.pool?.lost();
      },
      input: (input, attached) => this.pool?.input(input, attached),
      badInput: (tid, reason) => this.pool?.badInput(tid, reason),
      abort: (tid) => this.pool?.abort(tid),
      stats: (stats) => this.events.emit("stats", stats.body),
    });
    this.connection = connection;
    this.pool = new TaskPool({
      spawn: () => frame.spawn(),
      outbox: connection,
      events: this.events,
      deadlineMs: this.config.deadlineMs,
      startupMs: this.config.startupMs,
      dataLinks: this.dataLinks,
      bundleFiles: this.bundleFiles,
      logger: this.config.logger,
    });
    this.obeyPool(this.policy.budget);
    return connection;
  }

  private fail(err: Error): void {
    this.stop();
    this.lifecycle.move("fail", err.message);
  }
}

/** Why the policy holds the connection back, in words (its `paused` is offline or other-tab then). */
const waitingFor = (policy: Policy): string => describeReason(policy.budget.paused!, policy.rules);

export function createWorker(options: WorkerOptions = {}): MotivusWorker {
  const worker = new WorkerController(resolveConfig(options));
  return {
    get state() {
      return worker.lifecycle.state;
    },
    get threads() {
      return worker.threads;
    },
    get running() {
      return worker.running;
    },
    on: (event, listener) => worker.events.on(event, listener),
    get budget() {
      return worker.policy.budget;
    },
    cacheStats: () => worker.dataLinks.stats(),
    threadedPrograms: globalThis.crossOriginIsolated === true,
    stop: () => worker.stop(),
    setThreads: (count: number) => worker.setThreads(count),
    setCpuShare: (share: number) => worker.setCpuShare(share),
    /** Resolves once connected, or once waiting for its turn (state `waiting`, the reason says why). */
    start: () => worker.start(),
  };
}

export { OptionsError, type WorkerOptions } from "./config.js";
export { ErrorCode, MotivusError } from "motivus-protocol";
export { describeBudget, describeReason, type Budget, type Reason } from "./policy/rules.js";
export type { CacheStats } from "./cache/data-links.js";
export type { Logger } from "./events.js";
export type { TaskEnded, TaskStarted } from "./pool/task-pool.js";
export { LoaderShape } from "./messages/runner.js";
