/**
 * Slots and the task lifecycle: offer a slot (`input_request`), run the task
 * that comes for it, answer, offer again. Abort ends a task at once with no
 * answer; a deadline, a crash or running out of memory end it with an error
 * answer; in every forced case the slot gets a fresh worker and keeps
 * working. Knows nothing about sockets or loaders.
 */
import * as Comlink from "comlink";
import { type Attachments, ErrorCode, type Input, MotivusError, type WorkerResult } from "motivus-protocol";
import type { BundleFiles } from "../cache/bundle-files.js";
import type { DataLinks } from "../cache/data-links.js";
import { consoleLogger, type Emitter, type Logger } from "../events.js";
import { restMs } from "../policy/rules.js";
import { checkOutcome, conclude, failureResult, type Ending } from "./ending.js";
import { BundleKeys } from "./bundle-keys.js";
import { prepareTask } from "./prepare.js";
import { Slot, type ForcedEnd, type Spawn } from "./slot.js";

/** More threads than one task's report may claim (Chromium starts far fewer workers per process). */
const MAX_REPORTED_THREADS = 256;

/** How long a task whose cluster did not answer for its own file waits to hear whether the connection went too. */
const UNREACHABLE_GRACE_MS = 2_000;

/** Where the pool's offers and answers go (the cluster connection). */
export interface Outbox {
  readonly joined: boolean;
  /** Result files may go back as bytes (the cluster reads binary frames). */
  readonly binaryFiles?: boolean;
  offer(tid: string): void;
  sendResult(result: WorkerResult, files?: Record<string, Uint8Array>): void;
}

export interface TaskStarted {
  tid: string;
}
export interface TaskEnded {
  tid: string;
  ms: number;
  /** False when the algorithm failed or the task was ended by force. */
  ok: boolean;
  error: string | null;
  /** Why it failed (`ErrorCode`), null when it did not. */
  code: ErrorCode | null;
  /** Whether an answer went to the cluster (not after an abort or a lost connection). */
  answered: boolean;
  shape: string | null;
}
export interface PoolEvents extends Record<string, unknown> {
  taskStarted: TaskStarted;
  taskFinished: TaskEnded;
  taskFailed: TaskEnded;
}

export interface PoolOptions {
  spawn: Spawn;
  outbox: Outbox;
  events: Emitter<PoolEvents>;
  deadlineMs: number;
  /** How long a program may take to reach its main (the runtime's start-up limit). */
  startupMs?: number;
  dataLinks: DataLinks;
  /** Where program files sent by reference come from; without it such a task is refused. */
  bundleFiles?: BundleFiles;
  /** Told of a task for a slot the pool does not hold and of a malformed task; the console by default. */
  logger?: Logger;
}

export class TaskPool {
  private slots: Slot[] = [];
  private target = 0;
  private stopped = false;
  private paused = false;
  private share = 1;
  /** Slots resting after a task (CPU share): offered again when their timer fires. */
  private readonly resting = new Map<Slot, ReturnType<typeof setTimeout>>();
  private readonly spawn: Spawn;
  private readonly outbox: Outbox;
  private readonly events: Emitter<PoolEvents>;
  private readonly deadlineMs: number;
  private readonly dataLinks: DataLinks;
  private readonly bundleFiles: BundleFiles | undefined;
  private readonly keys = new BundleKeys();
  private readonly startupMs: number;
  private readonly logger: Logger;

  constructor(options: PoolOptions) {
    ({
      spawn: this.spawn,
      outbox: this.outbox,
      events: this.events,
      deadlineMs: this.deadlineMs,
      dataLinks: this.dataLinks,
      bundleFiles: this.bundleFiles,
    } = options);
    this.startupMs = options.startupMs ?? 30_000;
    this.logger = options.logger ?? consoleLogger;
  }

  get threads(): number {
    return this.target;
  }

  get running(): number {
    return this.slots.filter((s) => s.state.name === "running").length;
  }

  /** Grow by fresh slots, or retire slots: idle ones at once, offered and running ones when their task ends. */
  setThreads(count: number): void {
    this.target = count;
    while (this.slots.length < count) {
      const slot = new Slot(this.spawn, (tid, count) => this.threadsStarted(slot, tid, count));
      this.slots.push(slot);
      this.offer(slot);
    }
    // An offered slot was promised to the cluster: it is kept until its task comes or the channel drops.
    for (const slot of this.slots.filter((s) => s.state.name === "idle")) this.settle(slot);
  }

