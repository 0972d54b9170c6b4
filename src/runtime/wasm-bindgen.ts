/**
 * wasm-bindgen glue, `--target no-modules` and `--target web`. A fresh copy of the glue per task (its
 * state lives in closure or module scope), initialised with the cached compiled module, never a URL.
 */
import { compileLoader } from "./loader-cache.js";
import { RunnerError, describe } from "./errors.js";
import { LoaderShape, RuntimeErrorCode } from "../protocol/runner.js";
import type { ShapeResult } from "./shape-result.js";
import type { WorkerTask } from "./task.js";

type Initialiser = (input: unknown) => Promise<unknown>;

interface Glue {
  init: Initialiser;
  /** Where the algorithm's exports live: the initialiser's properties, or the ES module's namespace. */
  exports: object;
}

export async function runWasmBindgen(
  shape: typeof LoaderShape.wasmBindgenNoModules | typeof LoaderShape.wasmBindgenWeb,
  task: WorkerTask,
  module: WebAssembly.Module,
): Promise<ShapeResult> {
  const glue = shape === LoaderShape.wasmBindgenWeb ? await importWeb(task.loader) : evaluateNoModules(task.loader);
  await initialise(glue.init, module);

  const entryName = task.entry ?? "main";
  const entry = findEntry(glue.exports, entryName);
  let value: unknown;
  try {
    value = await entry.fn.apply(entry.owner, task.params);
  } catch (thrown) {
    const error = new RunnerError(RuntimeErrorCode.algorithmFailed, `${entryName}() threw: ${describe(thrown)}`);
    return { data: null, files: {}, error };
  }
  return { data: jsonValue(value, entryName), files: {}, error: null };
}

/** What glue from 0.2.93 on prints when given the module positionally; the worker only does so for glue that needs it. */
const positionalWarning = "using deprecated parameters for the initialization function; pass a single object instead";

/** Old glue took our `{ module_or_path }` object for the module itself: nothing was fetched or instantiated. */
class PositionalOnly extends Error {}

/**
 * Initialises the glue with the compiled module, told apart by what the glue does with the value, not by
 * its text (glue up to 0.2.40 also names its positional parameter `module_or_path`). Glue from 0.2.93 on
 * unwraps `{ module_or_path }`; older glue hands that object as it is to `fetch` (until early 2019: all
 * but a Module is fetched) or to `WebAssembly.instantiate` (later, up to 0.2.92). While the object form
 * runs, those two refuse that very object before anything is fetched or instantiated, and the glue is
 * then given the module positionally, which every release since 0.2.28 accepts.
 */
async function initialise(init: Initialiser, module: WebAssembly.Module): Promise<void> {
  const options = { module_or_path: module };
  const restore = [refuse(WebAssembly, "instantiate", options), refuse(self, "fetch", options)];
  try {
    await init(options);
    return;
  } catch (error) {
    if (!(error instanceof PositionalOnly)) throw error;
  } finally {
    for (const undo of restore) undo();
  }
  const warn = console.warn;
  console.warn = (...parts: unknown[]) => {
    if (parts.length !== 1 || parts[0] !== positionalWarning) warn(...parts);
  };
  try {
    await init(module);
  } finally {
    console.warn = warn;
  }
}

/** Replaces `owner[name]` with a version that throws PositionalOnly when given `value`; returns the undo. */
function refuse(owner: object, name: string, value: unknown): () => void {
  const holder = owner as Record<string, unknown>;
  const original = holder[name];
  if (typeof original !== "function") return () => {};
  holder[name] = function (this: unknown, first: unknown, ...rest: unknown[]) {
    if (first === value) throw new PositionalOnly();
    return (original as Callable).call(this, first, ...rest);
  };
  return () => {
    holder[name] = original;
  };
}

function evaluateNoModules(source: string): Glue {
  const scope = self as unknown as Record<string, unknown>;
  const hadGlobal = "wasm_bindgen" in scope;
  // Old glue assigns `self.wasm_bindgen`, current glue declares `let wasm_bindgen`; the bare name finds both.
  const init: unknown = compileLoader(source, "return wasm_bindgen;")();
  if (!hadGlobal) delete scope.wasm_bindgen;
  if (typeof init !== "function") {
    throw new RunnerError(RuntimeErrorCode.unknownLoader, "the no-modules glue did not define a wasm_bindgen function");
  }
  return { init: init as Initialiser, exports: init };
}

