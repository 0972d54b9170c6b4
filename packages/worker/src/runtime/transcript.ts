/** What a task printed: stdout and stderr text, from the loader's print hooks and from the worker's console. */
import { strToU8 } from "fflate";
import { toBase64 } from "motivus-protocol";
import { describe } from "./errors.js";

/** Past this many characters a stream is cut: a chatty algorithm must not exhaust the worker's memory. */
export const TRANSCRIPT_LIMIT = 4 * 1024 * 1024;

export class Transcript {
  private stdoutText = "";
  private stderrText = "";

  /** One line to stdout (Emscripten `print`). */
  readonly printOut = (...parts: unknown[]): void => this.appendOut(`${parts.map(show).join(" ")}\n`);

  /** One line to stderr (Emscripten `printErr`). */
  readonly printErr = (...parts: unknown[]): void => this.appendErr(`${parts.map(show).join(" ")}\n`);

  /** Text as it came (already split into lines by whoever produced it). */
  appendOut(text: string): void {
    this.stdoutText = capped(this.stdoutText, text);
  }

  appendErr(text: string): void {
    this.stderrText = capped(this.stderrText, text);
  }

  get stderr(): string {
    return this.stderrText;
  }

  /** Wire form: base64 of the UTF-8 text, null when nothing was printed. */
  encoded(): { stdout: string | null; stderr: string | null } {
    return { stdout: encodeText(this.stdoutText), stderr: encodeText(this.stderrText) };
  }
}

const CUT = `\n[output cut at ${TRANSCRIPT_LIMIT / 1024 / 1024} Mi characters]\n`;

function capped(text: string, more: string): string {
  if (text.length >= TRANSCRIPT_LIMIT) return text;
  const joined = text + more;
  return joined.length <= TRANSCRIPT_LIMIT ? joined : joined.slice(0, TRANSCRIPT_LIMIT) + CUT;
}

function show(part: unknown): string {
  return typeof part === "string" ? part : describe(part);
}

function encodeText(text: string): string | null {
  return text ? toBase64(strToU8(text)) : null;
}

type ConsoleMethod = "log" | "info" | "debug" | "warn" | "error";
const toStdout: readonly ConsoleMethod[] = ["log", "info", "debug"];
const toStderr: readonly ConsoleMethod[] = ["warn", "error"];

/**
 * Routes the worker's console into `transcript` until the returned function is called. Algorithms
 * (wasm-bindgen's `console_log!`, Emscripten runtime warnings) print there; one task runs at a time.
 */
/* eslint-disable no-console -- the worker's console is replaced while a task runs: what an algorithm logs is its output */
export function captureConsole(transcript: Transcript): () => void {
  const saved = toStdout.concat(toStderr).map((method) => [method, console[method]] as const);
  for (const method of toStdout) console[method] = transcript.printOut;
  for (const method of toStderr) console[method] = transcript.printErr;
  return () => {
    for (const [method, original] of saved) console[method] = original;
  };
}
/* eslint-enable no-console */
