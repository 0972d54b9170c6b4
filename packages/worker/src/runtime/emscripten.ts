/**
 * Emscripten programs of every release since 1.38 and every shape, run by what the loader does
 * (emscripten-loader.ts), never by the text of one release's loader. Each task evaluates the loader
 * afresh (a new runtime, a new MEMFS); only the compiled WebAssembly.Module is shared. The wasm is
 * never fetched (`instantiateWasm`, `wasmBinary`, and wasm-handover.ts for loaders that ignore both).
 *
 * main is started by us when the build exports `callMain` (so INVOKE_RUN=0 builds, and builds whose
 * pre-js forces `noInitialRun`, run too), else by the runtime itself with `arguments`. `entry` (*ours*)
 * names a function on the module to call with the arguments instead (e.g. ffmpeg.wasm's `exec`).
 * A program that has not reached main within the start-up limit fails with what it was waiting for.
 */
import { unpackDataPackage } from "./data-package.js";
import { RunnerError, asRunnerError, describe, isExitStatus } from "./errors.js";
import { evaluateModuleLoader, evaluateScriptLoader, exportedFunction, ownValue, type Presented } from "./emscripten-loader.js";
import { programFiles, type ProgramFiles } from "./memfs.js";
import { LoaderShape, RuntimeErrorCode } from "../messages/runner.js";
import type { ShapeResult } from "./shape-result.js";
import type { WorkerTask } from "./task.js";
import { isModuleSource, type Loaders } from "./loader-source.js";
import type { Transcript } from "./transcript.js";
import { PROGRAM_WASM_URL, handOverWasm, learnWasm, type Program } from "./wasm-handover.js";
import { importsSharedMemory } from "./wasm-imports.js";

type ReceiveInstance = (instance: WebAssembly.Instance, module: WebAssembly.Module) => unknown;
type Callable = (...args: unknown[]) => unknown;

/** The settings object we hand the loader (its `Module`); the runtime adds `FS`, `callMain`, … to it or to a copy. */
interface ModuleConfig {
  arguments: string[];
  noInitialRun: boolean;
  noExitRuntime: boolean;
  wasmBinary?: Uint8Array;
  print(...parts: unknown[]): void;
  printErr(...parts: unknown[]): void;
  preRun: Array<(module?: unknown) => void>;
  postRun: Array<() => void>;
  onRuntimeInitialized(): void;
  locateFile(path: string): string;
  instantiateWasm?(imports: WebAssembly.Imports, receive: ReceiveInstance): Promise<unknown>;
  getPreloadedPackage(name: string, size: number): ArrayBuffer;
  quit(status: number, toThrow: unknown): never;
  onAbort(what: unknown): void;
}

export interface EmscriptenOptions extends Loaders {
  /** A program that has not reached main by then fails, saying what it was waiting for. */
  startupMs: number;
  /** Told what a loader with its wasm inside compiled (SINGLE_FILE), so the next task reuses it. */
  learn: (program: Program) => void;
}

type EmscriptenShape =
  typeof LoaderShape.emscriptenClassic | typeof LoaderShape.emscriptenModularize | typeof LoaderShape.emscriptenModule;

// The names main has among a module's exports, in every release (fastcomp's `_main` included).
const MAIN_EXPORTS: ReadonlySet<string> = new Set(["main", "_main", "__main_argc_argv", "__main_void"]);

/** `program` is null for a loader that carries its wasm inside and has not been run by this worker yet. */
export async function runEmscripten(
  task: WorkerTask,
  program: Program | null,
  transcript: Transcript,
  options: EmscriptenOptions,
): Promise<ShapeResult> {
  const threaded = program !== null && importsSharedMemory(program.wasm);
  if (threaded && !self.crossOriginIsolated) throw threadsUnavailable();
  const run = new EmscriptenRun(task, program, threaded, transcript, options);
  const undo = program ? handOverWasm(program) : learnWasm(options.learn, () => run.wasmAsked());
  try {
    return await run.result();
  } finally {
    undo();
    run.release();
  }
}

