/**
 * The loopback cluster's task bookkeeping: the queue (task-queue.ts), the
 * worker channels' slots (worker-slots.ts), and the tasks running on a slot.
 * Knows nothing of sockets: a channel is a `Peer` it can push events to.
 *
 * Invariants: a task is in exactly one place (queue, running on one slot of
 * one channel, or gone); a result is delivered only for a task still running
 * on that very slot of that very channel, so a late, repeated or foreign
 * result is ignored and never reaches a driver twice. Every task a driver
 * sent is answered, by its worker or by the cluster: a refusal at
 * submission, or giving up after `maxAttempts` workers lost it, reaches the
 * driver as a `result` with an error body (the published Python client reads
 * no replies, so a reply alone would leave it waiting for ever).
 */
import { EventEmitter } from "node:events";
import {
  AttachedField,
  type Attachments,
  ClientEvent,
  type ClusterCounts,
  ErrorCode,
  failureAnswer,
  inlinePreloadFiles,
  type TaskPush,
  WorkerEvent,
  type WorkerResult,
} from "motivus-protocol";
import { refusal } from "./admission.js";
import { resultBodyWithFiles } from "./result-files.js";
import { BundleStore } from "./bundle-store.js";
import { DEFAULT_LIMITS, type Limits } from "./limits.js";
import type { Peer, Task } from "./task.js";
import { TaskQueue } from "./task-queue.js";
import { WorkerChannels, type Offer } from "./worker-slots.js";

export type { Peer, Task } from "./task.js";

export type SchedulerEvent =
  | { kind: "queued"; task: Task }
  | { kind: "refused"; task: Task; reason: string }
  | { kind: "dispatched"; task: Task; worker: string; tid: string }
  | { kind: "done"; task: Task; worker: string; ms: number; error: string | null }
  | { kind: "aborted"; task: Task; reason: string }
  | { kind: "requeued"; task: Task; worker: string; why: string }
  | { kind: "given-up"; task: Task; reason: string }
  | { kind: "ignored"; worker: string; tid: string; reason: string }
  | { kind: "slots-full"; worker: string; max: number }
  /** Something went wrong inside the scheduler; logged, never fatal. */
  | { kind: "failure"; what: string; error: Error };

/** The scheduler's part of the cluster's statistics; `refused` and `lost` are the loopback's own. */
export type SchedulerCounts = Omit<ClusterCounts, "drivers" | "workers"> & { refused: number; lost: number };

/** What `submit` did with a task. */
export type Submission = { task: Task; refused: null } | { task: Task; refused: string };

export class Scheduler extends EventEmitter<{ event: [SchedulerEvent] }> {
  private stopped = false;
  private nextId = 1;
  private readonly queue = new TaskQueue();
  private readonly workers: WorkerChannels;
  private readonly holding = { tasks: 0, bytes: 0 };
  private readonly totals = { done: 0, failed: 0, aborted: 0, requeued: 0, refused: 0, lost: 0 };

  /** `bundles`: where the tasks' inline files are kept while they are in the cluster. */
  constructor(
    private readonly limits: Limits = { ...DEFAULT_LIMITS },
    readonly bundles = new BundleStore(limits.maxStoredBundleBytes),
  ) {
    super();
    this.workers = new WorkerChannels(limits.maxSlotsPerWorker);
  }

  /**
   * A driver's `task` push (`bytes`: its frame's length; `attached`: its preload files, when they came
   * as bytes): queued and matched, or refused (admission.ts), in which case the driver already has its error result.
   */
  submit(driver: Peer, push: TaskPush, bytes: number, attached?: Attachments): Submission {
    const task: Task = {
      id: this.nextId++,
      driver,
      push,
      bytes,
      queuedAt: Date.now(),
      attempts: 0,
      ...(attached ? { attached } : {}),
    };
    // Inline files decoded and hashed once, here: re-queues and re-dispatches reuse it. A reference
    // to a file the store does not hold is refused here, not when a worker fails to fetch it.
    const files = refusal(push.body, bytes, this.holding, this.limits) ?? this.bundles.hold(push.body);
    if (typeof files === "string") {
      this.totals.refused++;
      this.emit("event", { kind: "refused", task, reason: files });
      this.answerWithError(task, files, ErrorCode.refused);
      return { task, refused: files };
    }
    this.holding.tasks++;
    this.holding.bytes += bytes;
    task.files = files;
    this.queue.add(task);
    this.emit("event", { kind: "queued", task });
    this.match();
    return { task, refused: null };
  }

