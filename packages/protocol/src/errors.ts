/**
 * Why a task failed, as one number that crosses every boundary: the runtime sets it, the pool
 * adds its own endings, `TaskEnded.code` carries it to the page and the result body's
 * `error_code` (*ours*) to the driver. Kept free of imports: the worker runtime bundles it.
 */
export const ErrorCode = {
  /** The loader is none of the shapes a worker runs. */
  unknownLoader: 1,
  badWasm: 2,
  badDataPackage: 3,
  /** The algorithm crashed, aborted, threw or exited non-zero. */
  algorithmFailed: 4,
  missingExport: 5,
  /** The algorithm answered something that cannot be sent. */
  badResult: 6,
  /** The program could not start: it waited past the start-up limit, or it can never start here. */
  startupFailed: 7,
  /** The task itself was malformed or could not be prepared (bad base64, data_link unreachable). */
  refused: 10,
  deadline: 11,
  /** The algorithm's worker died (out of memory, a crash the runtime could not catch). */
  crash: 12,
  /** The cluster aborted it (its driver left); nothing is sent. */
  aborted: 13,
  /** The connection dropped; the cluster re-queues it, nothing is sent. */
  lost: 14,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
