/**
 * One processing slot: a Web Worker in the sandbox and the Comlink proxy of
 * its Runner, and where the slot is in its lifecycle. A slot outlives its
 * workers: ending a task by force (abort, deadline, crash) replaces the worker
 * and keeps the slot. A worker runs one algorithm only: what an algorithm
 * leaves in its worker's globals must not reach another algorithm's tasks.
 *
 *   idle ──offer──▶ offered(tid) ──input──▶ running(tid) ──ended──▶ idle
 *     └──────────────── retire (any state but running) ──────────────▶ retired
 */
import * as Comlink from "comlink";
import type { RunnerApi } from "../protocol/runner.js";
import type { SandboxedWorker } from "../sandbox/page/frame.js";

export type Spawn = () => SandboxedWorker;

/** How a task on a slot came to its end, when it was not a normal answer. */
export type ForcedEnd =
  | { kind: "deadline" }
  | { kind: "crash"; message: string }
  | { kind: "aborted" }
  | { kind: "lost" };

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

  constructor(private readonly spawn: Spawn) {
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

  retire(): void {
    this.state = { name: "retired" };
    this.worker.terminate();
  }

  private start(): void {
    this.bundle = null;
    this.worker = this.spawn();
    this.runner = Comlink.wrap<RunnerApi>(this.worker.port);
    const worker = this.worker;
    void worker.crashed.then((message) => {
      if (this.worker !== worker) return;
      if (this.state.name === "running") this.state.force({ kind: "crash", message });
      // A worker that died between tasks (its frame was replaced) is replaced before the next task comes.
      else if (this.state.name !== "retired") this.respawn();
    });
  }
}