  /** A worker's `input_request`: one more free slot, unless its channel holds `maxSlotsPerWorker` already. */
  offer(worker: Peer, tid: string): Offer {
    const offer = this.workers.offer(worker, tid);
    if (offer === "full") {
      const slots = this.workers.get(worker)!;
      if (!slots.toldFull) this.emit("event", { kind: "slots-full", worker: worker.topic, max: this.limits.maxSlotsPerWorker });
      slots.toldFull = true;
    }
    if (offer === "offered") this.match();
    return offer;
  }

  /** A worker's `result` (`attached`: its result files, when they came as bytes). Returns whether it was delivered. */
  complete(worker: Peer, result: WorkerResult, attached?: Attachments): boolean {
    const task = this.workers.get(worker)?.running.get(result.tid);
    if (!task) {
      this.emit("event", {
        kind: "ignored",
        worker: worker.topic,
        tid: result.tid,
        reason: "no task of this channel runs on that slot",
      });
      return false;
    }
    this.release(task);
    this.totals.done++;
    if (result.error) this.totals.failed++;
    this.answer(task, result, attached?.[AttachedField.result]);
    const ms = Date.now() - (task.dispatchedAt ?? task.queuedAt);
    this.emit("event", { kind: "done", task, worker: worker.topic, ms, error: result.error ?? null });
    return true;
  }

  /**
   * The cluster is closing: nothing is matched, aborted, re-queued or given up any more. Its drivers
   * re-send what they wait for to the next cluster; failing their tasks on the way out (re-queued to
   * workers that are closing too, until "lost by 3 workers") would be wrong.
   */
  stop(): void {
    this.stopped = true;
    // Its lease timers would otherwise keep every running task (and through them the whole closed
    // cluster) in memory for up to `leaseMs`.
    for (const worker of this.workers.all()) for (const task of worker.running.values()) clearTimeout(task.run?.lease);
  }

  /** A driver's channel closed: drop its queued tasks, abort its running ones. */
  driverLeft(driver: Peer): void {
    if (this.stopped) return;
    for (const task of this.queue.removeWhere((t) => t.driver === driver)) {
      this.forget(task);
      this.abort(task, "driver left before it ran");
    }
    for (const worker of this.workers.all()) {
      for (const task of [...worker.running.values()]) {
        if (task.driver !== driver || !task.run) continue;
        const { tid } = task.run;
        this.release(task);
        worker.peer.push(WorkerEvent.abortTask, { tid });
        this.abort(task, "driver left while it ran");
      }
    }
  }

  /** A worker's channel closed: forget its slots, put its running tasks back first in line (or give up on them). */
  workerLeft(worker: Peer): void {
    if (this.stopped) return;
    const slots = this.workers.remove(worker);
    if (!slots) return;
    const orphans = [...slots.running.values()].sort((a, b) => b.id - a.id);
    for (const task of orphans) {
      this.release(task, false);
      this.lost(task, worker, "left while running it", ErrorCode.crash);
    }
    this.match();
  }

  counts(): SchedulerCounts {
    let running = 0;
    for (const worker of this.workers.all()) running += worker.running.size;
    return { queued: this.queue.length, running, offered_slots: this.workers.offeredSlots(), ...this.totals };
  }

  private match(): void {
    if (this.stopped) return;
    for (;;) {
      const head = this.queue.peek(true);
      if (!head) return;
      if (head.push.type === "trusted_work" && !this.workers.hasFree(true)) {
        // No trusted slot free: the next `work` task may still go to any worker.
        const work = this.queue.peek(false);
        if (!work || !this.workers.hasFree(false)) return;
        this.dispatch(work, this.workers.pick(false)!.peer);
      } else {
        const worker = this.workers.pick(head.push.type === "trusted_work");
        if (!worker) return;
        this.dispatch(head, worker.peer);
      }
    }
  }

