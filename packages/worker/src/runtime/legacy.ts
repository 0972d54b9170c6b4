/**
 * The legacy Motivus adapter: a self-contained worker script (as `motivus build` produced it, often
 * webpack-minified) that takes the task body as a message, downloads data_link itself with a
 * synchronous XMLHttpRequest and posts back `{body, stdout, stderr}`. It runs in a nested worker (its
 * own global scope, ended after the task, as the original widget ended its worker after the first
 * reply) behind a prelude that serves data_link from the bytes the host already fetched.
 *
 * In: the task body exactly as the original widget (m0tivus/motivus-wb-floatingtool) posted it: the
 * body's own fields, `wasm` and `loader` as base64, `preload_files` as a base64 map, plus `buffWasm`,
 * the wasm bytes.
 *
 * Out: the reply's `body` becomes the result content whole. An object body keeps every entry: its
 * `data` as given (any JSON type: the Rust adapter answers `{data: [...]}`) and every other entry (the
 * C adapter's `<path>: <base64>` files). A body that is not an object (an old Rust adapter's bare
 * array, number or string) is the `data`. Without a `data` entry, a numeric `exitCode` beside the body
 * (our fixture adapter's addition) is the data; otherwise there is no `data`, and a driver doing
 * `result.get("data", result)` gets the whole body, as it did from the original cluster.
 */
import { strFromU8, strToU8 } from "fflate";
import { fromBase64, toBase64 } from "motivus-protocol";
import { describe, RunnerError } from "./errors.js";
import { LEGACY_PRELUDE } from "../generated/inline-scripts.js";
import { LEGACY_NOTE, type LegacyPackage } from "./legacy-prelude/notes.js";
import { RuntimeErrorCode } from "../messages/runner.js";
import type { ShapeResult } from "./shape-result.js";
import type { WorkerTask } from "./task.js";
import type { Transcript } from "./transcript.js";

/** What the adapter posts back. */
interface LegacyReply {
  /** The reply's `body`, as posted (undefined when the key is there without a value). */
  body: unknown;
  /** base64 text (also taken: plain text, "", null). */
  stdout: unknown;
  stderr: unknown;
  /** Only our fixture adapter sends one; the published adapters have none. */
  exitCode: number | null;
}

type AdapterEvent =
  { kind: "message"; event: MessageEvent<unknown> } | { kind: "error"; event: ErrorEvent } | { kind: "messageerror" };
type AdapterListener = (event: AdapterEvent) => void;

/**
 * An adapter in its own nested worker, started ahead of its task (loading a bundle's script is most of a
 * legacy task's cost). What it says before a task takes it (a load error, a note) is kept, not lost.
 */
class Adapter {
  private readonly worker: Worker;
  private readonly url: string;
  private readonly early: AdapterEvent[] = [];
  private listener: AdapterListener | null = null;

  constructor(
    readonly loader: string,
    NestedWorker: typeof Worker,
  ) {
    this.url = URL.createObjectURL(new Blob([LEGACY_PRELUDE, "\n", loader], { type: "text/javascript" }));
    this.worker = new NestedWorker(this.url);
    const hear = (event: AdapterEvent) => (this.listener ? this.listener(event) : this.early.push(event));
    this.worker.onmessage = (event) => hear({ kind: "message", event });
    this.worker.onerror = (event) => {
      event.preventDefault();
      hear({ kind: "error", event });
    };
    this.worker.onmessageerror = () => hear({ kind: "messageerror" });
  }

  listen(listener: AdapterListener): void {
    this.listener = listener;
    for (const event of this.early.splice(0)) listener(event);
  }

  post(message: unknown, transfer: Transferable[]): void {
    this.worker.postMessage(message, transfer);
  }

  end(): void {
    this.worker.terminate();
    URL.revokeObjectURL(this.url);
  }
}

/**
 * The adapters of one runtime worker, which the runner owns: a fresh one per task, as the original
 * widget had, and the next one started as soon as a task ends (a worker runs one algorithm).
 * `NestedWorker`: the runtime's own Worker constructor (not the one algorithms see, whose workers end
 * with their task).
 */
export class LegacyAdapters {
  /** The adapter started for this worker's next legacy task. */
  private spare: Adapter | null = null;

  constructor(private readonly NestedWorker: typeof Worker) {}

  /** An adapter of `loader`: the one started ahead when it is that loader's, else a new one. */
  take(loader: string): Adapter {
    const ready = this.spare;
    this.spare = null;
    if (ready?.loader === loader) return ready;
    ready?.end();
    return new Adapter(loader, this.NestedWorker);
  }

  /** Ends a task's adapter; the next one of its loader starts now. */
  renew(done: Adapter): void {
    done.end();
    this.spare = new Adapter(done.loader, this.NestedWorker);
  }
}

/**
 * `module`: the runner's compiled module of this wasm, which the adapter gets instead of compiling
 * the same bytes again; null when the runner could not compile it (the adapter then fails its own way).
 */
export async function runLegacy(
  task: WorkerTask,
  transcript: Transcript,
  adapters: LegacyAdapters,
  module: WebAssembly.Module | null,
): Promise<ShapeResult> {
  const adapter = adapters.take(task.loader);
  let reply: LegacyReply;
  try {
    reply = await replyOf(adapter, task, transcript, module);
  } finally {
    adapters.renew(adapter);
  }
  return resultOf(reply, task, transcript);
}

