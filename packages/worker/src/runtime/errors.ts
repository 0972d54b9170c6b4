/**
 * The runtime's one error type: a message for people plus a numeric code, which crosses to the host
 * as the outcome's `errorCode` (as fflate does) and on to the driver as the body's `error_code`.
 */
import { MotivusError } from "motivus-protocol";
import { RuntimeErrorCode } from "../messages/runner.js";

export class RunnerError extends MotivusError {
  override readonly name = "RunnerError";
  constructor(
    readonly code: RuntimeErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Text for anything an algorithm may throw: an Error, a WebAssembly.RuntimeError, a bare string, a value. */
export function describe(thrown: unknown): string {
  if (typeof thrown === "string") return thrown;
  if (thrown instanceof Error) {
    const name = thrown.name || "Error";
    return thrown.message.startsWith(name) ? thrown.message : `${name}: ${thrown.message}`;
  }
  if (thrown !== null && typeof thrown === "object" && "message" in thrown) return String(thrown.message);
  try {
    return JSON.stringify(thrown) ?? String(thrown);
  } catch {
    return String(thrown);
  }
}

/** Keeps a RunnerError as it is; anything else becomes one with `code`, its text after `prefix`. */
export function asRunnerError(thrown: unknown, code: RuntimeErrorCode, prefix: string): RunnerError {
  return thrown instanceof RunnerError ? thrown : new RunnerError(code, `${prefix}${describe(thrown)}`);
}

/** Emscripten's ExitStatus (thrown by `exit()`) is how a program ends, not a failure. */
export function isExitStatus(thrown: unknown): thrown is { status: number } {
  return (
    thrown !== null &&
    typeof thrown === "object" &&
    (thrown as { name?: unknown }).name === "ExitStatus" &&
    typeof (thrown as { status?: unknown }).status === "number"
  );
}
