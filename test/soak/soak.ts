/**
 * The soak: a loopback cluster with simulated workers and headless browser workers, a driver
 * pushing thousands of real tasks through it while simulated workers are killed at random
 * (their running tasks re-queued), browser pages are closed and reopened, and the server is
 * closed and started again on the same port. Checks that every task is answered exactly once
 * with its own answer, and measures the memory of this process (server, driver and simulated
 * workers) and of every browser page (its main thread, its sandbox frame, the frame's Web
 * Workers) at the end of the warm-up and at the end, each time with nothing in flight.
 *
 * Both kinds of worker answer the same way: the browsers run the algorithm (wasm-bindgen), the
 * simulated workers compute the same value in Node; each task's answer is checked against its
 * own input.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { deflateSync, inflateSync } from "node:zlib";
import { chromium, type Browser, type BrowserContext, type CDPSession, type Page } from "playwright-core";
import { Client } from "../../packages/driver/src/client.js";
import { CHROMIUM_ARGS, chromiumPath } from "../../packages/loopback/src/browsers.js";
import type { SchedulerEvent } from "../../packages/loopback/src/scheduler.js";
import { startLoopback, type LoopbackServer, type LoopbackStats } from "../../packages/loopback/src/server.js";
import type { Input, ResultContent } from "motivus-protocol";
import { PhoenixWorker } from "../support/phoenix-worker.js";

const MiB = 1024 * 1024;

/**
 * "Flat": the end's heap (after forced full GCs, nothing in flight) at most 1.5 × the warm-up's
 * plus 8 MiB. Between two quiet points a heap still moves by a few MiB for reasons that are not
 * leaks (code compiled and optimised late, tables and arrays kept at their high-water capacity,
 * V8's caches, the second server after the restart), and a small isolate (a Web Worker's ~1 MiB)
 * can double that way: 8 MiB and the half absorb it. What it catches: this process's slack is
 * ~40 MiB, so over the full form's ~4,300 answers after the warm-up a retention of ~10 KiB per
 * answer fails it, and anything that keeps a task's frame (≥ 200 KiB: the wasm travels inline)
 * fails it in either form; a page's slack is ~9.5 MiB. Smaller retention shows in the figures
 * (growth per answer), not in the verdict.
 */
export const flatBound = (start: number): number => start * 1.5 + 8 * MiB;

export type AlgorithmName = "sql" | "flate";

interface Algorithm {
  /** What the figures call it. */
  label: string;
  wasm: string;
  loader: string;
  entry: string;
  params(i: number): unknown[];
  expected(i: number): unknown;
  /** What a simulated worker answers, computed from the task's params alone, as the browser computes it. */
  simulate(params: unknown[]): unknown;
}

const wb = fileURLToPath(new URL("../fixtures/wasm-bindgen/", import.meta.url));
const base64File = (path: string) => readFileSync(path).toString("base64");
const flateText = (i: number) => `soak task ${i}: ${"abc".repeat(i % 7)}`;

const ALGORITHMS: Record<AlgorithmName, () => Algorithm> = {
  /** sql_fmt (wasm-bindgen 0.2.99, `--target web`): `format("select 7", "q.sql")` is `"select\n  7"`. */
  sql: () => ({
    label: "sql_fmt format (wasm-bindgen --target web)",
    wasm: base64File(`${wb}/web/sql_fmt_bg.wasm`),
    loader: base64File(`${wb}/web/sql_fmt.js`),
    entry: "format",
    params: (i) => [`select ${i}`, "q.sql"],
    expected: (i) => `select\n  ${i}`,
    simulate: ([query]) => {
      const m = /^select (\d+)$/.exec(String(query));
      if (!m) throw new Error(`not a query of the soak: ${String(query).slice(0, 40)}`);
      return `select\n  ${m[1]}`;
    },
  }),
  /** wasm-flate (wasm-bindgen `--target no-modules`): `zlib_decode(base64 of zlib bytes)` is the inflated text. */
  flate: () => ({
    label: "wasm-flate zlib_decode (wasm-bindgen --target no-modules)",
    wasm: base64File(`${wb}/no-modules/wasm_flate_bg.wasm`),
    loader: base64File(`${wb}/no-modules/wasm_flate.js`),
    entry: "zlib_decode",
    params: (i) => [deflateSync(Buffer.from(flateText(i))).toString("base64")],
    expected: (i) => flateText(i),
    simulate: ([compressed]) => inflateSync(Buffer.from(String(compressed), "base64")).toString("utf8"),
  }),
};

