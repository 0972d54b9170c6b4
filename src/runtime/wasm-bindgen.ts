/**
 * wasm-bindgen glue, `--target no-modules` and `--target web`. A fresh copy of the glue per task (its
 * state lives in closure or module scope), initialised with the cached compiled module, never a URL.
 */
import { compileLoader } from "./loader-cache.js";
import { RunnerError, describe } from "./errors.js";
import { LoaderShape, RuntimeErrorCode, type RunnerTask } from "./protocol.js";
import type { ShapeResult } from "./shape-result.js";

type Initialiser = (input: unknown) => Promise<unknown>;

interface Glue {
  init: Initialiser;
  /** Where the algorithm's exports live: the initialiser's properties, or the ES module's namespace. */
  exports: object;
}

export async function runWasmBindgen(
  shape: typeof LoaderShape.wasmBindgenNoModules | typeof LoaderShape.wasmBindgenWeb,
  task: RunnerTask,
  module: WebAssembly.Module,
): Promise<ShapeResult> {
  const glue = shape === LoaderShape.wasmBindgenWeb ? await importWeb(task.loader) : evaluateNoModules(task.loader);
  // Glue from 0.2.9x on takes `{ module_or_path }` and warns about the positional form; older glue
  // only knows the positional form and rejects the object.
  await glue.init(task.loader.includes("module_or_path") ? { module_or_path: module } : module);

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

function evaluateNoModules(source: string): Glue {
  const scope = self as unknown as Record<string, unknown>;
  const hadGlobal = "wasm_bindgen" in scope;
  // Old glue assigns `self.wasm_bindgen`, current glue declares `let wasm_bindgen`; the bare name finds both.
  const init: unknown = compileLoader(`${source}\nreturn wasm_bindgen;`)();
  if (!hadGlobal) delete scope.wasm_bindgen;
  if (typeof init !== "function") {
    throw new RunnerError(RuntimeErrorCode.unknownLoader, "the no-modules glue did not define a wasm_bindgen function");
  }
  return { init: init as Initialiser, exports: init };
}

async function importWeb(source: string): Promise<Glue> {
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

/** The return value as it will be JSON-encoded: undefined → null, typed arrays → plain arrays. */
function jsonValue(value: unknown, entryName: string): unknown {
  let plain = value === undefined ? null : value;
  // Rust `Vec<u8>` and friends arrive as typed arrays, which JSON would turn into {"0": …} objects.
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    plain = Array.from(value as unknown as ArrayLike<number | bigint>, Number);
  }
  try {
    JSON.stringify(plain);
  } catch (error) {
    throw new RunnerError(RuntimeErrorCode.badResult, `${entryName}() returned a value that is not JSON-serialisable: ${describe(error)}`);
  }
  return plain;
}