  /**
   * Paused: no new offers. A slot already offered stays promised (the protocol has no way to take
   * an offer back), so the cluster may still send a task for it, and that task runs; running tasks finish.
   */
  setPaused(paused: boolean): void {
    if (paused === this.paused) return;
    this.paused = paused;
    if (!paused) for (const slot of this.slots.filter((s) => s.state.name === "idle")) this.settle(slot);
  }

  /** Busy fraction of each slot (0 < share ≤ 1): after a task of `busy` ms its slot rests busy × (1/share − 1) ms. */
  setShare(share: number): void {
    this.share = share;
  }

  /** The channel (re)joined: the cluster holds none of our offers, so every free slot offers with a new tid. */
  joined(): void {
    for (const slot of this.slots) if (slot.state.name !== "running") this.settle(slot, true);
  }

  /** The channel dropped: the cluster re-queues what we ran, so stop it without answering. */
  lost(): void {
    for (const slot of this.slots) {
      if (slot.state.name === "running") slot.state.force({ kind: "lost" });
      else if (slot.state.name === "offered") slot.state = { name: "idle" };
    }
  }

  /** `attached`: files that came beside the task in a binary frame. */
  input(input: Input, attached?: Attachments): void {
    const slot = this.offeredAs(input.tid);
    if (!slot) return this.logger.warn(`motivus: a task came for slot ${input.tid}, which this worker does not hold; ignored`);
    void this.run(slot, input, attached);
  }

  /** A task that failed validation still gets an answer, and its slot is offered again. */
  badInput(tid: string | null, reason: string): void {
    this.logger.warn(`motivus: ${reason}`);
    if (!tid) return;
    this.outbox.sendResult(failureResult(tid, reason, ErrorCode.refused));
    const slot = this.offeredAs(tid);
    if (slot) this.settle(slot, true);
  }

  abort(tid: string): void {
    const slot = this.slots.find((s) => s.state.name === "running" && s.state.tid === tid);
    if (slot?.state.name === "running") slot.state.force({ kind: "aborted" });
  }

  /** End everything; the pool is unusable afterwards. */
  stop(): void {
    this.stopped = true;
    for (const timer of this.resting.values()) clearTimeout(timer);
    this.resting.clear();
    for (const slot of this.slots) {
      if (slot.state.name === "running") slot.state.force({ kind: "lost" });
      slot.retire();
    }
    this.slots = [];
  }

  private offeredAs(tid: string): Slot | undefined {
    return this.slots.find((s) => s.state.name === "offered" && s.state.tid === tid);
  }

  private offer(slot: Slot): void {
    if (!this.outbox.joined || this.paused || this.resting.has(slot) || slot.state.name !== "idle") return;
    // The visitor's threads: slots offered or running, and the threads their programs started.
    if (this.threadsInUse() >= this.target) return;
    const tid = crypto.randomUUID();
    slot.state = { name: "offered", tid };
    this.outbox.offer(tid);
  }

  private threadsInUse(): number {
    return this.slots.reduce((sum, s) => sum + (s.state.name === "offered" || s.state.name === "running" ? 1 + s.threads : 0), 0);
  }

  /** The program of task `tid` started `count` threads (nested workers) in all. */
  private threadsStarted(slot: Slot, tid: string, count: unknown): void {
    // The worker's report is input like any other: of the task running now, a whole number, and no more than a worker could start.
    if (slot.state.name !== "running" || slot.state.tid !== tid) return;
    if (typeof count !== "number" || !Number.isInteger(count) || count < 0) return;
    slot.threads = Math.min(count, MAX_REPORTED_THREADS);
  }

  /** A slot that is free again: retired when the pool has more than it wants, else offered (afresh when `reoffer`). */
  private settle(slot: Slot, reoffer = false): void {
    if (reoffer || slot.state.name === "running") slot.state = { name: "idle" };
    // Retired slots leave `slots` at once, so its length is the slots still working.
    if (this.slots.length > this.target && slot.state.name === "idle") {
      clearTimeout(this.resting.get(slot));
      this.resting.delete(slot);
      slot.retire();
      this.slots = this.slots.filter((s) => s !== slot);
    } else this.offer(slot);
  }

  /** CPU share below 1: the slot sits out `busyMs × (1/share − 1)` (policy/rules.ts) before it is offered again. */
  private rest(slot: Slot, busyMs: number): void {
    const ms = restMs(busyMs, this.share);
    if (ms <= 0) return;
    this.resting.set(
      slot,
      setTimeout(() => {
        this.resting.delete(slot);
        if (!this.stopped && slot.state.name === "idle") this.settle(slot);
      }, ms),
    );
  }