/**
 * A worker never releases an ES module it imported, nor the wasm instance and memory that module
 * keeps: past this many `--target web` tasks the runner asks for a fresh worker (V8 allows a process
 * only so many wasm memories).
 */
const WEB_IMPORTS_PER_WORKER = 64;
let webImports = 0;

/** Whether this worker has imported as many web glues as it should. */
export const webImportsSpent = (): boolean => webImports >= WEB_IMPORTS_PER_WORKER;

async function importWeb(source: string): Promise<Glue> {
  webImports++;
  // A new blob URL per task gives a new module instance, hence fresh glue state.
  const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  let namespace: Record<string, unknown>;
  try {
    namespace = (await import(/* @vite-ignore */ url)) as Record<string, unknown>;
  } finally {
    URL.revokeObjectURL(url);
  }
  const init = namespace.default;
  if (typeof init !== "function") {
    throw new RunnerError(RuntimeErrorCode.unknownLoader, "the --target web glue has no default export to initialise it");
  }
  return { init: init as Initialiser, exports: namespace };
}

type Callable = (...args: unknown[]) => unknown;
const glueNames = new Set(["default", "initSync", "__wbg_init", "__wbindgen_wasm_module"]);

/** `main`, or *ours* `body.entry`; a dotted entry reaches a static method, e.g. `CryptoUtils.otpKdf`. */
function findEntry(exports: object, name: string): { fn: Callable; owner: unknown } {
  let owner: unknown = undefined;
  let value: unknown = exports;
  for (const part of name.split(".")) {
    owner = value;
    const holder = value !== null && (typeof value === "object" || typeof value === "function");
    value = holder ? (value as Record<string, unknown>)[part] : undefined;
  }
  if (typeof value === "function") return { fn: value as Callable, owner };
  const available = Object.keys(exports).filter(
    (key) => !glueNames.has(key) && typeof (exports as Record<string, unknown>)[key] === "function",
  );
  throw new RunnerError(
    RuntimeErrorCode.missingExport,
    `the algorithm has no export ${name}(); it exports ${available.length ? available.join(", ") : "no functions"}`,
  );
}

/**
 * The return value in a form JSON carries, nested values too: undefined → null, BigInt → number when exact
 * else its decimal string, typed arrays (Rust `Vec<u8>`, `Vec<u64>`, …) → lists, Map → object (keys as
 * strings, as JSON has them), Set → list. Other objects are left to JSON (e.g. a Date's `toJSON`).
 */
function jsonValue(value: unknown, entryName: string): unknown {
  const open = new Set<object>();
  const plain = (item: unknown): unknown => {
    if (typeof item === "bigint") return Number.isSafeInteger(Number(item)) ? Number(item) : item.toString();
    if (item === null || typeof item !== "object") return item === undefined ? null : item;
    if (ArrayBuffer.isView(item) && !(item instanceof DataView)) return Array.from(item as unknown as ArrayLike<number>, plain);
    if (open.has(item)) throw new RunnerError(RuntimeErrorCode.badResult, `${entryName}() returned a value that refers to itself`);
    open.add(item);
    try {
      if (Array.isArray(item) || item instanceof Set) return Array.from(item as Iterable<unknown>, plain);
      if (item instanceof Map) return Object.fromEntries(Array.from(item, ([key, entry]) => [String(key), plain(entry)]));
      const prototype = Object.getPrototypeOf(item);
      if (prototype !== Object.prototype && prototype !== null) return item;
      return Object.fromEntries(Object.entries(item).map(([key, entry]) => [key, plain(entry)]));
    } finally {
      open.delete(item);
    }
  };
  const converted = plain(value);
  try {
    JSON.stringify(converted);
  } catch (error) {
    throw new RunnerError(RuntimeErrorCode.badResult, `${entryName}() returned a value that is not JSON-serialisable: ${describe(error)}`);
  }
  return converted;
}
