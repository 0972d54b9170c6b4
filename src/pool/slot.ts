/**
 * One processing slot: a Web Worker in the sandbox and the Comlink proxy of
 * its Runner. A slot outlives its workers: ending a task by force (abort,
 * deadline, crash) replaces the worker and keeps the slot. A worker runs one
 * algorithm only: what an algorithm leaves in its worker's globals must not
 * reach another algorithm's tasks.
 */
import * as Comlink from "comlink";
import type { RunnerApi } from "../runtime/protocol.js";
import type { SandboxedWorker } from "../sandbox/frame.js";

export type Spawn = () => SandboxedWorker;

/** How a task on a slot came to its end, when it was not a normal answer. */
export type ForcedEnd =
  | { kind: "deadline" }
  | { kind: "crash"; message: string }
  | { kind: "aborted" }
  | { kind: "lost" };

export class Slot {
  worker!: SandboxedWorker;
  runner!: Comlink.Remote<RunnerApi>;
  /** The tid this slot is offered or running under; null when neither. */
  tid: string | null = null;
  running = false;
  /** Retire after the current task instead of offering again. */
  retiring = false;
  /** The algorithm the current worker has run (see `prepareTask`); null for a fresh worker. */
  bundle: string | null = null;
  /** Ends the running task by force; set while a task runs. */
  force: ((end: ForcedEnd) => void) | null = null;

  constructor(private readonly spawn: Spawn) {
    this.start();
  }

  /** Replace the worker (the old one may be stuck in an endless loop). */
  respawn(): void {
    this.worker.terminate();
    this.start();
  }

  dispose(): void {
    this.worker.terminate();
  }

  private start(): void {
    this.bundle = null;
    this.worker = this.spawn();
    this.runner = Comlink.wrap<RunnerApi>(this.worker.port);
    const worker = this.worker;
    void worker.crashed.then((message) => {
      if (this.worker === worker) this.force?.({ kind: "crash", message });
    });
  }
}
