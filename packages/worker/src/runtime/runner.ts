/**
 * The Comlink-exposed runner of one worker: one task at a time, never throws. It keeps the
 * algorithms it ran (bytes, loader, compiled module) so a warm task needs only its bundle's key, and
 * ends whatever an algorithm left running (nested workers, timers) when its task ends.
 */
import { runEmscripten } from "./emscripten.js";
import { RunnerError, asRunnerError } from "./errors.js";
import { LegacyAdapters, runLegacy } from "./legacy.js";
import { Bundles } from "./bundles.js";
import type { Leftovers } from "./leftovers.js";
import { failureOf, outcomeOf } from "./outcome.js";
import {
  LoaderShape,
  RuntimeErrorCode,
  type RunnerApi,
  type RunnerNote,
  type RunnerOutcome,
  type RunnerTask,
} from "../messages/runner.js";
import type { ShapeResult } from "./shape-result.js";
import { Transcript, captureConsole } from "./transcript.js";
import type { WorkerTask } from "./task.js";
import { runWasmBindgen } from "./wasm-bindgen.js";
import { runWasi } from "./wasi.js";
import { ModuleImports, type Loaders } from "./loader-source.js";
import { LoaderCache } from "./loader-cache.js";
import type { Program } from "./wasm-handover.js";

export class Runner implements RunnerApi {
  private readonly bundles = new Bundles(8);
  /** What the bundles' loaders left in this worker: imported ES modules, compiled sources. */
  private readonly loaders: Loaders = { imports: new ModuleImports(), loaderCache: new LoaderCache(8) };
  private readonly adapters: LegacyAdapters;
  private queue: Promise<unknown> = Promise.resolve();
  private interrupt: ((reason: RunnerError) => void) | null = null;

  run(task: RunnerTask): Promise<RunnerOutcome> {
    const outcome = this.queue.then(() => this.runOne(task));
    this.queue = outcome;
    return outcome;
  }

  /** `note`: what the worker says to the host beside its answers (RunnerNote). */
  constructor(
    private readonly leftovers: Leftovers,
    private readonly note: (note: RunnerNote) => void = () => {},
  ) {
    // Legacy adapters start from the real Worker: the runtime ends them itself, not the sweep.
    this.adapters = new LegacyAdapters(leftovers.Worker);
  }

  cachedModules(): number {
    return this.bundles.compiled;
  }

  /**
   * Ends the running task with a failure: an error or rejection nobody caught (an algorithm's
   * timer or callback) would otherwise leave it waiting forever. False when no task is running.
   */
  fail(reason: unknown): boolean {
    if (!this.interrupt) return false;
    this.interrupt(asRunnerError(reason, RuntimeErrorCode.algorithmFailed, "uncaught error in the algorithm: "));
    return true;
  }

  private async runOne({ bundle: ref, ...rest }: RunnerTask): Promise<RunnerOutcome> {
    const transcript = new Transcript();
    const restoreConsole = captureConsole(transcript);
    let shape: LoaderShape | null = null;
    try {
      const bundle = this.bundles.resolve(ref);
      const task: WorkerTask = { ...rest, wasm: bundle.wasm, loader: bundle.loader };
      shape = bundle.shape;
      // Each thread the program starts counts against the visitor's budget (the pool holds back offers).
      this.leftovers.workersStarted = (count) => this.note({ note: "threads", tid: rest.tid, count });
      const interrupted = new Promise<never>((_, reject) => {
        this.interrupt = reject;
      });
      const running = this.dispatch(shape, bundle.key, task, transcript);
      running.catch(() => {}); // an interrupted run may still reject later; that is not news
      const result = await Promise.race([running, interrupted]);
      this.sweep(transcript);
      const outcome = outcomeOf(result, transcript, result.shape ?? shape, rest.attachResults);
      return this.loaders.imports.spent ? { ...outcome, retire: true } : outcome;
    } catch (error) {
      this.sweep(transcript);
      return failureOf(asRunnerError(error, RuntimeErrorCode.algorithmFailed, "the algorithm failed: "), transcript, shape);
    } finally {
      this.leftovers.workersStarted = null;
      this.interrupt = null;
      restoreConsole();
    }
  }

  /** Nothing the algorithm started outlives its task. */
  private sweep(transcript: Transcript): void {
    // A worker prelude (`onmessage = …`) left in a loader must not hear this worker's messages.
    (self as { onmessage: unknown }).onmessage = null;
    const workers = this.leftovers.sweep();
    if (workers) transcript.printErr(`the algorithm left ${workers} nested worker(s) running after its task; they were stopped`);
  }

  private async dispatch(shape: LoaderShape, key: string, task: WorkerTask, transcript: Transcript): Promise<ShapeResult> {
    switch (shape) {
      case LoaderShape.legacy:
        return runLegacy(task, transcript, this.adapters, await this.bundles.compile(key).catch(() => null));
      case LoaderShape.wasi:
        return runWasi(task, await this.bundles.compile(key), transcript);
      case LoaderShape.emscriptenClassic:
      case LoaderShape.emscriptenModularize:
      case LoaderShape.emscriptenModule: {
        const learn = (program: Program) => this.bundles.learn(key, program);
        return runEmscripten(task, await this.bundles.program(key), transcript, {
          startupMs: task.startupMs,
          ...this.loaders,
          learn,
        });
      }
      case LoaderShape.wasmBindgenNoModules:
      case LoaderShape.wasmBindgenWeb:
      case LoaderShape.wasmBindgenOther:
        return runWasmBindgen(shape, task, { wasm: task.wasm, module: await this.bundles.compile(key) }, this.loaders);
    }
  }
}