export interface SoakOptions {
  /** Simulated workers (official phoenix client in this process), kept at this number. */
  workers: number;
  /** Headless Chromium pages, each the demo page as a worker with one thread. */
  browsers: number;
  tasks: number;
  /** After this many answers the server is closed and a new one started on the same port, once. Null: never. */
  restartAt?: number | null;
  /**
   * A simulated worker picked at random is killed this often (its socket closed or cut), and a fresh
   * one takes its place. Null: never. The cluster gives up on a task lost by `maxAttempts` (3)
   * workers, by design, and a page closed while running a task loses it too: the killer spares a
   * worker running a task on its second attempt or later (the scheduler's events say which).
   */
  killEveryMs?: number | null;
  /** After each of these answer counts a page is closed and a new one opened (never the first page when there are two or more). */
  reopenAt?: number[];
  /** The baseline of the memory figures is taken after this many answers. Default 10 % of `tasks`. */
  warmup?: number;
  /** Tasks the driver has in flight at most (each carries the ~200 KiB wasm inline). Default twice the slots. */
  window?: number;
  /** Slots per simulated worker. Default 1. */
  slots?: number;
  /**
   * A simulated worker takes between these many ms per task. Default [2, 20]. The cluster hands a task
   * to the least-loaded worker, round-robin on ties: while simulated workers have free slots a page
   * gets 1 task in (workers + browsers); slower ones keep them busy, and the pages then run as many
   * tasks as they can.
   */
  workMs?: [number, number];
  algorithm?: AlgorithmName;
  seed?: number;
  /** Give up (and say where it stood) after this long. Default 10 min. */
  timeoutMs?: number;
  /** Fail when no task was answered for this long while some are in flight (a task stuck on the cluster). Default 30 s. */
  stallMs?: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface IsolateHeap {
  /** `page`, `iframe` (the sandbox frame, when it has a process of its own), `worker`. */
  kind: string;
  usedBytes: number;
}

export interface PageHeap {
  main: number;
  frame: number;
  workers: number;
  total: number;
  isolates: IsolateHeap[];
}

export interface PageFigures {
  label: string;
  openedAfter: number;
  closedAfter: number | null;
  /** Tasks it finished and failed, from its own log; `unanswered`: ended without an answer by design (aborted by the cluster, connection lost). */
  done: number;
  failed: number;
  unanswered: number;
  heapStart: PageHeap | null;
  heapEnd: PageHeap | null;
  flat: boolean | null;
  /** Lines of its console other than per-task ones, and page errors. */
  notes: string[];
  /** When its worker last said it was running (joined). */
  runningAt: number;
}

export interface SoakFigures {
  algorithm: string;
  seed: number;
  workers: number;
  browsers: number;
  tasks: number;
  seconds: number;
  tasksPerSecond: number;
  /** CPU time of this process (server, driver, simulated workers) over the run. */
  cpuSeconds: number;
  /** How late this process's event loop ran (server, driver and simulated workers share it). */
  eventLoopDelayMs: { p99: number; max: number };
  /**
   * The driver's socket: times it opened again, and its closes by code and reason as phoenix reports
   * them (failed attempts included; a close phoenix tears down itself may go unreported).
   */
  driver: { reconnects: number; closes: Record<string, number> };
  /** Simulated workers whose socket closed without the soak closing it, by close code and reason. */
  simsClosedThemselves: Record<string, number>;
  /** Tasks whose promise resolved exactly once, with the right value. */
  answeredOnce: number;
  wrong: number;
  failed: number;
  failures: string[];
  /** Result frames the driver received (all, duplicates included); null if they could not be watched. */
  resultFrames: number | null;
  duplicateFrames: number | null;
  /** The cluster's counts, per server life. */
  lives: LoopbackStats[];
  done: number;
  requeued: number;
  kills: { total: number; closed: number; dropped: number; midTask: number };
  restarts: number;
  /** From closing the server: to the new one listening, and to every page's worker running again. */
  restartMs: { down: number; browsersBack: number | null } | null;
  pageReopens: number;
  /** This process (server, driver, simulated workers, Playwright's client); `answersBetween`: answers between the two measurements. */
  server: { heapStart: number; heapEnd: number; flat: boolean; rssStart: number; rssEnd: number; answersBetween: number };
  pages: PageFigures[];
  /** Log lines of the cluster worth a look (refusals, failures, give-ups with their story, anything unusual), at most 100. */
  notable: string[];
  /** Counts of the cluster's log lines by kind. */
  logKinds: Record<string, number>;
  /** Properties that failed, one sentence each; empty when the soak passed. */
  violations: string[];
}

// ---------------------------------------------------------------------------------------------
// Memory

let gcFunction: (() => void) | null = null;
function gc(): void {
  if (!gcFunction) {
    setFlagsFromString("--expose-gc");
    gcFunction = runInNewContext("gc") as () => void;
  }
  gcFunction();
}

async function processHeap(): Promise<{ heap: number; rss: number }> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  const usage = process.memoryUsage();
  return { heap: usage.heapUsed, rss: usage.rss };
}

type Send = (method: string, params?: object) => Promise<any>;

/**
 * One DevTools target under a page: the page itself, then what it auto-attaches (an out-of-process
 * frame, a Web Worker), recursively. Children are reached through their parent's session
 * (`Target.sendMessageToTarget`, non-flat), as Playwright's CDPSession has no child sessions.
 */
class DevtoolsTarget {
  readonly children = new Map<string, DevtoolsTarget>();
  private nextId = 1;
  private readonly waiting = new Map<number, { ok: (v: any) => void; fail: (e: Error) => void }>();

  constructor(
    readonly kind: string,
    private readonly sendRaw: Send,
  ) {}

