/**
 * The loopback cluster's task bookkeeping: a FIFO queue of tasks, a FIFO
 * queue of offered slots, and the tasks running on a slot. Knows nothing of
 * sockets: a channel is a `Peer` it can push events to.
 *
 * Invariants: a task is in exactly one place (queue, running, or gone); a
 * result is delivered only for a task still running on that very slot, so a
 * late or repeated result is ignored and never reaches a driver twice.
 */
import { EventEmitter } from "node:events";
import { ClientEvent, WorkerEvent, type ClusterCounts, type TaskPush, type WorkerResult } from "../protocol/cluster.js";

export interface Peer {
  /** The channel topic, unique per joined channel. */
  readonly topic: string;
  push(event: string, payload: unknown): void;
}

export interface Task {
  readonly id: number;
  readonly driver: Peer;
  readonly push: TaskPush;
  queuedAt: number;
  dispatchedAt?: number;
  attempts: number;
  slot?: Slot;
}

interface Slot {
  readonly worker: Peer;
  readonly tid: string;
}

export type SchedulerEvent =
  | { kind: "queued"; task: Task }
  | { kind: "dispatched"; task: Task; worker: string; tid: string }
  | { kind: "done"; task: Task; worker: string; ms: number; error: string | null }
  | { kind: "aborted"; task: Task; reason: string }
  | { kind: "requeued"; task: Task; worker: string }
  | { kind: "ignored"; worker: string; tid: string; reason: string };

/** The scheduler's part of the cluster's statistics. */
export type SchedulerCounts = Omit<ClusterCounts, "drivers" | "workers">;

const slotKey = (worker: Peer, tid: string) => `${worker.topic}\u0000${tid}`;

export class Scheduler extends EventEmitter<{ event: [SchedulerEvent] }> {
  private nextId = 1;
  private queue: Task[] = [];
  private slots: Slot[] = [];
  private running = new Map<string, Task>();
  private totals = { done: 0, failed: 0, aborted: 0, requeued: 0 };

  /** A driver's `task` push: queue it, then match. */
  submit(driver: Peer, push: TaskPush): Task {
    const task: Task = { id: this.nextId++, driver, push, queuedAt: Date.now(), attempts: 0 };
    this.queue.push(task);
    this.emit("event", { kind: "queued", task });
    this.match();
    return task;
  }

  /** A worker's `input_request`: one more free slot. Duplicates are ignored. */
  offer(worker: Peer, tid: string): void {
    const key = slotKey(worker, tid);
    if (this.running.has(key) || this.slots.some((s) => slotKey(s.worker, s.tid) === key)) return;
    this.slots.push({ worker, tid });
    this.match();
  }

  /** A worker's `result`. Returns whether it was delivered. */
  complete(worker: Peer, result: WorkerResult): boolean {
    const key = slotKey(worker, result.tid);
    const task = this.running.get(key);
    if (!task) {
      this.emit("event", { kind: "ignored", worker: worker.topic, tid: result.tid, reason: "no task runs on that slot" });
      return false;
    }
    this.running.delete(key);
    this.totals.done++;
    if (result.error) this.totals.failed++;
    task.driver.push(ClientEvent.result, {
      type: "response",
      body: result.body,
      stdout: result.stdout ?? null,
      stderr: result.stderr ?? null,
      ref: task.push.ref,
      task_id: task.id,
    });
    const ms = Date.now() - (task.dispatchedAt ?? task.queuedAt);
    this.emit("event", { kind: "done", task, worker: worker.topic, ms, error: result.error ?? null });
    return true;
  }

  /** A driver's channel closed: drop its queued tasks, abort its running ones. */
  driverLeft(driver: Peer): void {
    const mine = (t: Task) => t.driver === driver;
    for (const task of this.queue.filter(mine)) this.abort(task, "driver left before it ran");
    this.queue = this.queue.filter((t) => !mine(t));
    for (const [key, task] of this.running) {
      if (!mine(task) || !task.slot) continue;
      this.running.delete(key);
      task.slot.worker.push(WorkerEvent.abortTask, { tid: task.slot.tid });
      this.abort(task, "driver left while it ran");
    }
  }

  /** A worker's channel closed: forget its slots, re-queue its running tasks first in line. */
  workerLeft(worker: Peer): void {
    this.slots = this.slots.filter((s) => s.worker !== worker);
    const orphans: Task[] = [];
    for (const [key, task] of this.running) {
      if (task.slot?.worker !== worker) continue;
      this.running.delete(key);
      delete task.slot;
      orphans.push(task);
    }
    orphans.sort((a, b) => a.id - b.id);
    for (const task of orphans) {
      this.totals.requeued++;
      this.emit("event", { kind: "requeued", task, worker: worker.topic });
    }
    this.queue.unshift(...orphans);
    this.match();
  }

  counts(): SchedulerCounts {
    return {
      queued: this.queue.length,
      running: this.running.size,
      offered_slots: this.slots.length,
      ...this.totals,
    };
  }

  private abort(task: Task, reason: string): void {
    this.totals.aborted++;
    this.emit("event", { kind: "aborted", task, reason });
  }

  private match(): void {
    while (this.queue.length > 0 && this.slots.length > 0) {
      const task = this.queue.shift()!;
      const slot = this.slots.shift()!;
      task.slot = slot;
      task.attempts++;
      task.dispatchedAt = Date.now();
      this.running.set(slotKey(slot.worker, slot.tid), task);
      slot.worker.push(WorkerEvent.input, { tid: slot.tid, type: task.push.type, body: task.push.body });
      this.emit("event", { kind: "dispatched", task, worker: slot.worker.topic, tid: slot.tid });
    }
  }
}
