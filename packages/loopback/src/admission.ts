/**
 * Whether a driver's task may enter the cluster: its body not nested past
 * `maxTaskDepth` (JSON.stringify recurses, so a deep body would overflow the
 * stack when the task is sent to a worker), and room for it under
 * `maxQueuedTasks` and `maxQueuedBytes`. A refusal is a sentence for the
 * driver's author: what was wrong and what to do.
 */
import { bytesInWords, type Limits } from "./limits.js";

/** What the cluster holds right now. */
export interface Holding {
  tasks: number;
  bytes: number;
}

/**
 * Whether `value` nests arrays and objects more than `limit` levels deep (a scalar is 0 levels,
 * `[1]` is 1). Iterative, so it cannot overflow the stack itself; it stops as soon as it knows.
 */
export function nestedDeeperThan(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (item === null || typeof item !== "object") continue;
    if (depth + 1 > limit) return true;
    for (const child of Array.isArray(item) ? item : Object.values(item)) {
      if (child !== null && typeof child === "object") stack.push([child, depth + 1]);
    }
  }
  return false;
}

/** Why the task cannot be taken, or null when it can. `bytes`: its frame's text length. */
export function refusal(body: unknown, bytes: number, holding: Holding, limits: Limits): string | null {
  if (nestedDeeperThan(body, limits.maxTaskDepth)) {
    return `the task's body nests arrays or objects more than ${limits.maxTaskDepth} levels deep (maxTaskDepth); flatten its params or send the data as a preload file`;
  }
  if (holding.tasks + 1 > limits.maxQueuedTasks) {
    return `the cluster already holds ${holding.tasks} tasks (maxQueuedTasks ${limits.maxQueuedTasks}); wait for results before sending more, or start it with a higher --max-queued-tasks`;
  }
  if (holding.bytes + bytes > limits.maxQueuedBytes) {
    return `the task (${bytesInWords(bytes)}) does not fit: the cluster holds ${bytesInWords(holding.bytes)} of tasks and takes at most ${bytesInWords(limits.maxQueuedBytes)} (maxQueuedBytes); wait for results before sending more, or start it with a higher --max-queued-mib`;
  }
  return null;
}
