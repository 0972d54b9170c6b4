/** A task's result in wire form: gzip(JSON) base64 body (result files in it, or beside it as bytes), base64 stdout/stderr. */
import { encodeResultBody, ownBuffer, type ResultContent, toBase64 } from "motivus-protocol";
import type { RunnerError } from "./errors.js";
import type { LoaderShape, RunnerOutcome } from "../messages/runner.js";
import type { ShapeResult } from "./shape-result.js";
import type { Transcript } from "./transcript.js";

/** `attach`: result files' bytes go beside the body (RunnerOutcome.files) instead of into it as base64. */
export function outcomeOf(result: ShapeResult, transcript: Transcript, shape: LoaderShape | null, attach = false): RunnerOutcome {
  const error = result.error;
  const { inline, attached } = splitFiles(result.files, attach);
  // A failure without a value leaves `data` out, so a driver doing `result.get("data", result)` sees the error.
  const content: ResultContent = error && result.data == null ? { ...inline } : { data: result.data, ...inline };
  if (error) {
    content.error = error.message;
    content.error_code = error.code;
    transcript.appendErr(`${transcript.stderr && !transcript.stderr.endsWith("\n") ? "\n" : ""}${error.message}\n`);
  }
  return {
    body: encodeResultBody(content),
    ...(attached ? { files: attached } : {}),
    ...transcript.encoded(),
    ok: error === null,
    error: error?.message ?? null,
    errorCode: error?.code ?? null,
    shape,
  };
}

/** Bytes as base64 entries of the body, or (attach) as buffers of their own beside it; a legacy adapter's entries stay as given. */
function splitFiles(
  files: ShapeResult["files"],
  attach: boolean,
): { inline: Record<string, unknown>; attached: Record<string, ArrayBuffer> | null } {
  const inline: Record<string, unknown> = {};
  let attached: Record<string, ArrayBuffer> | null = null;
  for (const [path, contents] of Object.entries(files)) {
    if (!(contents instanceof Uint8Array)) inline[path] = contents;
    else if (attach) (attached ??= {})[path] = ownBuffer(contents);
    else inline[path] = toBase64(contents);
  }
  return { inline, attached };
}

/** A failure before the algorithm produced anything. */
export function failureOf(error: RunnerError, transcript: Transcript, shape: LoaderShape | null): RunnerOutcome {
  return outcomeOf({ data: null, files: {}, error }, transcript, shape);
}
