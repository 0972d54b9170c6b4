/**
 * wasm-bindgen glue of every target a user may hand over: `no-modules` and `web` (initialised with the
 * compiled module), `bundler` (its `_bg.js`, given the instance), `nodejs` (CommonJS that reads its
 * `.wasm` from disk) and `deno` (an ES module that fetches or reads its `.wasm`): the last two get the
 * bytes from wasm-handover.ts. A fresh copy of the glue per task (its state lives in closure or module
 * scope); the compiled module is the worker's, compiled once.
 */
import type { LoaderCache } from "./loader-cache.js";
import type { Loaders } from "./loader-source.js";
import { handOverWasm, type Program } from "./wasm-handover.js";
import { RunnerError, describe } from "./errors.js";
import { LoaderShape, RuntimeErrorCode } from "../messages/runner.js";
import type { ShapeResult } from "./shape-result.js";
import type { WorkerTask } from "./task.js";

type Initialiser = (input: unknown) => Promise<unknown>;

interface Glue {
  init: Initialiser;
  /** Where the algorithm's exports live: the initialiser's properties, or the ES module's namespace. */
  exports: object;
  shape: GlueShape;
}

type GlueShape =
  typeof LoaderShape.wasmBindgenNoModules | typeof LoaderShape.wasmBindgenWeb | typeof LoaderShape.wasmBindgenOther;

export async function runWasmBindgen(
  shape: GlueShape,
  task: WorkerTask,
  program: Program,
  loaders: Loaders,
): Promise<ShapeResult> {
  const undo = handOverWasm(program);
  let glue: Glue;
  try {
    glue = await readyGlue(shape, task.loader, program, loaders);
  } finally {
    undo();
  }

  const entryName = task.entry ?? "main";
  const entry = findEntry(glue.exports, entryName);
  let value: unknown;
  try {
    value = await entry.fn.apply(entry.owner, task.params);
  } catch (thrown) {
    const error = new RunnerError(RuntimeErrorCode.algorithmFailed, `${entryName}() threw: ${describe(thrown)}`);
    return { data: null, files: {}, error };
  }
  return { data: jsonValue(value, entryName), files: {}, error: null, shape: glue.shape };
}

/** The glue, initialised: its exports hold the algorithm's functions. */
async function readyGlue(shape: GlueShape, loader: string, { wasm, module }: Program, loaders: Loaders): Promise<Glue> {
  if (shape === LoaderShape.wasmBindgenNoModules) {
    const glue = evaluateNoModules(loader, loaders.loaderCache);
    await initialise(glue.init, module);
    return glue;
  }
  if (shape === LoaderShape.wasmBindgenOther) return evaluateNodeGlue(loader, wasm, loaders.loaderCache);
  const namespace = await importGlue(loader, loaders);
  if (typeof namespace.default === "function") {
    const glue: Glue = { init: namespace.default as Initialiser, exports: namespace, shape };
    await initialise(glue.init, module);
    return glue;
  }
  if (typeof namespace.__wbg_set_wasm === "function") return bundlerGlue(namespace, module);
  // deno: the module instantiated itself while it was imported (its fetch or read was answered with the bytes).
  return { init: async () => {}, exports: namespace, shape: LoaderShape.wasmBindgenOther };
}

/**
 * An ES module glue, imported from a blob URL. A blob URL is no base for `new URL("x_bg.wasm",
 * import.meta.url)` (how `deno` glue finds its wasm), so the glue sees a hierarchical URL of its own
 * instead; whatever `.wasm` it then fetches is the task's (wasm-handover.ts). A glue that imports
 * other files cannot run: a task carries one file.
 */
async function importGlue(loader: string, { imports, loaderCache }: Loaders): Promise<Record<string, unknown>> {
  const source = loaderCache.once(loader, "glueSource", () => loader.replaceAll("import.meta.url", JSON.stringify(GLUE_URL)));
  try {
    return await imports.import(source);
  } catch (error) {
    const specifier = /Failed to resolve module specifier "([^"]+)"/.exec(describe(error))?.[1];
    if (!specifier) throw error;
    throw new RunnerError(
      RuntimeErrorCode.unknownLoader,
      `the glue imports another file (${specifier}), and a task carries one: hand over a glue that imports nothing (wasm-bindgen --target web, no-modules, nodejs, or a bundler build whose _bg.js exports __wbg_set_wasm)`,
    );
  }
}