  send(method: string, params: object = {}, timeoutMs = 10_000): Promise<any> {
    return new Promise((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`${method} on a ${this.kind} target took over ${timeoutMs} ms`)), timeoutMs);
      this.sendRaw(method, params).then(
        (v) => (clearTimeout(timer), ok(v)),
        (e: Error) => (clearTimeout(timer), fail(e)),
      );
    });
  }

  autoAttach(): Promise<unknown> {
    return this.send("Target.setAutoAttach", { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });
  }

  /** An event of this target's session. */
  event(method: string, params: any): void {
    if (method === "Target.attachedToTarget") {
      const sessionId: string = params.sessionId;
      const child: DevtoolsTarget = new DevtoolsTarget(params.targetInfo.type, (m, p) => child.viaParent(this, sessionId, m, p));
      this.children.set(sessionId, child);
      child.autoAttach().catch(() => {}); // a worker has no children; one that just ended answers nothing
    } else if (method === "Target.detachedFromTarget") {
      this.children.get(params.sessionId)?.detached();
      this.children.delete(params.sessionId);
    } else if (method === "Target.receivedMessageFromTarget") {
      const child = this.children.get(params.sessionId);
      if (!child) return;
      const message = JSON.parse(params.message);
      if (message.id === undefined) return child.event(message.method, message.params);
      const waiter = child.waiting.get(message.id);
      child.waiting.delete(message.id);
      if (message.error) waiter?.fail(new Error(message.error.message));
      else waiter?.ok(message.result);
    }
  }

  all(): DevtoolsTarget[] {
    return [this, ...[...this.children.values()].flatMap((c) => c.all())];
  }

  private viaParent(parent: DevtoolsTarget, sessionId: string, method: string, params: object = {}): Promise<any> {
    return new Promise((ok, fail) => {
      const id = this.nextId++;
      this.waiting.set(id, { ok, fail });
      parent
        .send("Target.sendMessageToTarget", { sessionId, message: JSON.stringify({ id, method, params }) })
        .catch((err: Error) => {
          this.waiting.delete(id);
          fail(err);
        });
    });
  }

  private detached(): void {
    for (const waiter of this.waiting.values()) waiter.fail(new Error(`the ${this.kind} target went away`));
    this.waiting.clear();
    for (const child of this.children.values()) child.detached();
  }
}

/** A page's JS heaps over DevTools: its own, its sandbox frame's (an out-of-process frame), each Web Worker's. */
class HeapProbe {
  private constructor(
    private readonly session: CDPSession,
    private readonly root: DevtoolsTarget,
  ) {}

  static async attach(page: Page): Promise<HeapProbe> {
    const session = await page.context().newCDPSession(page);
    const root = new DevtoolsTarget("page", (method, params) => session.send(method as never, params as never));
    for (const event of ["Target.attachedToTarget", "Target.detachedFromTarget", "Target.receivedMessageFromTarget"] as const) {
      session.on(event, (params: unknown) => root.event(event, params));
    }
    await root.autoAttach();
    return new HeapProbe(session, root);
  }

  /** Each isolate's used heap after a forced GC; a target that ends while being measured is left out. */
  async measure(): Promise<PageHeap> {
    const isolates: IsolateHeap[] = [];
    for (const target of this.root.all()) {
      try {
        await target.send("HeapProfiler.collectGarbage");
        await target.send("HeapProfiler.collectGarbage");
        const usage = await target.send("Runtime.getHeapUsage");
        isolates.push({ kind: target.kind, usedBytes: usage.usedSize });
      } catch {
        // gone meanwhile
      }
    }
    const sum = (kind: string) => isolates.filter((i) => i.kind === kind).reduce((n, i) => n + i.usedBytes, 0);
    const main = sum("page");
    const frame = sum("iframe");
    const workers = sum("worker");
    return { main, frame, workers, total: main + frame + workers, isolates };
  }

