/**
 * The legacy Motivus adapter: a self-contained worker script that takes the task body as a message,
 * downloads data_link itself with a synchronous XMLHttpRequest and posts back its result. It runs in a
 * nested worker (its own global scope, ended after the task) behind a prelude that serves data_link
 * from the bytes the host already fetched.
 */
import { textOf, toBase64 } from "../cluster/encoding.js";
import { RunnerError } from "./errors.js";
import { legacyPrelude } from "./legacy-prelude.js";
import { RuntimeErrorCode, type RunnerTask } from "./protocol.js";
import type { ShapeResult } from "./shape-result.js";
import type { Transcript } from "./transcript.js";

/** What the adapter posts back: files as base64, stdout/stderr as base64, exitCode (newer adapters only). */
interface LegacyReply {
  body: Record<string, string>;
  stdout: string | null;
  stderr: string | null;
  exitCode: number | null;
}

export async function runLegacy(task: RunnerTask, transcript: Transcript): Promise<ShapeResult> {
  const script = URL.createObjectURL(new Blob([legacyPrelude, "\n", task.loader], { type: "text/javascript" }));
  const adapter = new Worker(script);
  let reply: LegacyReply;
  try {
    reply = await new Promise<LegacyReply>((resolve, reject) => {
      adapter.onmessage = (event: MessageEvent<unknown>) => {
        const parsed = parseReply(event.data);
        if (parsed) resolve(parsed);
        else reject(new RunnerError(RuntimeErrorCode.badResult, "the legacy adapter posted something other than {body, stdout, stderr}"));
      };
      adapter.onerror = (event) => {
        event.preventDefault();
        reject(new RunnerError(RuntimeErrorCode.algorithmFailed, `the legacy adapter failed: ${event.message || "uncaught error"}`));
      };
      adapter.onmessageerror = () =>
        reject(new RunnerError(RuntimeErrorCode.badResult, "the legacy adapter's reply could not be received"));
      const dataZip = task.dataZip;
      adapter.postMessage({ dataLink: task.dataLink, dataZip }, dataZip ? [dataZip] : []);
      adapter.postMessage(legacyBodyOf(task));
    });
  } finally {
    adapter.terminate();
    URL.revokeObjectURL(script);
  }

  transcript.appendOut(textOf(reply.stdout));
  transcript.appendErr(textOf(reply.stderr));
  const files: Record<string, string> = {};
  for (const path of task.resultFiles) {
    const contents = reply.body[path];
    if (contents !== undefined) files[path] = contents;
    else transcript.printErr(`result file ${path} is missing: the program did not write it`);
  }
  const failed = reply.exitCode !== null && reply.exitCode !== 0;
  const reason = reply.stderr === null ? "" : lastLine(textOf(reply.stderr));
  return {
    data: reply.exitCode,
    files,
    error: failed
      ? new RunnerError(RuntimeErrorCode.algorithmFailed, `the legacy adapter reported exit code ${reply.exitCode}${reason ? `: ${reason}` : ""}`)
      : null,
  };
}

/** The body as the adapter expects it: wasm and preload files as base64 again. */
function legacyBodyOf(task: RunnerTask): Record<string, unknown> {
  const preload = Object.entries(task.preloadFiles);
  return {
    ...task.legacyBody,
    wasm: toBase64(new Uint8Array(task.wasm)),
    preload_files: preload.length ? Object.fromEntries(preload.map(([path, bytes]) => [path, toBase64(new Uint8Array(bytes))])) : null,
  };
}

function parseReply(data: unknown): LegacyReply | null {
  if (data === null || typeof data !== "object") return null;
  const { body, stdout, stderr, exitCode } = data as Record<string, unknown>;
  if (body === null || typeof body !== "object") return null;
  const files: Record<string, string> = {};
  for (const [path, contents] of Object.entries(body)) if (typeof contents === "string") files[path] = contents;
  return {
    body: files,
    stdout: typeof stdout === "string" ? stdout : null,
    stderr: typeof stderr === "string" ? stderr : null,
    exitCode: typeof exitCode === "number" ? exitCode : null,
  };
}

function lastLine(text: string): string {
  return text.trimEnd().split("\n").pop() ?? "";
}
