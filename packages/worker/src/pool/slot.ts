/**
 * One processing slot: a Web Worker in the sandbox and the Comlink proxy of
 * its Runner, and where the slot is in its lifecycle. A slot outlives its
 * workers: ending a task by force (abort, deadline, crash) replaces the worker
 * and keeps the slot. A worker runs one algorithm only: what an algorithm
 * leaves in its worker's globals must not reach another algorithm's tasks.
 * After an answer the worker must be free again: one whose thread an algorithm
 * left spinning (microtasks that never yield) is found out and replaced before
 * the slot's next task reaches it (`check`).
 *
 *   idle ──offer──▶ offered(tid) ──input──▶ running(tid) ──ended──▶ idle
 *     └──────────────── retire (any state but running) ──────────────▶ retired
 */
import * as Comlink from "comlink";
import type { RunnerApi, RunnerNote } from "../messages/runner.js";
import type { SandboxedWorker } from "../sandbox/page/frame.js";

export type Spawn = () => SandboxedWorker;

/**
 * How long a worker has, after an answer, to say it is idle: an idle worker says so within a turn of
 * its event loop; one that does not is busy with what its algorithm left (see `check`).
 */
export const IDLE_CHECK_MS = 1_000;

/** How a task on a slot came to its end, when it was not a normal answer. */
export type ForcedEnd = { kind: "deadline" } | { kind: "crash"; message: string } | { kind: "aborted" } | { kind: "lost" };

export type SlotState =
  | { name: "idle" }
  /** Offered to the cluster under `tid`; the cluster may send a task for it any time. */
  | { name: "offered"; tid: string }
  /** A task runs; `force` ends it at once. */
  | { name: "running"; tid: string; force: (end: ForcedEnd) => void }
  | { name: "retired" };

export class Slot {
  state: SlotState = { name: "idle" };
  worker!: SandboxedWorker;
  runner!: Comlink.Remote<RunnerApi>;
  /** The algorithm the current worker has run (see `prepareTask`); null for a fresh worker. */
  bundle: string | null = null;
  /** Threads the running task has started besides its own (a -pthread program's): they count against the budget. */
  threads = 0;
  /** Settles once the worker has shown it is idle after its last task, or was replaced (`check`). */
  idle: Promise<void> = Promise.resolve();
  /** The current worker's answers checked, and the idle notes it sent (RunnerNote). */
  private answers = 0;
  private idleNotes = 0;
  /** The `check` waiting for a note (one at a time: a slot's next task waits for `idle`). */
  private idleWaiter: (() => void) | null = null;

  /** `threadsStarted`: a task of this slot's worker says how many threads it has started. */
  constructor(
    private readonly spawn: Spawn,
    private readonly threadsStarted: (tid: string, count: unknown) => void = () => {},
  ) {
    this.start();
  }

  /** The tid the slot is offered or running under. */
  get tid(): string | null {
    return this.state.name === "offered" || this.state.name === "running" ? this.state.tid : null;
  }

  /** Replace the worker (the old one may be stuck in an endless loop). */
  respawn(): void {
    this.worker.terminate();
    this.start();
  }

  /**
   * After an answer: waits for the worker's idle note, which it sends a turn of its event loop after
   * each answer, and replaces a worker that does not send it within `limitMs`. A thread an algorithm
   * left spinning in microtasks never gets there; it would spend the visitor's CPU and hold up the
   * slot's next task until that task's deadline. The next task waits for `idle`; in the normal case
   * the note has long arrived by the time a task comes. (A note, not a question: one message per
   * task between the page and the sandbox's process instead of two.)
   */
  check(limitMs = IDLE_CHECK_MS): void {
    const worker = this.worker;
    const answer = ++this.answers;
    let ok!: (yes: boolean) => void;
    const answered = new Promise<boolean>((resolve) => (ok = resolve));
    const timer = setTimeout(() => ok(false), limitMs);
    const waiter = () => void (this.idleNotes >= answer && ok(true));
    this.idleWaiter = waiter;
    waiter();
    this.idle = answered.then((yes) => {
      clearTimeout(timer);
      if (this.idleWaiter === waiter) this.idleWaiter = null;
      if (!yes && this.worker === worker && this.state.name !== "retired") this.respawn();
    });
  }

  /** A note of the worker's (Comlink's replies carry an `id` and are not ours). It runs algorithms: checked like any input. */
  private heard(data: unknown): void {
    const note = data as Partial<RunnerNote & { id: unknown }> | null;
    if (!note || typeof note !== "object" || "id" in note) return;
    if (note.note === "idle") {
      this.idleNotes++;
      this.idleWaiter?.();
    } else if (note.note === "threads" && typeof note.tid === "string") this.threadsStarted(note.tid, note.count);
  }

  retire(): void {
    this.state = { name: "retired" };
    this.worker.terminate();
  }

  private start(): void {
    this.bundle = null;
    this.idle = Promise.resolve();
    this.answers = this.idleNotes = 0;
    this.idleWaiter = null;
    const worker = this.spawn();
    this.worker = worker;
    // A replaced worker's late notes are not the new one's (its port is closed too).
    worker.port.addEventListener("message", (event: MessageEvent<unknown>) => this.worker === worker && this.heard(event.data));
    this.runner = Comlink.wrap<RunnerApi>(worker.port);
    worker.port.start();
    void worker.crashed.then((message) => {
      if (this.worker !== worker) return;
      if (this.state.name === "running") this.state.force({ kind: "crash", message });
      // A worker that died between tasks (its frame was replaced) is replaced before the next task comes.
      else if (this.state.name !== "retired") this.respawn();
    });
  }
}
