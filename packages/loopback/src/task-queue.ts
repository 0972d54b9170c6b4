/**
 * Tasks waiting for a worker, first in first out, in two lines: `work` (any
 * worker may take it) and `trusted_work` (only a trusted worker). A task put
 * back after its worker lost it goes first in its line. The next task for a
 * trusted worker is the earlier head of the two lines; an untrusted worker
 * only ever sees the `work` line, so a `work` task never waits behind
 * `trusted_work` that no free worker may take.
 */
import type { Task } from "./task.js";

/** Re-queued tasks before fresh ones, then by id. */
const before = (a: Task, b: Task) => (a.attempts > 0 !== b.attempts > 0 ? a.attempts > 0 : a.id < b.id);

export class TaskQueue {
  private readonly lines = { work: [] as Task[], trusted_work: [] as Task[] };

  get length(): number {
    return this.lines.work.length + this.lines.trusted_work.length;
  }

  add(task: Task): void {
    this.lines[task.push.type].push(task);
  }

  /** Put a task back first in its line. */
  addFirst(task: Task): void {
    this.lines[task.push.type].unshift(task);
  }

  /** The task next in line for a worker that may (`trusted`) or may not take `trusted_work`. */
  peek(trusted: boolean): Task | undefined {
    const work = this.lines.work[0];
    const trustedWork = trusted ? this.lines.trusted_work[0] : undefined;
    if (!work || !trustedWork) return work ?? trustedWork;
    return before(trustedWork, work) ? trustedWork : work;
  }

  /** Take out a task `peek` gave. */
  take(task: Task): void {
    const line = this.lines[task.push.type];
    if (line[0] === task) line.shift();
    else line.splice(line.indexOf(task), 1);
  }

  /** Take out, and return, every task that passes `test`. */
  removeWhere(test: (task: Task) => boolean): Task[] {
    const removed: Task[] = [];
    for (const type of ["work", "trusted_work"] as const) {
      this.lines[type] = this.lines[type].filter((task) => (test(task) ? (removed.push(task), false) : true));
    }
    return removed;
  }
}
