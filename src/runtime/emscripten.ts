/**
 * Emscripten loaders, classic and MODULARIZE. Each task evaluates the loader afresh, so it gets a new
 * runtime and a new MEMFS; only the compiled WebAssembly.Module is shared. The wasm is never fetched:
 * `instantiateWasm` instantiates the cached module and `getPreloadedPackage` serves the `.data`.
 */
import { unpackDataPackage } from "./data-package.js";
import { RunnerError, asRunnerError, describe, isExitStatus } from "./errors.js";
import { makeResultDirs, readFiles, writeFiles, type EmscriptenFS } from "./memfs.js";
import { LoaderShape, RuntimeErrorCode } from "../protocol/runner.js";
import type { ShapeResult } from "./shape-result.js";
import type { WorkerTask } from "./task.js";
import { compileLoader, perLoader } from "./loader-cache.js";
import { exportNameOf, exportsCallMain } from "./shape.js";
import type { Transcript } from "./transcript.js";

type ReceiveInstance = (instance: WebAssembly.Instance, module: WebAssembly.Module) => void;

/** The `Module` object we hand the loader; the loader adds `FS` and `callMain` to this same object. */
interface ModuleConfig {
  arguments: string[];
  noInitialRun: boolean;
  wasmBinary: Uint8Array;
  print(...parts: unknown[]): void;
  printErr(...parts: unknown[]): void;
  preRun: Array<() => void>;
  postRun: Array<() => void>;
  onRuntimeInitialized(): void;
  locateFile(path: string): string;
  instantiateWasm(imports: WebAssembly.Imports, receive: ReceiveInstance): object;
  getPreloadedPackage(name: string, size: number): ArrayBuffer;
  quit(status: number, toThrow: unknown): never;
  onAbort(what: unknown): void;
  FS?: EmscriptenFS;
  callMain?: (args: string[]) => unknown;
}

type Factory = (config: ModuleConfig) => unknown;

export async function runEmscripten(
  shape: typeof LoaderShape.emscriptenClassic | typeof LoaderShape.emscriptenModularize,
  task: WorkerTask,
  module: WebAssembly.Module,
  transcript: Transcript,
): Promise<ShapeResult> {
  let settle!: { exit: (status: number) => void; fail: (error: RunnerError) => void };
  const exited = new Promise<number>((resolve, reject) => {
    settle = { exit: resolve, fail: reject };
  });
  let exitStatus: number | null = null;
  const startsMain = perLoader(task.loader, "exportsCallMain", () => exportsCallMain(task.loader));
  const dataPackage = lazy(() => {
    if (!task.dataZip) {
      throw new RunnerError(
        RuntimeErrorCode.badDataPackage,
        "this algorithm needs its data package, but the task has no data_link",
      );
    }
    return unpackDataPackage(task.dataZip);
  });

  const preload = (fs: EmscriptenFS | undefined): void => {
    if (!fs) {
      if (Object.keys(task.preloadFiles).length) {
        transcript.printErr("preload files were not written: the program was built without FS (EXPORTED_RUNTIME_METHODS=FS)");
      }
      return;
    }
    try {
      writeFiles(fs, task.preloadFiles);
      makeResultDirs(fs, task.resultFiles);
    } catch (error) {
      settle.fail(asRunnerError(error, RuntimeErrorCode.algorithmFailed, ""));
      throw error;
    }
  };

  const config: ModuleConfig = {
    arguments: task.args,
    // With callMain exported we start main ourselves (this covers INVOKE_RUN=0 builds too).
    noInitialRun: startsMain,
    wasmBinary: new Uint8Array(task.wasm),
    print: transcript.printOut,
    printErr: transcript.printErr,
    preRun: [() => preload(config.FS)],
    // Every real exit (main returning included) goes through `quit`. Reaching postRun without one means
    // main left with a live runtime (emscripten_exit_with_live_runtime, ASYNCIFY): the program still runs.
    postRun: [() => exitStatus !== null && settle.exit(exitStatus)],
    onRuntimeInitialized: () => {
      if (startsMain) config.callMain?.(task.args);
    },
    locateFile: (path) => path,
    instantiateWasm: (imports, receive) => {
      WebAssembly.instantiate(module, imports)
        .then((instance) => receive(instance, module))
        // main runs inside receive(); what escapes it (after quit/onAbort settled the run) changes nothing.
        .catch((error: unknown) => settle.fail(asRunnerError(error, RuntimeErrorCode.algorithmFailed, "the algorithm crashed: ")));
      return {};
    },
    getPreloadedPackage: (name, size) => {
      const data = dataPackage();
      if (data.byteLength !== size) {
        throw new RunnerError(
          RuntimeErrorCode.badDataPackage,
          `the data package holds ${data.byteLength} bytes, but the loader expects ${name} of ${size} bytes: is data_link the package built with this loader?`,
        );
      }
      return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
    },
    // Emscripten 3.1.x calls quit_ when main returns and on exit(); after an abort or a trap it calls
    // quit_(1, error). Throwing toThrow keeps the runtime's own control flow (callMain catches ExitStatus).
    quit: (status, toThrow) => {
      if (isExitStatus(toThrow)) {
        exitStatus = status;
        settle.exit(status);
      } else {
        settle.fail(asRunnerError(toThrow, RuntimeErrorCode.algorithmFailed, "the algorithm crashed: "));
      }
      throw toThrow;
    },
    onAbort: (what) => {
      const reason = describe(what);
      const said = reason === "OOM" ? ": out of memory (OOM)" : reason ? `: ${reason}` : " (it called abort())";
      settle.fail(new RunnerError(RuntimeErrorCode.algorithmFailed, `the algorithm aborted${said}`));
    },
  };

  try {
    if (shape === LoaderShape.emscriptenClassic) {
      // A `var Module` inside keeps the parameter's value, and nothing lands on the worker's global scope.
      compileLoader(task.loader, "", "Module")(config);
    } else {
      const exportName = perLoader(task.loader, "exportName", () => exportNameOf(task.loader));
      const factory: unknown = compileLoader(task.loader, `return ${exportName};`)();
      if (typeof factory !== "function") {
        throw new RunnerError(RuntimeErrorCode.unknownLoader, "the MODULARIZE loader defines no factory function");
      }
      // The factory's promise rejects when the runtime aborts during start-up.
      Promise.resolve((factory as Factory)(config)).catch((error: unknown) =>
        settle.fail(asRunnerError(error, RuntimeErrorCode.algorithmFailed, "the algorithm failed to start: ")),
      );
    }
  } catch (error) {
    settle.fail(asRunnerError(error, RuntimeErrorCode.algorithmFailed, "the loader failed: "));
  }

  let failure: RunnerError | null = null;
  let status: number | null = null;
  try {
    status = await exited;
  } catch (error) {
    failure = asRunnerError(error, RuntimeErrorCode.algorithmFailed, "");
  }
  if (status !== null && status !== 0) {
    failure = new RunnerError(RuntimeErrorCode.algorithmFailed, `the program exited with status ${status}`);
  }
  // After a failure its reason, said once, is the news; a missing file is only news after a clean exit.
  const files = readFiles(config.FS, task.resultFiles, (note) => failure === null && transcript.printErr(note));
  return { data: status, files, error: failure };
}

function lazy<T>(make: () => T): () => T {
  let value: { made: T } | null = null;
  return () => (value ??= { made: make() }).made;
}
