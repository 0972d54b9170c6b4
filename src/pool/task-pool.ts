/**
 * Slots and the task lifecycle: offer a slot (`input_request`), run the task
 * that comes for it, answer, offer again. Abort ends a task at once with no
 * answer; a deadline, a crash or running out of memory end it with an error
 * answer; in every forced case the slot gets a fresh worker and keeps
 * working. Knows nothing about sockets or loaders.
 */
import * as Comlink from "comlink";
import { encodeResultBody, toBase64 } from "../protocol/body.js";
import type { Input, WorkerResult } from "../protocol/cluster.js";
import { DataLinks } from "../cache/data-links.js";
import type { Emitter } from "../events.js";
import type { RunnerOutcome } from "../runtime/protocol.js";
import { prepareTask } from "./prepare.js";
import { Slot, type ForcedEnd, type Spawn } from "./slot.js";

/** Where the pool's offers and answers go (the cluster connection). */
export interface Outbox {
  readonly joined: boolean;
  offer(tid: string): void;
  sendResult(result: WorkerResult): void;
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
  /** Whether an answer went to the cluster (not after an abort or a lost connection). */
  answered: boolean;
  shape: string | null;
}
export interface PoolEvents extends Record<string, unknown> {
  taskStarted: TaskStarted;
  taskFinished: TaskEnded;
  taskFailed: TaskEnded;
}

const text = (s: string) => toBase64(new TextEncoder().encode(s));

/** An answer for a task that did not run to its end: the driver must still hear of it. */
export function failureResult(tid: string, error: string): WorkerResult {
  return { tid, type: "response", body: encodeResultBody({ error }), stdout: null, stderr: text(`${error}\n`), error };
}

type Ending = { kind: "done"; outcome: RunnerOutcome } | { kind: "refused"; message: string } | ForcedEnd;

export class TaskPool {
  private slots: Slot[] = [];
  private stopped = false;
  private readonly dataLinks = new DataLinks();

  constructor(
    private readonly spawn: Spawn,
    private readonly outbox: Outbox,
    private readonly events: Emitter<PoolEvents>,
    private readonly deadlineMs: number,
  ) {}

  get threads(): number {
    return this.slots.filter((s) => !s.retiring).length;
  }

  get running(): number {
    return this.slots.filter((s) => s.running).length;
  }

  /** Grow by fresh slots, or retire slots (free ones at once, busy ones after their task). */
  setThreads(count: number): void {
    while (this.threads < count) {
      const slot = new Slot(this.spawn);
      this.slots.push(slot);
      this.offer(slot);
    }
    for (const slot of this.slots.filter((s) => !s.retiring).slice(count)) {
      slot.retiring = true;
      // An offered slot was promised to the cluster: keep it until its task comes or the channel drops.
      if (!slot.running && slot.tid === null) this.retire(slot);
    }
  }

  /** The channel (re)joined: the cluster holds none of our offers, so every free slot offers with a new tid. */
  joined(): void {
    for (const slot of this.slots) {
      if (slot.running) continue;
      slot.tid = null;
      if (slot.retiring) this.retire(slot);
      else this.offer(slot);
    }
  }

  /** The channel dropped: the cluster re-queues what we ran, so stop it without answering. */
  lost(): void {
    for (const slot of this.slots) {
      if (slot.running) slot.force?.({ kind: "lost" });
      else slot.tid = null;
    }
  }

  input(input: Input): void {
    const slot = this.slots.find((s) => s.tid === input.tid && !s.running);
    if (!slot) return console.warn(`motivus: a task came for slot ${input.tid}, which this worker does not hold; ignored`);
    void this.run(slot, input);
  }

  /** A task that failed validation still gets an answer, and its slot is offered again. */
  badInput(tid: string | null, reason: string): void {
    console.warn(`motivus: ${reason}`);
    if (!tid) return;
    this.outbox.sendResult(failureResult(tid, reason));
    const slot = this.slots.find((s) => s.tid === tid && !s.running);
    if (slot) this.reoffer(slot);
  }

  abort(tid: string): void {
    this.slots.find((s) => s.tid === tid && s.running)?.force?.({ kind: "aborted" });
  }

  /** End everything; the pool is unusable afterwards. */
  stop(): void {
    this.stopped = true;
    for (const slot of this.slots) {
      slot.force?.({ kind: "lost" });
      slot.dispose();
    }
    this.slots = [];
  }

  private offer(slot: Slot): void {
    if (!this.outbox.joined || slot.running || slot.tid !== null) return;
    slot.tid = crypto.randomUUID();
    this.outbox.offer(slot.tid);
  }

  private reoffer(slot: Slot): void {
    slot.tid = null;
    if (slot.retiring) this.retire(slot);
    else this.offer(slot);
  }

  private retire(slot: Slot): void {
    slot.dispose();
    this.slots = this.slots.filter((s) => s !== slot);
  }

  private async run(slot: Slot, input: Input): Promise<void> {
    const { tid } = input;
    slot.running = true;
    const started = performance.now();
    const running = this.execute(slot, input);
    // Listeners run on the page's main thread: tell them once the task is under way, not before.
    this.events.emit("taskStarted", { tid });
    const ending = await running;
    slot.running = false;
    slot.force = null;
    if (this.stopped) return;
    if (ending.kind !== "done" && ending.kind !== "refused") slot.respawn();

    let error: string | null = null;
    let answer: WorkerResult | null = null;
    let shape: string | null = null;
    switch (ending.kind) {
      case "done":
        ({ error, shape } = ending.outcome);
        answer = { tid, type: "response", body: ending.outcome.body, stdout: ending.outcome.stdout, stderr: ending.outcome.stderr, error };
        break;
      case "refused":
        error = ending.message;
        break;
      case "deadline":
        error = `the task ran past its deadline of ${Math.round(this.deadlineMs / 1000)} s and was stopped`;
        break;
      case "crash":
        error = `the algorithm's worker crashed (${ending.message}); it may have run out of memory`;
        break;
      case "aborted":
        error = "aborted by the cluster";
        break;
      case "lost":
        error = "stopped: the connection to the cluster was lost";
        break;
    }
    if (!answer && error && ending.kind !== "aborted" && ending.kind !== "lost") answer = failureResult(tid, error);
    if (answer && this.outbox.joined) this.outbox.sendResult(answer);
    const ended: TaskEnded = { tid, ms: Math.round(performance.now() - started), ok: error === null, error, answered: !!answer, shape };
    this.reoffer(slot);
    this.events.emit(error === null ? "taskFinished" : "taskFailed", ended);
  }

  private async execute(slot: Slot, input: Input): Promise<Ending> {
    const forced = new Promise<ForcedEnd>((resolve) => (slot.force = resolve));
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const prepared = await Promise.race([prepareTask(input, this.dataLinks), forced]);
      if ("kind" in prepared) return prepared;
      // Another algorithm ran here before: start from a worker it never touched (warm reuse is per algorithm).
      if (slot.bundle !== null && slot.bundle !== prepared.bundle) slot.respawn();
      slot.bundle = prepared.bundle;
      timer = setTimeout(() => slot.force?.({ kind: "deadline" }), this.deadlineMs);
      const run = slot.runner.run(Comlink.transfer(prepared.task, prepared.transfer)).then(
        (outcome): Ending => ({ kind: "done", outcome }),
        (err: Error): Ending => ({ kind: "crash", message: err?.message ?? String(err) }),
      );
      return await Promise.race([run, forced]);
    } catch (err) {
      return { kind: "refused", message: (err as Error).message };
    } finally {
      clearTimeout(timer);
    }
  }
}
