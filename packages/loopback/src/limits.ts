/**
 * The loopback cluster's limits: every bound on what one driver or worker can
 * make it hold or do, with its default. Each is an option of `startLoopback`
 * and, where a person would set it, a flag of `motivus-loopback` (cli.ts).
 */
import { MiB } from "motivus-protocol";

export interface Limits {
  /** Largest frame a socket accepts; tasks carry wasm inline. Default 128 MiB. */
  maxFrameBytes: number;
  /** Deepest nesting of arrays and objects in a task's `body`; deeper tasks are refused at submission. Default 64. */
  maxTaskDepth: number;
  /** Slots one joined worker channel may hold (offered + running); further offers are refused. Default 16. */
  maxSlotsPerWorker: number;
  /** How long a worker may run one task before it is aborted there and re-queued. Default 15 min. */
  leaseMs: number;
  /** Times a task is handed to a worker before the cluster gives up on it and answers its driver with an error. Default 3. */
  maxAttempts: number;
  /** Tasks the cluster holds at once (waiting or running), over all drivers. Default 10,000. */
  maxQueuedTasks: number;
  /** Bytes of task frames the cluster holds at once (waiting or running), counted as the frames' text length. Default 512 MiB. */
  maxQueuedBytes: number;
  /** Bytes of bundle files (wasm, loader) the bundle store keeps, least recently used out first. Default 512 MiB. */
  maxStoredBundleBytes: number;
  /** Close a socket silent this long. Default 30 s, as production. */
  idleTimeoutMs: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxFrameBytes: 128 * MiB,
  maxTaskDepth: 64,
  maxSlotsPerWorker: 16,
  leaseMs: 15 * 60_000,
  maxAttempts: 3,
  maxQueuedTasks: 10_000,
  maxQueuedBytes: 512 * MiB,
  maxStoredBundleBytes: 512 * MiB,
  idleTimeoutMs: 30_000,
});

/** The limits in force: each given one checked (a whole number above 0), the rest defaulted. */
export function resolveLimits(given: Partial<Limits>): Limits {
  const limits = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof Limits)[]) {
    const value = given[key];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 1)
      throw new Error(`loopback option ${key} takes a whole number above 0, not ${String(value)}`);
    limits[key] = value;
  }
  return limits;
}

/** `134217728` → `128 MiB`, `262144` → `256 KiB`, for messages people read. */
export function bytesInWords(bytes: number): string {
  const [unit, size] = bytes >= MiB ? ["MiB", MiB] : bytes >= 1024 ? ["KiB", 1024] : ["bytes", 1];
  return `${(bytes / size).toFixed(bytes % size === 0 ? 0 : 1)} ${unit}`;
}