  private dispatch(task: Task, worker: Peer): void {
    this.queue.take(task);
    const slots = this.workers.get(worker)!;
    const tid = slots.takeFree();
    try {
      // Encoding happens here (JSON.stringify); admission keeps bodies shallow, and should it still
      // throw, the task is answered with the error instead of taking the cluster down.
      const body = worker.bodyFor?.(task) ?? task.push.body;
      const files = task.attached?.[AttachedField.preload];
      if (files && worker.binaryFiles) worker.push(WorkerEvent.input, { tid, type: task.push.type, body }, task.attached);
      else worker.push(WorkerEvent.input, { tid, type: task.push.type, body: files ? inlinePreloadFiles(body, files) : body });
    } catch (err) {
      slots.free.add(tid);
      this.forget(task);
      const reason = `the cluster could not send it to a worker: ${(err as Error).message}`;
      this.emit("event", { kind: "given-up", task, reason });
      // Encoding a body too deep to encode (RangeError) is the task's doing; anything else is a bug of ours.
      this.answerWithError(task, reason, err instanceof RangeError ? ErrorCode.refused : ErrorCode.internal);
      return;
    }
    task.attempts++;
    task.dispatchedAt = Date.now();
    const lease = setTimeout(() => {
      try {
        this.leaseExpired(task);
      } catch (err) {
        this.emit("event", { kind: "failure", what: `the lease of task ${task.id}`, error: err as Error });
      }
    }, this.limits.leaseMs);
    lease.unref();
    task.run = { worker, tid, lease };
    slots.running.set(tid, task);
    this.emit("event", { kind: "dispatched", task, worker: worker.topic, tid });
  }

  /** A task ran past its lease: abort it on its worker, then re-queue it (or give up on it). */
  private leaseExpired(task: Task): void {
    const run = task.run;
    if (!run) return;
    this.release(task, false);
    run.worker.push(WorkerEvent.abortTask, { tid: run.tid });
    this.lost(task, run.worker, `ran it past its lease of ${Math.round(this.limits.leaseMs / 1000)} s`, ErrorCode.deadline);
    this.match();
  }

  /** A worker lost a running task: first in line again, or answered with an error after `maxAttempts`. */
  private lost(task: Task, worker: Peer, why: string, code: ErrorCode): void {
    if (task.attempts >= this.limits.maxAttempts) {
      this.forget(task);
      this.totals.lost++;
      const reason = `the task was lost by ${task.attempts} workers (the last one ${why}); the cluster gave up after ${this.limits.maxAttempts} attempts (maxAttempts): it may crash the workers that run it`;
      this.emit("event", { kind: "given-up", task, reason });
      this.answerWithError(task, reason, code);
      return;
    }
    this.totals.requeued++;
    this.emit("event", { kind: "requeued", task, worker: worker.topic, why });
    this.queue.addFirst(task);
  }

  /** Take a running task off its slot; `done`: it leaves the cluster too. */
  private release(task: Task, done = true): void {
    if (task.run) {
      clearTimeout(task.run.lease);
      this.workers.get(task.run.worker)?.running.delete(task.run.tid);
      delete task.run;
    }
    if (done) this.forget(task);
  }

  /** The task leaves the cluster: its room is free again. */
  private forget(task: Task): void {
    this.holding.tasks--;
    this.holding.bytes -= task.bytes;
    if (task.files) this.bundles.release(task.files);
    delete task.files;
  }

  private abort(task: Task, reason: string): void {
    this.totals.aborted++;
    this.emit("event", { kind: "aborted", task, reason });
  }

  /** The worker's answer to the task's driver; result files that came as bytes go as bytes to a driver that reads them, else into the body. */
  private answer(task: Task, result: WorkerResult, files: Record<string, Uint8Array> | undefined): void {
    const answer = {
      type: "response",
      body: result.body,
      stdout: result.stdout ?? null,
      stderr: result.stderr ?? null,
      ref: task.push.ref,
      task_id: task.id,
    };
    if (!files) return task.driver.push(ClientEvent.result, answer);
    if (task.driver.binaryFiles) return task.driver.push(ClientEvent.result, answer, { [AttachedField.result]: files });
    const merged = resultBodyWithFiles(result.body, files, this.limits.maxFrameBytes);
    if (typeof merged === "string") return task.driver.push(ClientEvent.result, { ...answer, body: merged });
    task.driver.push(ClientEvent.result, { ...answer, ...failureAnswer(merged.error, ErrorCode.badResult) });
  }

  /** Answer the driver for the cluster: `{"error", "error_code"}` in the body, the reason in stderr. */
  private answerWithError(task: Task, error: string, code: ErrorCode): void {
    task.driver.push(ClientEvent.result, {
      type: "response",
      ...failureAnswer(error, code),
      stdout: null,
      ref: task.push.ref,
      task_id: task.id,
    });
  }
}
