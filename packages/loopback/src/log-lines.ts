/** The loopback's log: one readable line per scheduler event. */
import type { SchedulerEvent } from "./scheduler.js";

const short = (topic: string) => topic.slice(-8);
const oneLine = (text: string) => (text.length > 300 ? `${text.slice(0, 300)}…` : text).replace(/\s*\n\s*/g, " / ");

export function logLineOf(event: SchedulerEvent): string {
  switch (event.kind) {
    case "queued":
      return `task ${event.task.id} queued (${event.task.push.type}, driver ${short(event.task.driver.topic)})`;
    case "refused":
      return `task ${event.task.id} refused (driver ${short(event.task.driver.topic)}): ${event.reason}`;
    case "dispatched":
      return `task ${event.task.id} dispatched to worker ${short(event.worker)} (slot ${event.tid.slice(0, 8)}${event.task.attempts > 1 ? `, attempt ${event.task.attempts}` : ""})`;
    case "done":
      // A failed task is answered too (its driver gets the error); the log says which it was, and why.
      return event.error === null
        ? `task ${event.task.id} done in ${event.ms} ms by worker ${short(event.worker)}`
        : `task ${event.task.id} failed in ${event.ms} ms on worker ${short(event.worker)}: ${oneLine(event.error)}`;
    case "aborted":
      return `task ${event.task.id} aborted: ${event.reason}`;
    case "requeued":
      return `task ${event.task.id} re-queued: worker ${short(event.worker)} ${event.why}`;
    case "given-up":
      return `task ${event.task.id} answered with an error: ${event.reason}`;
    case "ignored":
      return `result for slot ${event.tid.slice(0, 8)} of worker ${short(event.worker)} ignored: ${event.reason}`;
    case "slots-full":
      return `worker ${short(event.worker)} offers more than ${event.max} slots (maxSlotsPerWorker): further offers refused`;
    case "failure":
      return `error in ${event.what}: ${event.error.stack ?? event.error.message}`;
  }
}