class EmscriptenRun {
  private settle!: { exit: (status: number) => void; fail: (error: RunnerError) => void };
  private readonly exited = new Promise<number>((resolve, reject) => {
    this.settle = { exit: resolve, fail: reject };
  });
  private exitStatus: number | null = null;
  private mainStarted = false;
  /** How main ended, seen by its export's wrapper; null while it has not (or has unwound). */
  private mainEnded: number | null = null;
  /** While the task's entry runs, and the abort it caused (it may catch it and answer anyway). */
  private inEntry = false;
  private entryAbort: RunnerError | null = null;
  /** Whether main is among the exports under a name we know, so `mainStarted` can be trusted. */
  private mainWatched = false;
  /** What the last `noInitialRun` read answered: true when we start main ourselves. */
  private startsMain: boolean | null = null;
  private instantiateAsked = false;
  /** What the program waits for now, for the start-up limit's message; null once main runs. */
  private waitingFor: string | null = "the loader to finish evaluating";
  /** The runtime's own module object (ours, or the copy the loader made of it). */
  private module: object;
  private scopeFS: unknown = undefined;
  private files: ProgramFiles | null = null;
  private shape: EmscriptenShape = LoaderShape.emscriptenClassic;
  private loaderUrl: string | null = null;
  private readonly config: ModuleConfig;

  constructor(
    private readonly task: WorkerTask,
    private readonly program: Program | null,
    /** A -pthread build (its wasm imports a shared memory). */
    private readonly threaded: boolean,
    private readonly transcript: Transcript,
    private readonly options: EmscriptenOptions,
  ) {
    this.config = this.makeConfig();
    this.module = this.config;
  }

  async result(): Promise<ShapeResult> {
    const watchdog = setTimeout(() => this.startupExpired(), this.options.startupMs);
    let failure: RunnerError | null = null;
    let status: number | null = null;
    try {
      await this.start();
      status = await this.exited;
    } catch (error) {
      failure = asRunnerError(error, RuntimeErrorCode.algorithmFailed, "");
    } finally {
      clearTimeout(watchdog);
    }
    if (status !== null && status !== 0)
      failure = new RunnerError(RuntimeErrorCode.algorithmFailed, `the program exited with status ${status}`);
    // After a failure its reason, said once, is the news; a missing file is only news after a clean exit.
    const missing = (note: string) => failure === null && this.transcript.printErr(note);
    const files = this.files ? this.files.read(this.task.resultFiles, missing) : noFiles(this.task.resultFiles, missing);
    return { data: status, files, error: failure, shape: this.shape };
  }

  release(): void {
    if (this.loaderUrl) URL.revokeObjectURL(this.loaderUrl);
  }

  /** The loader started instantiating its wasm (by our hook, or by itself from bytes it carries). */
  wasmAsked(): void {
    this.instantiateAsked = true;
    this.waitingFor = "the wasm to instantiate";
  }

  private startupExpired(): void {
    if (this.waitingFor === null) return;
    const limit = Math.round(this.options.startupMs / 1000);
    this.settle.fail(
      new RunnerError(
        RuntimeErrorCode.startupFailed,
        `the program did not start within ${limit} s: it was still waiting for ${this.waitingFor}`,
      ),
    );
  }

  /** Evaluates the loader and starts the program in whatever way the loader presented itself. */
  private async start(): Promise<void> {
    const presented = await this.evaluate();
    if (presented.kind === "classic") return;
    if (this.shape === LoaderShape.emscriptenClassic) this.shape = LoaderShape.emscriptenModularize;
    const failed = (error: unknown) =>
      this.settle.fail(asRunnerError(error, RuntimeErrorCode.algorithmFailed, "the algorithm failed to start: "));
    if (presented.kind === "factory") {
      this.waitingFor = "the factory to ask for its wasm";
      // The factory's promise rejects when the runtime aborts during start-up; it resolves after main
      // when the build runs main itself, else main is started here.
      return whenReady(presented.factory(this.config), () => this.startMainIfIdle(), failed);
    }
    this.waitingFor = "the module the loader started by itself";
    whenReady(presented.module, (module) => this.runStartedModule(module), failed);
  }

