/**
 * What each way a task can end means: the answer the cluster gets (if any), and the error and
 * code the page's listeners and the driver see. One pure function, so every ending is tested.
 */
import { ErrorCode, failureAnswer, type WorkerResult } from "motivus-protocol";
import type { RunnerOutcome } from "../messages/runner.js";
import type { ForcedEnd } from "./slot.js";

/** `refused`: the task's own doing (TaskRefused); `fault`: a bug of the worker library while running it. */
export type Ending =
  | { kind: "done"; outcome: RunnerOutcome }
  | { kind: "refused"; message: string }
  | { kind: "fault"; message: string }
  | ForcedEnd;

export interface Conclusion {
  /** What goes to the cluster; null when nothing may (aborted: the driver left; lost: the cluster re-queues it). */
  answer: WorkerResult | null;
  error: string | null;
  code: ErrorCode | null;
  /** Which loader shape ran it, when one did. */
  shape: string | null;
  /** Result files to attach to the answer as bytes (the runner was asked for them so). */
  files?: Record<string, Uint8Array>;
}

/** A runner's reply as a plain outcome, or null when it is not one (e.g. a Comlink proxy an algorithm made of it). */
export function checkOutcome(reply: unknown): RunnerOutcome | null {
  if (reply === null || typeof reply !== "object") return null;
  const { body, stdout, stderr, ok, error, errorCode, shape } = reply as Record<string, unknown>;
  const textOrNull = (v: unknown): v is string | null => v === null || typeof v === "string";
  if (
    typeof body !== "string" ||
    !textOrNull(stdout) ||
    !textOrNull(stderr) ||
    typeof ok !== "boolean" ||
    !textOrNull(error) ||
    !textOrNull(shape)
  )
    return null;
  if (errorCode != null && (typeof errorCode !== "number" || !Number.isInteger(errorCode))) return null;
  const retire = (reply as { retire?: unknown }).retire === true;
  const files = filesOf((reply as { files?: unknown }).files);
  if (files === null) return null;
  return {
    ...(files ? { files } : {}),
    body,
    stdout,
    stderr,
    ok,
    error,
    errorCode: (errorCode ?? null) as RunnerOutcome["errorCode"],
    shape: shape as RunnerOutcome["shape"],
    retire,
  };
}

/** An outcome's attached files: absent (undefined), buffers by path, or null when they are something else. */
function filesOf(files: unknown): Record<string, ArrayBuffer> | undefined | null {
  if (files === undefined) return undefined;
  if (files === null || typeof files !== "object") return null;
  return Object.values(files).every((bytes) => bytes instanceof ArrayBuffer) ? (files as Record<string, ArrayBuffer>) : null;
}

/** An answer for a task that did not run to its end: the driver must still hear of it. */
export function failureResult(tid: string, error: string, code: ErrorCode): WorkerResult {
  return { tid, type: "response", ...failureAnswer(error, code), stdout: null, error };
}

export function conclude(tid: string, ending: Ending, deadlineMs: number): Conclusion {
  const failed = (code: ErrorCode, error: string, answered = true): Conclusion => ({
    answer: answered ? failureResult(tid, error, code) : null,
    error,
    code,
    shape: null,
  });
  switch (ending.kind) {
    case "done": {
      const { outcome } = ending;
      const answer: WorkerResult = {
        tid,
        type: "response",
        body: outcome.body,
        stdout: outcome.stdout,
        stderr: outcome.stderr,
        error: outcome.error,
      };
      const files =
        outcome.files && Object.fromEntries(Object.entries(outcome.files).map(([path, bytes]) => [path, new Uint8Array(bytes)]));
      return { answer, error: outcome.error, code: outcome.errorCode ?? null, shape: outcome.shape, ...(files ? { files } : {}) };
    }
    case "refused":
      return failed(ErrorCode.refused, ending.message);
    case "fault":
      return failed(
        ErrorCode.internal,
        `motivus-worker failed with a bug of its own (not the task's doing; please report it): ${ending.message}`,
      );
    case "deadline":
      return failed(ErrorCode.deadline, `the task ran past its deadline of ${Math.round(deadlineMs / 1000)} s and was stopped`);
    case "crash":
      return failed(ErrorCode.crash, `the algorithm's worker crashed (${ending.message}); it may have run out of memory`);
    case "aborted":
      return failed(ErrorCode.aborted, "aborted by the cluster", false);
    case "lost":
      return failed(ErrorCode.lost, "stopped: the connection to the cluster was lost", false);
  }
}