/** Hands the adapter its task (the package for the prelude first) and waits for its reply. */
function replyOf(
  adapter: Adapter,
  task: WorkerTask,
  transcript: Transcript,
  module: WebAssembly.Module | null,
): Promise<LegacyReply> {
  return new Promise<LegacyReply>((resolve, reject) => {
    adapter.listen((heard) => {
      const meaning = meaningOf(heard, transcript);
      if (meaning instanceof RunnerError) reject(meaning);
      else if (meaning) resolve(meaning);
    });
    const dataZip = task.dataZip;
    const served: LegacyPackage = { dataLink: task.dataLink, dataZip, module, wasm: module ? task.wasm : null };
    adapter.post(served, dataZip ? [dataZip] : []);
    const body = legacyBodyOf(task);
    adapter.post(body, [(body.buffWasm as Uint8Array).buffer]);
  });
}

/** What one event from the adapter means: its reply, why it failed, or nothing yet (a console note, now in the transcript). */
function meaningOf(heard: AdapterEvent, transcript: Transcript): LegacyReply | RunnerError | null {
  const failed = (reason: string) => new RunnerError(RuntimeErrorCode.algorithmFailed, `the legacy adapter failed: ${reason}`);
  // Only what the prelude cannot see arrives as an error: the script failing to load or parse.
  if (heard.kind === "error") return failed(heard.event.message || "uncaught error");
  if (heard.kind === "messageerror")
    return new RunnerError(RuntimeErrorCode.badResult, "the legacy adapter's reply could not be received");
  const note = noteOf(heard.event.data);
  if (note?.kind === "failed") return failed(note.reason);
  if (note) {
    if (note.stream === "err") transcript.appendErr(note.text);
    else transcript.appendOut(note.text);
    return null;
  }
  return (
    parseReply(heard.event.data) ??
    new RunnerError(RuntimeErrorCode.badResult, "the legacy adapter posted something other than {body, stdout, stderr}")
  );
}

/** The reply as the task's result: its streams into the transcript, its body as the content. */
function resultOf(reply: LegacyReply, task: WorkerTask, transcript: Transcript): ShapeResult {
  transcript.appendOut(streamText(reply.stdout));
  const stderr = streamText(reply.stderr);
  transcript.appendErr(stderr);
  const { data, entries } = contentOf(reply);
  for (const path of task.resultFiles) {
    if (!(path in entries)) transcript.printErr(`result file ${path} is missing: the program did not write it`);
  }
  const failed = reply.exitCode !== null && reply.exitCode !== 0;
  const reason = lastLine(stderr);
  return {
    data,
    // Every entry of the reply's body, files and anything else, goes into the result as given.
    files: entries,
    error: failed
      ? new RunnerError(
          RuntimeErrorCode.algorithmFailed,
          `the legacy adapter reported exit code ${reply.exitCode}${reason ? `: ${reason}` : ""}`,
        )
      : null,
  };
}

/**
 * The message the adapter expects: the task body with `wasm`, `loader` and `preload_files` as base64
 * again (the pool turned them into bytes), plus `buffWasm`. preload_files that were null or empty
 * arrive in `legacyBody` as the cluster sent them.
 */
function legacyBodyOf(task: WorkerTask): Record<string, unknown> {
  // A copy to transfer: the runner keeps the wasm for this algorithm's next tasks.
  const wasm = new Uint8Array(task.wasm.slice(0));
  const body: Record<string, unknown> = { ...task.legacyBody };
  body.wasm = toBase64(wasm);
  if (typeof body.loader !== "string") body.loader = toBase64(strToU8(task.loader));
  const preload = Object.entries(task.preloadFiles);
  if (preload.length)
    body.preload_files = Object.fromEntries(preload.map(([path, bytes]) => [path, toBase64(new Uint8Array(bytes))]));
  body.buffWasm = wasm;
  return body;
}

type Note = { kind: "console"; stream: "out" | "err"; text: string } | { kind: "failed"; reason: string };

function noteOf(data: unknown): Note | null {
  if (data === null || typeof data !== "object" || !(LEGACY_NOTE in data)) return null;
  const fields = data as Record<string, unknown>;
  const kind = fields[LEGACY_NOTE];
  if (kind === "console") return { kind, stream: fields.stream === "err" ? "err" : "out", text: String(fields.text ?? "") };
  if (kind === "failed") return { kind, reason: String(fields.reason ?? "uncaught error") };
  return null;
}

function parseReply(data: unknown): LegacyReply | null {
  if (data === null || typeof data !== "object" || Array.isArray(data) || !("body" in data)) return null;
  const { body, stdout, stderr, exitCode } = data as Record<string, unknown>;
  return { body, stdout, stderr, exitCode: typeof exitCode === "number" ? exitCode : null };
}

/** The reply's body as result content: `data` (absent when undefined) and every other entry. */
function contentOf(reply: LegacyReply): { data: unknown; entries: Record<string, unknown> } {
  const { body } = reply;
  if (body === null || typeof body !== "object" || Array.isArray(body)) return { data: body, entries: {} };
  const { data, ...entries } = body as Record<string, unknown>;
  return { data: "data" in body ? data : (reply.exitCode ?? undefined), entries };
}

/**
 * stdout/stderr as the adapters send them: base64 of UTF-8 (ours), base64 of Latin-1 (the original C
 * adapter's `btoa` of its text), plain text (tolerated), "" or null (nothing).
 */
function streamText(value: unknown): string {
  if (typeof value !== "string" || value === "") return value === "" || value == null ? "" : describe(value);
  let bytes: Uint8Array;
  try {
    bytes = fromBase64(value);
  } catch {
    return value;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return strFromU8(bytes, true);
  }
}

function lastLine(text: string): string {
  return text.trimEnd().split("\n").pop() ?? "";
}