  private async evaluate(): Promise<Presented> {
    const { loader } = this.task;
    const module = isModuleSource(loader, this.options.loaderCache);
    if (module) this.shape = LoaderShape.emscriptenModule;
    const presented = module
      ? await evaluateModuleLoader(loader, this.config, this.options.imports)
      : this.evaluateScript(loader);
    // A loader with its wasm inside decodes it in a microtask before it instantiates it.
    if (presented.kind === "classic" && !this.program) await new Promise((resolve) => setTimeout(resolve, 0));
    if (presented.kind === "classic" && !this.instantiateAsked) {
      throw new RunnerError(
        RuntimeErrorCode.unknownLoader,
        "the loader is not one this worker runs: it is not WASI (empty), wasm-bindgen glue or a legacy adapter, and as Emscripten it neither left a factory (MODULARIZE, EXPORT_ES6) nor started a program on the Module it was given (classic)",
      );
    }
    return presented;
  }

  /** Synchronously: a classic runtime may call preRun in a microtask, and it needs the script-level FS. */
  private evaluateScript(loader: string): Presented {
    const presented = evaluateScriptLoader(loader, this.config, this.options.loaderCache);
    this.scopeFS = presented.scopeFS;
    return presented;
  }

  private makeConfig(): ModuleConfig {
    const { task, transcript } = this;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the getter below has the settings object as `this`
    const run = this;
    const config: ModuleConfig = {
      arguments: task.args,
      // We start main ourselves when we can (callMain exported) or must (an entry). The last read is the
      // loader's decision (earlier ones copy the settings); a write is that copy coming back.
      get noInitialRun() {
        run.startsMain = task.entry !== null || exportedFunction(run.module, "callMain") !== undefined;
        return run.startsMain;
      },
      set noInitialRun(_copied: boolean) {},
      // 1.38 skips `quit` when main returns 0 with a live runtime; 2.x and later ignore this.
      noExitRuntime: false,

      print: transcript.printOut,
      printErr: transcript.printErr,
      // The runtime passes its module object: a loader whose pre-js copied our settings has its own.
      preRun: [(module) => this.preload(module ?? config)],
      // Every real exit (main returning included) goes through `quit`. Reaching postRun without one means
      // main has not run (INVOKE_RUN=0) or left with a live runtime (emscripten_exit_with_live_runtime, ASYNCIFY).
      postRun: [() => this.afterRun()],
      // main follows at once (the runtime's own call or ours): from here on the deadline governs.
      onRuntimeInitialized: () => {
        this.waitingFor = null;
        if (this.startsMain) this.startMain();
      },
      locateFile: (path) => this.locate(path),
      getPreloadedPackage: (name, size) => this.dataPackage(name, size),
      // Emscripten calls quit_ when main returns and on exit(); after an abort or a trap it calls
      // quit_(1, error). Throwing toThrow keeps the runtime's own control flow (callMain catches ExitStatus).
      quit: (status, toThrow) => {
        if (isExitStatus(toThrow)) this.exit(status);
        else this.settle.fail(asRunnerError(toThrow, RuntimeErrorCode.algorithmFailed, "the algorithm crashed: "));
        throw toThrow;
      },
      onAbort: (what) => {
        const reason = describe(what);
        const said = reason === "OOM" ? ": out of memory (OOM)" : reason ? `: ${reason}` : " (it called abort())";
        const failure = new RunnerError(RuntimeErrorCode.algorithmFailed, `the algorithm aborted${said}`);
        // An entry (*ours*) may catch the abort it causes (ffmpeg.wasm's exec ends every run that way): its return decides.
        if (this.inEntry) this.entryAbort ??= failure;
        else this.settle.fail(failure);
      },
    };
    if (this.threaded) {
      // -pthread builds start their threads from this script: a blob URL, the sandbox has no other.
      // (Only they are given one: a post-js may read the setting for a convention of its own.)
      Object.defineProperty(config, "mainScriptUrlOrBlob", {
        get: () => this.loaderScriptUrl(),
        set: () => {},
        enumerable: true,
      });
    }
    return this.program ? Object.assign(config, this.handOver(this.program)) : config;
  }

