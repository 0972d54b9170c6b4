/**
 * The host ↔ Web Worker boundary: what the pool hands a worker's `Runner` over
 * Comlink and what it gets back. Types only (plus the loader shapes); big
 * payloads are ArrayBuffers, transferred, not copied. See docs/protocol.md.
 */
import { ErrorCode } from "motivus-protocol";

/**
 * The algorithm a task runs, by content key (SHA-256 of the wasm, then of the loader). Its bytes
 * cross only when the worker has not run it yet: a warm worker gets the key alone.
 */
export type BundleRef = { key: string; wasm: ArrayBuffer; loader: string } | { key: string; wasm: null; loader: null };

/** What one task needs inside the worker; everything arrives as bytes (the worker has no network). */
export interface RunnerTask {
  /** The slot's tid, for log lines. */
  tid: string;
  bundle: BundleRef;
  /** The `.data.zip` behind `data_link`, fetched by the host; null when there is none. */
  dataZip: ArrayBuffer | null;
  /** The `data_link` URL itself (the legacy adapter asks for it by name). */
  dataLink: string | null;
  /** Argument list: `arguments` (string split on whitespace, or list) then `params` (Emscripten). */
  args: string[];
  /** The task's `params` as given (wasm-bindgen `main(...params)`). */
  params: unknown[];
  /** Virtual path → contents, written before the run (directories created). */
  preloadFiles: Record<string, ArrayBuffer>;
  /** Virtual paths read back after the run. */
  resultFiles: string[];
  /** *ours*: the export to call instead of `main`. */
  entry: string | null;
  /** A program that has not reached main by then fails with what it waited for. */
  startupMs: number;
  /** Result files come back as bytes (`RunnerOutcome.files`), not as base64 in the body. */
  attachResults: boolean;
  /**
   * The task body's other fields, as the cluster sent them, for a legacy adapter (which is posted the
   * whole body); its `wasm`, `loader` and non-empty `preload_files` are rebuilt from the bytes.
   */
  legacyBody: Record<string, unknown>;
}

/**
 * What a worker says on its runner's port besides Comlink's replies (which carry an `id`; these do not,
 * so Comlink passes them by). `threads`: how many threads (nested workers: a -pthread program's) the
 * task `tid` has started, so they count against the visitor's thread budget. `idle`: sent a turn of
 * the worker's event loop after each answer, so the host knows no algorithm left its thread spinning.
 */
export type RunnerNote = { note: "threads"; tid: string; count: number } | { note: "idle" };

/** What the worker answers, already in wire form. */
export interface RunnerOutcome {
  /** base64(gzip(JSON)) with `data`, the result files (unless attached) and, on failure, `error` and `error_code`. */
  body: string;
  /** With `attachResults`: the result files' bytes by virtual path (transferred), left out of `body`. */
  files?: Record<string, ArrayBuffer>;
  /** base64 of the captured text, or null when there was none. */
  stdout: string | null;
  stderr: string | null;
  /** False when the algorithm failed (the body then holds `error`). */
  ok: boolean;
  /** The failure, for the host's events and logs. */
  error: string | null;
  /** The failure's kind, null on success. */
  errorCode?: RuntimeErrorCode | null;
  /** Which loader shape ran it. */
  shape: LoaderShape | null;
  /** The worker holds what it cannot release (imported ES modules): replace it after this task. */
  retire?: boolean;
}

export const LoaderShape = {
  emscriptenClassic: "emscripten-classic",
  emscriptenModularize: "emscripten-modularize",
  /** EXPORT_ES6: an ES module whose default export is the factory. */
  emscriptenModule: "emscripten-es-module",
  wasmBindgenNoModules: "wasm-bindgen-no-modules",
  wasmBindgenWeb: "wasm-bindgen-web",
  /** `--target bundler` (its `_bg.js`), `nodejs` or `deno` glue, given the bytes by the worker. */
  wasmBindgenOther: "wasm-bindgen-other",
  /** A WASI preview 1 command module: an empty loader. */
  wasi: "wasi",
  legacy: "legacy",
} as const;
export type LoaderShape = (typeof LoaderShape)[keyof typeof LoaderShape];

/** The Comlink-exposed API of a worker. */
export interface RunnerApi {
  run(task: RunnerTask): Promise<RunnerOutcome>;
  /** How many modules this worker has compiled (one per algorithm it ran); the bench asks. */
  cachedModules(): number;
}

/** The codes a runtime sets: the runtime's part of `ErrorCode`. */
export const RuntimeErrorCode = {
  unknownLoader: ErrorCode.unknownLoader,
  badWasm: ErrorCode.badWasm,
  badDataPackage: ErrorCode.badDataPackage,
  algorithmFailed: ErrorCode.algorithmFailed,
  missingExport: ErrorCode.missingExport,
  badResult: ErrorCode.badResult,
  startupFailed: ErrorCode.startupFailed,
} as const;
export type RuntimeErrorCode = (typeof RuntimeErrorCode)[keyof typeof RuntimeErrorCode];
