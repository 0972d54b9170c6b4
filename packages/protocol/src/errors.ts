/**
 * Why a task failed, as one number that crosses every boundary: the runtime sets it, the pool
 * adds its own endings, `TaskEnded.code` carries it to the page and the result body's
 * `error_code` (*ours*) to the driver. Codes from 20 on end no task: they name the other errors a
 * user of these packages catches, so every `MotivusError` has a code. Kept free of imports: the
 * worker runtime bundles it.
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
  /** A bug of motivus itself (the worker library, the loopback cluster), not the task's doing; the error says what threw. */
  internal: 15,

  /** Not a task ending: a Phoenix frame that is not JSON or not its serializer version's shape (`FrameError`). */
  badFrame: 20,
  /** Not a task ending: `createWorker` options that are invalid (`OptionsError`). */
  badOptions: 21,
  /** Not a task ending: a driver's task definition that is invalid or names no algorithm the registry has (`TaskDefinitionError`). */
  badTaskDefinition: 22,
  /** Driver: a result body that inflates past `maxResultBytes` (`ResultTooLargeError`, and the `TaskError` it ends). */
  resultTooLarge: 23,
  /** Driver: a result body that is not base64 of gzip of a JSON object. */
  unreadableResult: 24,
  /** Driver: a task that failed and whose answer gave no known `error_code` (a worker other than this library). */
  unspecified: 25,
  /** Driver: the cluster answered the task's push with an error (it refused the task itself). */
  clusterRefused: 26,
  /** Driver: the connection dropped before the task's result more than `maxResends` times; it was given up. */
  resendsExhausted: 27,
  /** Not a task ending: the driver could not reach or join the cluster (`ConnectError`). */
  connectFailed: 28,
  /** Not a task ending: the algorithm registry could not be read (`RegistryError`). */
  registryFailed: 29,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Whether `value` is one of the codes above (a result body's `error_code` is a worker's word, not a fact). */
export function isErrorCode(value: unknown): value is ErrorCode {
  return (Object.values(ErrorCode) as unknown[]).includes(value);
}

/**
 * The one base of every error these packages throw on purpose: `catch (e) { if (e instanceof
 * MotivusError) … e.code }`. Each subclass says its `code`; `name` says which subclass it is.
 */
export abstract class MotivusError extends Error {
  override name = "MotivusError";
  abstract readonly code: ErrorCode;
}