  /** The settings that give the loader the program's bytes and compiled module. */
  private handOver(program: Program): Pick<ModuleConfig, "wasmBinary" | "instantiateWasm"> {
    return {
      wasmBinary: new Uint8Array(program.wasm),
      // Resolves with what `receive` returns (the exports): 3.1.7x–4.x loaders await it.
      instantiateWasm: (imports, receive) => {
        this.wasmAsked();
        return WebAssembly.instantiate(program.module, imports).then(
          (instance) => {
            this.waitingFor = "the runtime to initialise (its run dependencies, such as a data package)";
            return receive(this.watchMain(instance), program.module);
          },
          (error: unknown) => this.settle.fail(asRunnerError(error, RuntimeErrorCode.algorithmFailed, "the algorithm crashed: ")),
        );
      },
    };
  }

  /**
   * Where a loader finds a file it names: its wasm is the program; its own script (pthread workers of
   * 3.1.58+ start from it) is a blob URL of the loader. A separate `.worker.js` cannot come with a task.
   */
  private locate(path: string): string {
    if (/\.wasm$/i.test(path)) return PROGRAM_WASM_URL;
    if (/\.worker\.m?js$/i.test(path)) {
      this.settle.fail(
        new RunnerError(
          RuntimeErrorCode.startupFailed,
          `this is a -pthread build of an Emscripten release before 3.1.58: its threads start from a separate ${path}, which a task cannot carry; rebuild with Emscripten 3.1.58 or later (threads then start from the loader itself)`,
        ),
      );
      return path;
    }
    if (/\.m?js$/i.test(path)) return this.loaderScriptUrl();
    return path;
  }

  /** The loader itself at a blob URL (revoked when the task ends). */
  loaderScriptUrl(): string {
    return (this.loaderUrl ??= URL.createObjectURL(new Blob([this.task.loader], { type: "text/javascript" })));
  }

  private dataPackage(name: string, size: number): ArrayBuffer {
    if (!this.task.dataZip)
      throw new RunnerError(
        RuntimeErrorCode.badDataPackage,
        "this algorithm needs its data package, but the task has no data_link",
      );
    const data = unpackDataPackage(this.task.dataZip);
    if (data.byteLength !== size) {
      throw new RunnerError(
        RuntimeErrorCode.badDataPackage,
        `the data package holds ${data.byteLength} bytes, but the loader expects ${name} of ${size} bytes: is data_link the package built with this loader?`,
      );
    }
    return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
  }

