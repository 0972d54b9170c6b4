/**
 * Hands a task's wasm to a loader however the loader asks for it. Loaders that take `wasmBinary` or
 * `instantiateWasm` get the compiled module through those; a loader that ignores them (a post-js that
 * calls its own factory, glue that reads `new URL("x.wasm", import.meta.url)`, Node-style glue that
 * reads its `.wasm` from disk) fetches or instantiates by itself. While a task runs, those calls are
 * answered here: any `.wasm` a loader fetches is the task's wasm, and instantiating the task's bytes
 * instantiates the module this worker already compiled (one compile per program per worker). Nothing
 * else is fetched: the sandbox has no network, and a loader is told so in words.
 */
export interface Program {
  /** The task's `.wasm` bytes (kept by the runner; never transferred away). */
  wasm: ArrayBuffer;
  /** Compiled once per worker from those bytes. */
  module: WebAssembly.Module;
}

type Instantiate = typeof WebAssembly.instantiate;

/** Whether `bytes` are the program's own wasm (the very buffer, or a view of the same bytes). */
export function isProgramBytes(bytes: unknown, program: Program): boolean {
  let view: Uint8Array;
  if (bytes instanceof ArrayBuffer) view = new Uint8Array(bytes);
  else if (ArrayBuffer.isView(bytes)) view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  else return false;
  if (view.byteLength !== program.wasm.byteLength) return false;
  if (view.buffer === program.wasm && view.byteOffset === 0) return true;
  return sameBytes(view, new Uint8Array(program.wasm));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  const words = a.byteOffset % 4 === 0 && b.byteOffset % 4 === 0 ? a.byteLength >>> 2 : 0;
  const wa = new Uint32Array(a.buffer, a.byteOffset, words);
  const wb = new Uint32Array(b.buffer, b.byteOffset, words);
  for (let i = 0; i < words; i++) if (wa[i] !== wb[i]) return false;
  for (let i = words * 4; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The URL a loader is given for its wasm (`locateFile`); fetching it yields the program's bytes. */
export const PROGRAM_WASM_URL = "https://program.invalid/program.wasm";

function requestUrl(input: unknown): string {
  if (typeof input === "string") return input;
  if (input instanceof URL) return input.href;
  if (input instanceof Request) return input.url;
  return String(input);
}

/** Installs the hand-over for one task on the worker's globals; returns the undo. */
export function handOverWasm(program: Program, scope: typeof globalThis = globalThis): () => void {
  const wasm = scope.WebAssembly;
  const original = {
    fetch: scope.fetch,
    instantiate: wasm.instantiate,
    instantiateStreaming: wasm.instantiateStreaming,
    compile: wasm.compile,
    compileStreaming: wasm.compileStreaming,
    Module: wasm.Module,
  };
  /** Responses made by this hand-over: `instantiateStreaming` of one of them instantiates the compiled module. */
  const served = new WeakSet<Response>();

  const fetchProgram = (input: unknown): Promise<Response> => {
    const url = requestUrl(input);
    if (!/\.wasm(?:[?#].*)?$/i.test(url) && url !== PROGRAM_WASM_URL) {
      return Promise.reject(new TypeError(`the sandbox has no network: the algorithm tried to fetch ${url.slice(0, 200)}`));
    }
    const response = new Response(program.wasm.slice(0), { headers: { "content-type": "application/wasm" } });
    served.add(response);
    return Promise.resolve(response);
  };

  const instantiate = function (this: unknown, source: unknown, imports?: WebAssembly.Imports) {
    if (source instanceof original.Module) return original.instantiate.call(wasm, source, imports);
    if (isProgramBytes(source, program)) {
      return original.instantiate.call(wasm, program.module, imports).then((instance) => ({ module: program.module, instance }));
    }
    return (original.instantiate as (s: unknown, i?: WebAssembly.Imports) => Promise<unknown>).call(wasm, source, imports);
  } as Instantiate;

  const instantiateStreaming = async (source: Response | PromiseLike<Response>, imports?: WebAssembly.Imports) => {
    const response = await source;
    if (served.has(response)) {
      const instance = await original.instantiate.call(wasm, program.module, imports);
      return { module: program.module, instance };
    }
    return original.instantiateStreaming.call(wasm, response, imports);
  };

  const compile = (bytes: BufferSource) =>
    isProgramBytes(bytes, program) ? Promise.resolve(program.module) : original.compile.call(wasm, bytes);
  const compileStreaming = async (source: Response | PromiseLike<Response>) => {
    const response = await source;
    return served.has(response) ? program.module : original.compileStreaming.call(wasm, response);
  };

  // `new WebAssembly.Module(bytes)` (Node-style glue compiles synchronously): the compiled module instead.
  const ModuleOfProgram: typeof WebAssembly.Module = new Proxy(original.Module, {
    construct(target, args, newTarget): object {
      if (isProgramBytes(args[0], program)) return program.module;
      return Reflect.construct(target, args, newTarget === ModuleOfProgram ? target : newTarget);
    },
  });

  scope.fetch = fetchProgram as typeof fetch;
  Object.assign(wasm, { instantiate, instantiateStreaming, compile, compileStreaming, Module: ModuleOfProgram });
  return () => {
    scope.fetch = original.fetch;
    Object.assign(wasm, {
      instantiate: original.instantiate,
      instantiateStreaming: original.instantiateStreaming,
      compile: original.compile,
      compileStreaming: original.compileStreaming,
      Module: original.Module,
    });
  };
}

/**
 * For a loader that carries its wasm inside (SINGLE_FILE: the task's `.wasm` is empty): the first
 * module it compiles or instantiates from bytes is handed to `learned`, so the runner keeps it and
 * later tasks get it like any other program's; `asked` hears of each compile as it starts. Returns the undo.
 */
export function learnWasm(
  learned: (program: Program) => void,
  asked: () => void,
  scope: typeof globalThis = globalThis,
): () => void {
  const wasm = scope.WebAssembly;
  const original = { instantiate: wasm.instantiate, compile: wasm.compile };
  let done = false;
  const keep = (bytes: BufferSource, module: WebAssembly.Module): WebAssembly.Module => {
    if (!done) {
      done = true;
      const view = ArrayBuffer.isView(bytes)
        ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
        : new Uint8Array(bytes);
      learned({ wasm: view.slice().buffer as ArrayBuffer, module });
    }
    return module;
  };
  const compile = (bytes: BufferSource) => {
    asked();
    return original.compile.call(wasm, bytes).then((module) => keep(bytes, module));
  };
  const instantiate = function (source: unknown, imports?: WebAssembly.Imports) {
    if (source instanceof wasm.Module) return original.instantiate.call(wasm, source, imports);
    return compile(source as BufferSource).then(async (module) => ({
      module,
      instance: await original.instantiate.call(wasm, module, imports),
    }));
  } as typeof WebAssembly.instantiate;
  Object.assign(wasm, { instantiate, compile });
  return () => Object.assign(wasm, original);
}
