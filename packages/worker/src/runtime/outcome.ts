/** A task's result in wire form: gzip(JSON) base64 body, base64 stdout/stderr. */
import { encodeResultBody, type ResultContent } from "motivus-protocol";
import type { RunnerError } from "./errors.js";
import type { LoaderShape, RunnerOutcome } from "../messages/runner.js";
import type { ShapeResult } from "./shape-result.js";
import type { Transcript } from "./transcript.js";

export function outcomeOf(result: ShapeResult, transcript: Transcript, shape: LoaderShape | null): RunnerOutcome {
  const error = result.error;
  // A failure without a value leaves `data` out, so a driver doing `result.get("data", result)` sees the error.
  const content: ResultContent = error && result.data == null ? { ...result.files } : { data: result.data, ...result.files };
  if (error) {
    content.error = error.message;
    content.error_code = error.code;
    transcript.appendErr(`${transcript.stderr && !transcript.stderr.endsWith("\n") ? "\n" : ""}${error.message}\n`);
  }
  return {
    body: encodeResultBody(content),
    ...transcript.encoded(),
    ok: error === null,
    error: error?.message ?? null,
    errorCode: error?.code ?? null,
    shape,
  };
}

/** A failure before the algorithm produced anything. */
export function failureOf(error: RunnerError, transcript: Transcript, shape: LoaderShape | null): RunnerOutcome {
  return outcomeOf({ data: null, files: {}, error }, transcript, shape);
}