  private async run(slot: Slot, input: Input, attached?: Attachments): Promise<void> {
    const { tid } = input;
    const started = performance.now();
    let force!: (end: ForcedEnd) => void;
    const forced = new Promise<ForcedEnd>((resolve) => (force = resolve));
    slot.state = { name: "running", tid, force };
    const running = this.execute(slot, input, attached, forced);
    // Listeners run on the page's main thread: tell them once the task is under way, not before.
    this.events.emit("taskStarted", { tid });
    const ending = await running;
    if (this.stopped) return;
    // Forced endings leave the worker in an unknown state; a worker that asks to retire holds what it cannot free.
    if ((ending.kind !== "done" && ending.kind !== "refused") || (ending.kind === "done" && ending.outcome.retire))
      slot.respawn();
    // An answer does not mean the worker's thread is free: the algorithm may have left it spinning.
    else if (ending.kind === "done") slot.check();

    const { answer, files, error, code, shape } = conclude(tid, ending, this.deadlineMs);
    const answered = answer !== null && this.outbox.joined;
    if (answered) this.outbox.sendResult(answer, files);
    const ended: TaskEnded = {
      tid,
      ms: Math.round(performance.now() - started),
      ok: error === null,
      error,
      code,
      answered,
      shape,
    };
    this.rest(slot, ended.ms);
    const heldBack = slot.threads > 0;
    slot.threads = 0;
    this.settle(slot);
    // Slots held back while its threads ran may be offered again.
    if (heldBack) for (const other of this.slots.filter((s) => s !== slot && s.state.name === "idle")) this.settle(other);
    this.events.emit(error === null ? "taskFinished" : "taskFailed", ended);
  }

  /**
   * The cluster did not answer for its own file. Its socket hears of a cluster that went away moments
   * later: the task is then lost with the connection (the cluster re-queues it). A cluster still
   * joined after that is up and cannot serve the file: a refusal.
   */
  private async unreachable(message: string, forced: Promise<ForcedEnd>): Promise<Ending> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const settled = new Promise<null>((ok) => (timer = setTimeout(() => ok(null), UNREACHABLE_GRACE_MS)));
    const end = await Promise.race([forced, settled]).finally(() => clearTimeout(timer));
    return end ?? (this.outbox.joined ? { kind: "refused", message } : { kind: "lost" });
  }

  private async execute(
    slot: Slot,
    input: Input,
    attached: Attachments | undefined,
    forced: Promise<ForcedEnd>,
  ): Promise<Ending> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let unwatch: (() => void) | undefined;
    try {
      // Before anything depends on what the worker holds: it showed itself idle after its last task, or was replaced.
      const early = await Promise.race([slot.idle.then(() => null), forced]);
      if (early) return early;
      const prepared = await Promise.race([
        prepareTask(
          input,
          {
            dataLinks: this.dataLinks,
            bundleFiles: this.bundleFiles,
            keys: this.keys,
            warm: slot.bundle,
            startupMs: this.startupMs,
            attachResults: this.outbox.binaryFiles === true,
          },
          attached,
        ),
        forced,
      ]);
      if ("kind" in prepared) return prepared;
      // Another algorithm ran here before: start from a worker it never touched (warm reuse is per algorithm).
      if (slot.bundle !== null && slot.bundle !== prepared.bundle) slot.respawn();
      slot.bundle = prepared.bundle;
      unwatch = slot.worker.watch?.();
      timer = setTimeout(() => slot.state.name === "running" && slot.state.force({ kind: "deadline" }), this.deadlineMs);
      const run = slot.runner.run(Comlink.transfer(prepared.task, prepared.transfer)).then(
        (reply): Ending => {
          // The worker also runs the algorithm's code: its reply is input like any other.
          const outcome = checkOutcome(reply);
          return outcome
            ? { kind: "done", outcome }
            : { kind: "crash", message: "its worker answered something that is not a task outcome" };
        },
        (err: Error): Ending => ({ kind: "crash", message: err?.message ?? String(err) }),
      );
      return await Promise.race([run, forced]);
    } catch (err) {
      if (err instanceof MotivusError && err.code === ErrorCode.lost) return this.unreachable(err.message, forced);
      // Only a refusal is the task's doing; anything else thrown here is a bug, and must not pass for one.
      if (err instanceof MotivusError && err.code === ErrorCode.refused) return { kind: "refused", message: err.message };
      return { kind: "fault", message: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
    } finally {
      clearTimeout(timer);
      unwatch?.();
    }
  }
}
