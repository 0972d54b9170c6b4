/**
 * The host ↔ Web Worker boundary: what the pool hands a `Runner` and what it
 * gets back. Types only (plus the error codes); big payloads are ArrayBuffers
 * so they are transferred, not copied.
 */

/** What one task needs inside the worker; everything arrives as bytes (the worker has no network). */
export interface RunnerTask {
  /** The slot's tid, for log lines. */
  tid: string;
  /** The `.wasm` bytes. */
  wasm: ArrayBuffer;
  /** Content hash of `wasm` (hex SHA-256): the key of the compiled-module cache. */
  wasmKey: string;
  /** The `.js` loader source. */
  loader: string;
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
  /** The task body's other fields (params, arguments, data_link, result_files…), for the legacy adapter. */
  legacyBody: Record<string, unknown>;
}

/** What the worker answers, already in wire form. */
export interface RunnerOutcome {
  /** base64(gzip(JSON)) with `data`, the result files and, on failure, `error`. */
  body: string;
  /** base64 of the captured text, or null when there was none. */
  stdout: string | null;
  stderr: string | null;
  /** False when the algorithm failed (the body then holds `error`). */
  ok: boolean;
  /** The failure, for the host's events and logs. */
  error: string | null;
  /** The failure's kind (see `RuntimeErrorCode`), null on success. */
  errorCode?: RuntimeErrorCode | null;
  /** Which loader shape ran it. */
  shape: LoaderShape | null;
}

export const LoaderShape = {
  emscriptenClassic: "emscripten-classic",
  emscriptenModularize: "emscripten-modularize",
  wasmBindgenNoModules: "wasm-bindgen-no-modules",
  wasmBindgenWeb: "wasm-bindgen-web",
  legacy: "legacy",
} as const;
export type LoaderShape = (typeof LoaderShape)[keyof typeof LoaderShape];

/** The Comlink-exposed API of a worker. */
export interface RunnerApi {
  run(task: RunnerTask): Promise<RunnerOutcome>;
  /** How many compiled modules this worker keeps. */
  cachedModules(): number;
}

/** Error codes of the runtime, one error type with a numeric code (as fflate does). */
export const RuntimeErrorCode = {
  unknownLoader: 1,
  badWasm: 2,
  badDataPackage: 3,
  algorithmFailed: 4,
  missingExport: 5,
  badResult: 6,
} as const;
export type RuntimeErrorCode = (typeof RuntimeErrorCode)[keyof typeof RuntimeErrorCode];