  detach(): Promise<void> {
    return this.session.detach().catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------
// The soak

interface Sim {
  worker: PhoenixWorker;
  /** Closed by the soak (killed, or its server restarted), not by itself. */
  killed: boolean;
  /** Tasks it is working on now. */
  busy: number;
}

interface OpenPage {
  page: Page;
  probe: HeapProbe;
  figures: PageFigures;
}

/** The parts of phoenix's Socket the soak watches. */
interface PhoenixSocket {
  onOpen(callback: () => void): unknown;
  onClose(callback: (event: { code?: number; reason?: string } | undefined) => void): unknown;
}
const closeReason = (event: { code?: number; reason?: string } | undefined) =>
  `${event?.code ?? "?"}${event?.reason ? ` ${event.reason}` : ""}`;

const tally = (items: string[]): Record<string, number> => {
  const counts: Record<string, number> = {};
  for (const item of items) counts[item] = (counts[item] ?? 0) + 1;
  return counts;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TASK_LINE = /task on slot \S+ (started|done in|failed)/;
/** Endings the protocol leaves unanswered (the cluster has the task again): not failures. */
const UNANSWERED = /failed: (aborted by the cluster|stopped: the connection to the cluster was lost)/;

/**
 * Counts each cluster log line by its kind and keeps the ones worth a look; for a task the cluster
 * gave up on, its whole story (from the last 4,000 lines: a few hundred tasks).
 */
class ClusterLog {
  readonly kinds: Record<string, number> = {};
  readonly notable: string[] = [];
  private readonly recent: string[] = new Array(4000).fill("");
  private next = 0;
  private life = 1;
  /** Set while the server is closing: its lines are marked. */
  closing = false;

  /** A new server: its task ids start at 1 again. */
  restarted(): void {
    this.life++;
    this.closing = false;
    this.recent.fill("");
  }

  readonly line = (text: string): void => {
    const line = this.closing ? `(while closing) ${text}` : text;
    const kind =
      /^task \d+ (queued|refused|dispatched|done|failed|aborted|re-queued|answered with an error)/.exec(text)?.[1] ??
      (/^result for slot .* ignored/.test(text) ? "ignored" : /^worker \w+ joined/.test(text) ? "joined" : "other");
    this.kinds[kind] = (this.kinds[kind] ?? 0) + 1;
    this.recent[this.next] = line;
    this.next = (this.next + 1) % this.recent.length;
    if (!["refused", "failed", "answered with an error", "other"].includes(kind) || this.notable.length >= 100) return;
    this.notable.push(`[server life ${this.life}] ${line}`);
    const id = /^task (\d+) answered with an error/.exec(text)?.[1];
    if (id === undefined) return;
    const ordered = [...this.recent.slice(this.next), ...this.recent.slice(0, this.next)];
    const story = new RegExp(`^(\\(while closing\\) )?task ${id} `);
    for (const earlier of ordered) if (story.test(earlier) && earlier !== line) this.notable.push(`    earlier: ${earlier}`);
  };
}

export async function soak(options: SoakOptions): Promise<SoakFigures> {
  const {
    workers: workerCount,
    browsers: browserCount,
    tasks,
    restartAt = null,
    killEveryMs = null,
    reopenAt = [],
    warmup = Math.max(1, Math.floor(tasks / 10)),
    slots = 1,
    workMs = [2, 20],
    algorithm: algorithmName = "sql",
    seed = 20240601,
    timeoutMs = 10 * 60_000,
    stallMs = 30_000,
    log = () => {},
  } = options;
  const window = options.window ?? Math.max(32, 2 * (workerCount * slots + browserCount));
  const algorithm = ALGORITHMS[algorithmName]();
  const deadline = Date.now() + timeoutMs;

  let state = seed >>> 0 || 1;
  const random = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };

  const clusterLog = new ClusterLog();
  const lives: LoopbackStats[] = [];
  let server: LoopbackServer = await startLoopback({ port: 0, log: clusterLog.line });
  const port = server.port;
  const origin = server.origin;
  const pageUrl = `${origin}/worker.html?autostart=1&threads=1`;

  // Simulated workers: kept at `workerCount`; each answers as the browser would, after `workMs` of "work".
  let life = 0;
  let sims: Sim[] = [];
  let starting = 0;
  const startSim = async (): Promise<void> => {
    const startedIn = life;
    starting++;
    const sim: Sim = { worker: null as unknown as PhoenixWorker, busy: 0, killed: false };
    try {
      sim.worker = await PhoenixWorker.start({
        origin,
        slots,
        handle: async (input: Input): Promise<ResultContent> => {
          sim.busy++;
          try {
            await sleep(workMs[0] + random() * (workMs[1] - workMs[0]));
            return { data: algorithm.simulate(input.body.params ?? []) };
          } catch (err) {
            return { error: `simulated worker: ${(err as Error).message}` };
          } finally {
            sim.busy--;
          }
        },
      });
      if (startedIn !== life) return sim.worker.kill(); // the server it joined is gone
      sims.push(sim);
      // A socket that closes by itself (phoenix's heartbeat timed out: no reply within 5 s) would come
      // back only after 60 s, without offering: counted, and replaced at once.
      (sim.worker as unknown as { socket: PhoenixSocket }).socket.onClose((event) => {
        if (sim.killed) return;
        sim.killed = true;
        simsClosedThemselves.push(closeReason(event));
        const at = sims.indexOf(sim);
        if (at >= 0) sims.splice(at, 1);
        sim.worker.kill();
      });
    } catch (err) {
      log(`a simulated worker could not start: ${(err as Error).message}`);
    } finally {
      starting--;
    }
  };
  const simsClosedThemselves: string[] = [];
  // The simulated workers keep every input they got; the soak needs none of them.
  const forgetInputs = () => sims.forEach((s) => (s.worker.inputs.length = 0));

  let browser: Browser | null = null;
  let client: Client | null = null;
  let killer: NodeJS.Timeout | undefined;
  let forgetter: NodeJS.Timeout | undefined;
  const pages: OpenPage[] = [];
  const closedPages: PageFigures[] = [];
  let settled = 0;
  let submitted = 0;
  let lastAnswerAt = Date.now();

  try {
    await Promise.all(Array.from({ length: workerCount }, startSim));

    browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS, headless: true });
    const context: BrowserContext = await browser.newContext();
    let pageSerial = 0;
    const openPage = async (): Promise<OpenPage> => {
      const label = `page ${++pageSerial}`;
      const page = await context.newPage();
      const figures: PageFigures = {
        label,
        openedAfter: settled,
        closedAfter: null,
        done: 0,
        failed: 0,
        unanswered: 0,
        heapStart: null,
        heapEnd: null,
        flat: null,
        notes: [],
        runningAt: 0,
      };
      const note = (text: string) => {
        if (figures.notes.length < 40) figures.notes.push(text);
        log(`${label}: ${text}`);
      };
      page.on("console", (msg) => {
        const text = msg.text();
        const task = TASK_LINE.exec(text)?.[1];
        if (task === "done in") figures.done++;
        else if (task === "failed" && UNANSWERED.test(text)) {
          figures.unanswered++;
          if (figures.unanswered <= 3) note(text);
        } else if (task === "failed") {
          figures.failed++;
          if (figures.failed <= 3) note(text);
        } else if (!task) {
          if (/worker running/.test(text)) figures.runningAt = Date.now();
          note(text);
        }
      });
      page.on("pageerror", (err) => note(`page error: ${err.message}`));
      page.on("crash", () => note("the page crashed"));
      await page.goto(pageUrl);
      const probe = await HeapProbe.attach(page);
      return { page, probe, figures };
    };
    for (let i = 0; i < browserCount; i++) pages.push(await openPage());

    const allJoined = () => server.stats().workers >= sims.length + pages.length && sims.length >= workerCount;
    // What runs where, from the scheduler's own events: the killer spares a worker running a task on its second or later attempt.
    const runningOn = new Map<number, { worker: string; attempts: number }>();
    const watch = (s: LoopbackServer) => {
      runningOn.clear();
      s.scheduler.on("event", (event: SchedulerEvent) => {
        if (event.kind === "dispatched") runningOn.set(event.task.id, { worker: event.worker, attempts: event.task.attempts });
        else if (event.kind === "done" || event.kind === "requeued" || event.kind === "aborted" || event.kind === "given-up")
          runningOn.delete(event.task.id);
      });
    };
    watch(server);
    const topicOf = (sim: Sim) => (sim.worker as unknown as { channel: { topic: string } }).channel.topic;
    /** What the pages said that was not about a task going well: where a stuck task usually shows. */
    const pageNotes = () =>
      [...closedPages, ...pages.map((p) => p.figures)].flatMap((p) =>
        p.notes
          .filter((n) => !/worker (connecting|running|reconnecting)/.test(n))
          .slice(-5)
          .map((n) => `${p.label}: ${n}`),
      );
    const where = () =>
      `${settled}/${tasks} answered, ${submitted - settled} in flight; cluster ${JSON.stringify(server.stats())}; the pages said: ${pageNotes().join(" | ") || "nothing"}`;
    /** No answer for `stallMs` with tasks in flight: a task the cluster holds as running that no worker runs. */
    const checkStall = () => {
      if (submitted > settled && Date.now() - lastAnswerAt > stallMs)
        throw new Error(`soak: no answer for ${stallMs / 1000} s: ${where()}`);
    };
    const waitFor = async (what: string, test: () => boolean, ms = 60_000) => {
      const until = Math.min(Date.now() + ms, deadline);
      while (!test()) {
        if (Date.now() > until) throw new Error(`soak: timed out waiting for ${what}: ${where()}`);
        checkStall();
        await sleep(20);
      }
    };
    await waitFor("the workers to join", () => allJoined() && server.stats().offered_slots >= workerCount * slots + browserCount);

    client = await Client.connect({ uri: server.driverUri, logDir: null });

    // The driver's socket, and every result frame it receives, by the ref of its task (phoenix allows
    // several handlers per event). Its internals are reached by name: nothing in src/ changes for this.
    const driverCloses: string[] = [];
    let driverReconnects = 0;
    const driverSocket = (client as unknown as { socket?: PhoenixSocket }).socket;
    driverSocket?.onOpen(() => driverReconnects++);
    driverSocket?.onClose((event) => driverCloses.push(closeReason(event)));
    const internals = client as unknown as {
      channel?: { on(event: string, fn: (payload: any) => void): unknown };
      tasks?: Map<number, { ref: string }>;
    };
    const refToTask = new Map<string, number>();
    const frames = new Int32Array(tasks);
    let resultFrames: number | null = null;
    let foreignFrames = 0;
    if (internals.channel && internals.tasks) {
      resultFrames = 0;
      internals.channel.on("result", (payload: { ref?: string }) => {
        resultFrames!++;
        const i = refToTask.get(String(payload?.ref));
        if (i === undefined) foreignFrames++;
        else frames[i]!++;
      });
    }

    const resolved = new Int32Array(tasks);
    const rejected = new Int32Array(tasks);
    const wrongTask = new Uint8Array(tasks);
    const wrong: string[] = [];
    const failures: string[] = [];
    let wrongCount = 0;
    let paused = false;
    const started = Date.now();
    const cpuStart = process.cpuUsage();
    const loopDelay = monitorEventLoopDelay({ resolution: 20 });
    loopDelay.enable();
    lastAnswerAt = Date.now();

    const submit = (i: number) => {
      const id = client!.callAsync({
        wasm: algorithm.wasm,
        loader: algorithm.loader,
        entry: algorithm.entry,
        params: algorithm.params(i),
      });
      const ref = internals.tasks?.get(id)?.ref;
      if (ref) refToTask.set(ref, i);
      client!.selectTask(id).then(
        (value) => {
          resolved[i]!++;
          settled++;
          lastAnswerAt = Date.now();
          const expected = algorithm.expected(i);
          if (value !== expected) {
            wrongCount++;
            wrongTask[i] = 1;
            if (wrong.length < 5)
              wrong.push(`task ${i}: got ${JSON.stringify(value)?.slice(0, 80)}, expected ${JSON.stringify(expected)}`);
          }
        },
        (err: Error) => {
          rejected[i]!++;
          settled++;
          lastAnswerAt = Date.now();
          if (failures.length < 5) failures.push(`task ${i}: ${err.message.slice(0, 300)}`);
        },
      );
    };
    const pump = () => {
      while (!paused && submitted < tasks && submitted - settled < window) submit(submitted++);
    };

    const quiet = async (what: string) => {
      paused = true;
      await waitFor(`${what}: the tasks in flight to be answered`, () => settled === submitted, 120_000);
      await waitFor(`${what}: the cluster to be idle`, () => server.stats().running === 0 && server.stats().queued === 0);
      forgetInputs();
    };
    const measure = async (): Promise<{ heap: number; rss: number; pages: (PageHeap | null)[] }> => {
      const heaps: (PageHeap | null)[] = [];
      for (const p of pages) heaps.push(await p.probe.measure().catch(() => null));
      return { ...(await processHeap()), pages: heaps };
    };

    // Killing: a simulated worker at random, its socket closed or cut; a fresh one takes its place.
    const kills = { total: 0, closed: 0, dropped: 0, midTask: 0 };
    let restarting = false;
    if (killEveryMs) {
      killer = setInterval(() => {
        if (paused || restarting) return;
        const spared = new Set<string>();
        for (const run of runningOn.values()) if (run.attempts > 1) spared.add(run.worker);
        const pool = sims.filter((s) => !spared.has(topicOf(s)));
        if (pool.length === 0) return;
        const victim = pool[Math.floor(random() * pool.length)]!;
        sims.splice(sims.indexOf(victim), 1);
        victim.killed = true;
        kills.total++;
        if (victim.busy > 0) kills.midTask++;
        if (random() < 0.5) {
          victim.worker.kill();
          kills.closed++;
        } else {
          victim.worker.drop();
          kills.dropped++;
        }
        void startSim();
      }, killEveryMs);
    }
    forgetter = setInterval(forgetInputs, 200);

    let baseline: Awaited<ReturnType<typeof measure>> | null = null;
    let baselineAt = 0;
    let restartMs: SoakFigures["restartMs"] = null;
    let restarts = 0;
    let reopens = 0;
    let reopenCursor = 0;
    const reopenPoints = [...reopenAt].sort((a, b) => a - b);

    const restart = async () => {
      restarting = true;
      await waitFor("simulated workers being started", () => starting === 0);
      log(`restart after ${settled} answers: closing the server`);
      const t0 = Date.now();
      for (const s of sims) s.killed = true;
      clusterLog.closing = true;
      await server.close();
      lives.push(server.stats());
      clusterLog.restarted();
      for (const s of sims) s.worker.kill(); // they would try again in 60 s; fresh ones join the new server
      sims = [];
      life++;
      let next: LoopbackServer | null = null;
      for (let attempt = 0; !next; attempt++) {
        try {
          next = await startLoopback({ port, log: clusterLog.line });
        } catch (err) {
          if (attempt >= 50) throw err;
          await sleep(100);
        }
      }
      server = next;
      watch(server);
      const down = Date.now() - t0;
      log(`restart: new server listening after ${down} ms`);
      await Promise.all(Array.from({ length: workerCount }, startSim));
      restarting = false;
      restarts++;
      restartMs = { down, browsersBack: null };
      const record = restartMs;
      const back = () => pages.every((p) => p.figures.runningAt > t0);
      void (async () => {
        while (!back() && Date.now() < deadline) await sleep(20);
        if (back()) record.browsersBack = Math.max(...pages.map((p) => p.figures.runningAt)) - t0;
      })();
    };

    const reopen = async () => {
      if (pages.length === 0) return;
      const index = pages.length > 1 ? 1 + (reopens % (pages.length - 1)) : 0;
      const old = pages[index]!;
      log(`reopen after ${settled} answers: closing ${old.figures.label}`);
      old.figures.closedAfter = settled;
      await old.probe.detach();
      await old.page.close();
      closedPages.push(old.figures);
      pages[index] = await openPage();
      reopens++;
    };

    // The run: keep the window full; at each milestone do what it says.
    let progressAt = Date.now();
    while (settled < tasks) {
      if (Date.now() - progressAt >= 5000) {
        progressAt = Date.now();
        const c = server.stats();
        log(
          `${settled}/${tasks} answered, ${submitted - settled} in flight; cluster: ${c.workers} workers, ${c.offered_slots} offered, ${c.running} running, ${c.queued} queued`,
        );
      }
      if (Date.now() > deadline) throw new Error(`soak: timed out after ${timeoutMs} ms: ${where()}`);
      checkStall();
      if (!baseline && settled >= warmup) {
        await quiet("warm-up");
        baseline = await measure();
        baselineAt = settled;
        pages.forEach((p, i) => (p.figures.heapStart = baseline!.pages[i] ?? null));
        log(`warm-up done after ${settled} answers: heap ${(baseline.heap / MiB).toFixed(1)} MiB`);
        paused = false;
        lastAnswerAt = Date.now(); // the measuring is no stall
      }
      if (restartAt !== null && restarts === 0 && settled >= restartAt) await restart();
      if (reopenCursor < reopenPoints.length && settled >= reopenPoints[reopenCursor]!) {
        reopenCursor++;
        await reopen();
      }
      if (!restarting) while (sims.length + starting < workerCount) void startSim();
      pump();
      await sleep(10);
    }
    const seconds = (Date.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuStart);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    loopDelay.disable();
    const eventLoopDelayMs = { p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 };

    clearInterval(killer);
    await quiet("the end");
    await sleep(300); // a duplicate result would have come by now
    const end = await measure();
    pages.forEach((p, i) => (p.figures.heapEnd = end.pages[i] ?? null));
    lives.push(server.stats());

    // The properties.
    const violations: string[] = [];
    let answeredOnce = 0;
    let notOnce = 0;
    for (let i = 0; i < tasks; i++) {
      if (resolved[i] !== 1 || rejected[i] !== 0) notOnce++;
      else if (!wrongTask[i]) answeredOnce++;
    }
    if (notOnce > 0)
      violations.push(
        `${notOnce} tasks were not answered with a value exactly once (${rejected.reduce((n, r) => n + r, 0)} rejected), e.g. ${failures.join(" | ")}`,
      );
    if (wrongCount > 0) violations.push(`${wrongCount} tasks resolved with another value than their own: ${wrong.join(" | ")}`);
    let duplicateFrames: number | null = null;
    if (resultFrames !== null) {
      duplicateFrames = 0;
      let missing = 0;
      for (let i = 0; i < tasks; i++) {
        if (frames[i]! > 1) duplicateFrames += frames[i]! - 1;
        if (frames[i] === 0) missing++;
      }
      if (duplicateFrames > 0)
        violations.push(`the driver received ${duplicateFrames} result frames more than once for the same task`);
      if (missing > 0) violations.push(`${missing} tasks resolved without a result frame for them`);
      if (foreignFrames > 0) violations.push(`${foreignFrames} result frames for no task of the driver`);
    }
    const done = lives.reduce((n, l) => n + l.done, 0);
    if (done < tasks) violations.push(`the cluster counted ${done} tasks done over its lives, fewer than the ${tasks} answered`);
    if (killEveryMs && kills.total === 0) violations.push("no simulated worker was killed");
    if (restartAt !== null && restarts !== 1) violations.push(`the server was restarted ${restarts} times, not once`);

    const serverFlat = end.heap <= flatBound(baseline!.heap);
    if (!serverFlat)
      violations.push(
        `this process's heap grew from ${(baseline!.heap / MiB).toFixed(1)} to ${(end.heap / MiB).toFixed(1)} MiB (bound ${(flatBound(baseline!.heap) / MiB).toFixed(1)})`,
      );
    for (const p of pages) {
      const { heapStart: a, heapEnd: b } = p.figures;
      if (!a || !b) continue;
      const parts = [
        ["main thread", a.main, b.main],
        ["sandbox frame", a.frame, b.frame],
        ["Web Workers", a.workers, b.workers],
        ["all", a.total, b.total],
      ] as const;
      p.figures.flat = parts.every(([, x, y]) => y <= flatBound(x));
      for (const [what, x, y] of parts) {
        if (y > flatBound(x))
          violations.push(
            `${p.figures.label}: the JS heap of its ${what} grew from ${(x / MiB).toFixed(2)} to ${(y / MiB).toFixed(2)} MiB (bound ${(flatBound(x) / MiB).toFixed(2)})`,
          );
      }
    }
    if (!pages.some((p) => p.figures.flat !== null) && browserCount > 0)
      violations.push("no page lived from the warm-up to the end: no page heap was compared");
    for (const p of [...closedPages, ...pages.map((x) => x.figures)]) {
      if (p.failed > 0)
        violations.push(
          `${p.label} reported ${p.failed} failed tasks, e.g. ${p.notes.find((n) => TASK_LINE.test(n) && !UNANSWERED.test(n)) ?? "(no line kept)"}`,
        );
    }

    return {
      algorithm: algorithm.label,
      seed,
      workers: workerCount,
      browsers: browserCount,
      tasks,
      seconds,
      tasksPerSecond: tasks / seconds,
      cpuSeconds,
      eventLoopDelayMs,
      driver: { reconnects: driverReconnects, closes: tally(driverCloses) },
      simsClosedThemselves: tally(simsClosedThemselves),
      answeredOnce,
      wrong: wrongCount,
      failed: rejected.reduce((n, r) => n + r, 0),
      failures,
      resultFrames,
      duplicateFrames,
      lives,
      done,
      requeued: lives.reduce((n, l) => n + l.requeued, 0),
      kills,
      restarts,
      restartMs,
      pageReopens: reopens,
      server: {
        heapStart: baseline!.heap,
        heapEnd: end.heap,
        flat: serverFlat,
        rssStart: baseline!.rss,
        rssEnd: end.rss,
        answersBetween: tasks - baselineAt,
      },
      pages: [...closedPages, ...pages.map((p) => p.figures)],
      notable: clusterLog.notable,
      logKinds: clusterLog.kinds,
      violations,
    };
  } finally {
    clearInterval(killer);
    clearInterval(forgetter);
    await client?.close().catch(() => {});
    for (const s of sims) s.worker.kill();
    await browser?.close().catch(() => {});
    await server.close().catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------
// The figures as a small table

const mib = (bytes: number | undefined | null) => (bytes == null ? "–" : `${(bytes / MiB).toFixed(2)}`);

export function formatFigures(f: SoakFigures): string {
  const rows: [string, string][] = [
    ["algorithm", f.algorithm],
    ["simulated workers / browser pages", `${f.workers} / ${f.browsers}`],
    [
      "tasks",
      `${f.tasks} in ${f.seconds.toFixed(1)} s: ${f.tasksPerSecond.toFixed(0)} tasks/s (this process: ${f.cpuSeconds.toFixed(1)} s of CPU)`,
    ],
    [
      "event loop delay (this process)",
      `p99 ${f.eventLoopDelayMs.p99.toFixed(0)} ms, max ${f.eventLoopDelayMs.max.toFixed(0)} ms`,
    ],
    ["answered once, right value", `${f.answeredOnce} / ${f.tasks} (wrong ${f.wrong}, failed ${f.failed})`],
    [
      "result frames at the driver",
      f.resultFrames === null ? "not watched" : `${f.resultFrames} (duplicates ${f.duplicateFrames})`,
    ],
    [
      "cluster done per life",
      `${f.lives.map((l) => l.done).join(" + ")} = ${f.done} (re-queued ${f.requeued}, given up ${f.lives.reduce((n, l) => n + l.lost, 0)}, refused ${f.lives.reduce((n, l) => n + l.refused, 0)})`,
    ],
    [
      "driver reconnects (socket closes)",
      `${f.driver.reconnects} (${
        Object.entries(f.driver.closes)
          .map(([k, n]) => `${n}× ${k}`)
          .join(", ") || "none"
      }; failed attempts included)`,
    ],
    [
      "simulated workers that closed by themselves",
      Object.entries(f.simsClosedThemselves)
        .map(([k, n]) => `${n}× ${k}`)
        .join(", ") || "none",
    ],
    [
      "cluster log lines by kind",
      Object.entries(f.logKinds)
        .map(([k, n]) => `${k} ${n}`)
        .join(", "),
    ],
    ["kills", `${f.kills.total} (${f.kills.midTask} mid-task; ${f.kills.closed} closed, ${f.kills.dropped} cut)`],
    [
      "restarts",
      f.restartMs
        ? `${f.restarts} (listening again after ${f.restartMs.down} ms, every page's worker running again after ${f.restartMs.browsersBack ?? "–"} ms)`
        : `${f.restarts}`,
    ],
    ["page reopens", `${f.pageReopens}`],
    [
      "this process: heap after GC (MiB)",
      `${mib(f.server.heapStart)} → ${mib(f.server.heapEnd)} (bound ${mib(flatBound(f.server.heapStart))}) ${f.server.flat ? "flat" : "GREW"}, ` +
        `${((f.server.heapEnd - f.server.heapStart) / Math.max(1, f.server.answersBetween) / 1024).toFixed(2)} KiB per answer; rss ${mib(f.server.rssStart)} → ${mib(f.server.rssEnd)}`,
    ],
  ];
  for (const p of f.pages) {
    const span = `answers ${p.openedAfter}–${p.closedAfter ?? "end"}: ${p.done} done, ${p.failed} failed, ${p.unanswered} unanswered`;
    const heap = (h: PageHeap | null) => (h ? `${mib(h.main)} + ${mib(h.frame)} + ${mib(h.workers)} = ${mib(h.total)}` : "–");
    rows.push([
      `${p.label} (${span})`,
      `JS heap main + frame + workers (MiB): ${heap(p.heapStart)} → ${heap(p.heapEnd)}${p.flat === null ? "" : p.flat ? " flat" : " GREW"}`,
    ]);
  }
  rows.push(["verdict", f.violations.length === 0 ? "every property holds" : `${f.violations.length} properties failed`]);
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`);
  for (const v of f.violations) lines.push(`  ✗ ${v}`);
  return lines.join("\n");
}