/** What an ES module glue takes for its own URL. */
const GLUE_URL = "https://program.invalid/glue.js";

/**
 * `--target bundler`'s `_bg.js`: the glue a bundler links the wasm to. The wasm imports that very
 * module (its import module names), and `__wbg_set_wasm` hands the glue the instance's exports.
 */
async function bundlerGlue(namespace: Record<string, unknown>, module: WebAssembly.Module): Promise<Glue> {
  const wasmImports: WebAssembly.Imports = {};
  for (const { module: name } of WebAssembly.Module.imports(module)) wasmImports[name] = namespace as WebAssembly.ModuleImports;
  const instance = await WebAssembly.instantiate(module, wasmImports);
  (namespace.__wbg_set_wasm as (exports: WebAssembly.Exports) => void)(instance.exports);
  (instance.exports.__wbindgen_start as (() => void) | undefined)?.();
  return { init: async () => {}, exports: namespace, shape: LoaderShape.wasmBindgenOther };
}

/**
 * `--target nodejs`: CommonJS that reads its `.wasm` with `require("fs")` and compiles it with
 * `new WebAssembly.Module`. It gets the bytes (and so the compiled module) and the two Node modules it
 * uses for them; any other `require` is refused in words.
 */
function evaluateNodeGlue(loader: string, wasm: ArrayBuffer, loaderCache: LoaderCache): Glue {
  const commonJs = { exports: {} as Record<string, unknown> };
  const nodeModules: Record<string, unknown> = {
    // The glue reads one file, its .wasm: any path it asks for is that file (wasm-handover.ts then
    // answers `new WebAssembly.Module` of these bytes with the module compiled once).
    fs: { readFileSync: () => new Uint8Array(wasm) },
    path: { join: (...parts: string[]) => parts.join("/") },
    util: { TextDecoder, TextEncoder },
  };
  const require = (name: string): unknown => {
    const found = nodeModules[name.replace(/^node:/, "")];
    if (found) return found;
    throw new RunnerError(
      RuntimeErrorCode.unknownLoader,
      `the glue asked for require("${name}"): only Node glue that reads its .wasm runs here`,
    );
  };
  loaderCache.compile(
    loader,
    "",
    "module",
    "exports",
    "require",
    "__dirname",
    "__filename",
  )(commonJs, commonJs.exports, require, "/program", "/program/glue.js");
  return { init: async () => {}, exports: commonJs.exports, shape: LoaderShape.wasmBindgenOther };
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
  /* eslint-disable no-console -- the worker's console is the task's stderr: the deprecation warning our positional call causes is dropped from it */
  const warn = console.warn;
  console.warn = (...parts: unknown[]) => {
    if (parts.length !== 1 || parts[0] !== positionalWarning) warn(...parts);
  };
  try {
    await init(module);
  } finally {
    console.warn = warn;
  }
  /* eslint-enable no-console */
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

function evaluateNoModules(source: string, loaderCache: LoaderCache): Glue {
  const scope = self as unknown as Record<string, unknown>;
  const hadGlobal = "wasm_bindgen" in scope;
  // Old glue assigns `self.wasm_bindgen`, current glue declares `let wasm_bindgen`; the bare name finds both.
  const init: unknown = loaderCache.compile(source, "return wasm_bindgen;")();
  if (!hadGlobal) delete scope.wasm_bindgen;
  if (typeof init !== "function") {
    throw new RunnerError(RuntimeErrorCode.unknownLoader, "the no-modules glue did not define a wasm_bindgen function");
  }
  return { init: init as Initialiser, exports: init, shape: LoaderShape.wasmBindgenNoModules };
}

type Callable = (...args: unknown[]) => unknown;
const glueNames: ReadonlySet<string> = new Set(["default", "initSync", "__wbg_init", "__wbindgen_wasm_module"]);

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
    if (open.has(item))
      throw new RunnerError(RuntimeErrorCode.badResult, `${entryName}() returned a value that refers to itself`);
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
    throw new RunnerError(
      RuntimeErrorCode.badResult,
      `${entryName}() returned a value that is not JSON-serialisable: ${describe(error)}`,
    );
  }
  return converted;
}