  /** The instance with its main export wrapped, so we know whether the loader ran main itself. */
  private watchMain(instance: WebAssembly.Instance): WebAssembly.Instance {
    const exports: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(instance.exports)) {
      const main = MAIN_EXPORTS.has(name) && typeof value === "function";
      if (main) this.mainWatched = true;
      exports[name] = main ? (...args: unknown[]) => this.runMain(value as Callable, args) : value;
    }
    return { exports } as WebAssembly.Instance;
  }

  /**
   * main itself: how it ended is the exit status when the runtime says nothing (releases that skip
   * `quit` when main returns, builds that do not read `Module.quit`). A main that unwinds to keep the
   * runtime alive (ASYNCIFY, emscripten_exit_with_live_runtime) throws something else: it runs on.
   */
  private runMain(main: Callable, args: unknown[]): unknown {
    this.mainStarted = true;
    try {
      const status = main(...args);
      this.mainEnded ??= typeof status === "number" ? status : 0;
      return status;
    } catch (error) {
      if (isExitStatus(error)) this.mainEnded ??= error.status;
      throw error;
    }
  }

  /** postRun: main has run and come back, or the program lives on, or main is ours to start. */
  private afterRun(): void {
    if (this.exitStatus !== null) return this.exit(this.exitStatus);
    if (this.mainEnded !== null) return this.exit(this.mainEnded);
    // The runtime ran main itself under a name we cannot watch (minified exports) and came back.
    if (this.startsMain === false && !this.mainWatched) return this.exit(0);
    this.startMainIfIdle();
  }

  /** Writes the task's files into the module's filesystem, before main. */
  private preload(module: unknown): void {
    if (module && typeof module === "object") this.module = module;
    this.files = programFiles(this.module, this.scopeFS);
    if (!this.files) {
      if (Object.keys(this.task.preloadFiles).length) {
        this.transcript.printErr(
          "preload files were not written: the program was built without a filesystem (FORCE_FILESYSTEM / EXPORTED_RUNTIME_METHODS=FS)",
        );
      }
      return;
    }
    try {
      this.files.prepare(this.task.preloadFiles, this.task.resultFiles);
    } catch (error) {
      this.settle.fail(asRunnerError(error, RuntimeErrorCode.algorithmFailed, ""));
      throw error;
    }
  }

  /**
   * Starts main once the runtime is up, when nobody ran it (INVOKE_RUN=0 builds, modules the loader
   * started itself). A build that runs main itself but whose main export is renamed (minified) may be
   * running a live main: it is left alone.
   */
  private startMainIfIdle(): void {
    if (this.mainStarted || this.exitStatus !== null) return;
    if (this.startsMain === false && !this.mainWatched) return;
    this.startMain();
  }

  /** Calls the entry (*ours*) or callMain with the task's arguments. */
  private startMain(): void {
    if (this.mainStarted) return;
    const name = this.task.entry ?? "callMain";
    const entry = exportedFunction(this.module, name);
    if (!entry) {
      const why = this.task.entry
        ? `the module has no function ${name}() to call as the task's entry`
        : "the runtime started but main never ran, and the build exports no callMain: build the program with a main() (and -sEXPORTED_RUNTIME_METHODS=callMain if INVOKE_RUN=0)";
      return this.settle.fail(new RunnerError(RuntimeErrorCode.startupFailed, why));
    }
    this.mainStarted = true;
    this.waitingFor = null;
    this.inEntry = this.task.entry !== null;
    try {
      const args = this.task.entry ? this.task.args : [this.task.args];
      const returned = entry.apply(this.module, args);
      this.inEntry = false;
      if (this.entryAbort && typeof returned !== "number") return this.settle.fail(this.entryAbort);
      // Builds whose callMain (or entry) returns the status without calling quit.
      if (typeof returned === "number") this.exit(returned);
      else if (this.task.entry)
        whenReady(
          returned,
          (value) => this.exit(typeof value === "number" ? value : 0),
          (error) => this.crashed(error),
        );
    } catch (error) {
      this.inEntry = false;
      if (isExitStatus(error)) this.exit(error.status);
      else this.crashed(this.entryAbort ?? error);
    }
  }

  private exit(status: number): void {
    this.exitStatus ??= status;
    this.settle.exit(this.exitStatus);
  }

  private crashed(error: unknown): void {
    this.settle.fail(asRunnerError(error, RuntimeErrorCode.algorithmFailed, "the algorithm crashed: "));
  }

  /** A module the loader started with its own settings: our files go in through its FS, then main. */
  private runStartedModule(module: unknown): void {
    if (!module || typeof module !== "object") {
      return this.settle.fail(
        new RunnerError(RuntimeErrorCode.unknownLoader, "the loader started the program itself but gave no module"),
      );
    }
    this.waitingFor = null;
    this.preload(module);
    this.mainWatched = true;
    this.startMainIfIdle();
  }
}

function threadsUnavailable(): RunnerError {
  return new RunnerError(
    RuntimeErrorCode.startupFailed,
    "this is a -pthread program (its threads share one memory), which needs a cross-origin-isolated page (SharedArrayBuffer): " +
      "the site must serve the page with the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp (or credentialless)",
  );
}

/** Result files of a program without a filesystem: each one is missing. */
function noFiles(paths: readonly string[], missing: (note: string) => void): Record<string, Uint8Array> {
  for (const path of paths) missing(`result file ${path} is missing: the program has no filesystem`);
  return {};
}

/**
 * Calls `ok` with what `value` resolves to. A thenable's `then` is called once, directly: before 2.0 a
 * MODULARIZE module was itself a thenable that passes itself on, which `await` would chase forever.
 */
function whenReady(value: unknown, ok: (module: unknown) => void, fail: (error: unknown) => void): void {
  const then = ownValue(value, "then");
  if (typeof then !== "function") return ok(value);
  let called = false;
  const once = (module: unknown) => {
    if (called) return;
    called = true;
    ok(module);
  };
  try {
    (then as Callable).call(value, once, fail);
  } catch (error) {
    fail(error);
  }
}
