/** The Comlink-exposed runner of one worker: one task at a time, never throws, compiled modules cached. */
import { runEmscripten } from "./emscripten.js";
import { RunnerError, asRunnerError } from "./errors.js";
import { runLegacy } from "./legacy.js";
import { ModuleCache } from "./module-cache.js";
import { failureOf, outcomeOf } from "./outcome.js";
import { LoaderShape, RuntimeErrorCode, type RunnerApi, type RunnerOutcome, type RunnerTask } from "./protocol.js";
import type { ShapeResult } from "./shape-result.js";
import { detectShape } from "./shape.js";
import { Transcript, captureConsole } from "./transcript.js";
import { runWasmBindgen } from "./wasm-bindgen.js";

export class Runner implements RunnerApi {
  private readonly modules = new ModuleCache(8);
  private queue: Promise<unknown> = Promise.resolve();
  private interrupt: ((reason: RunnerError) => void) | null = null;

  run(task: RunnerTask): Promise<RunnerOutcome> {
    const outcome = this.queue.then(() => this.runOne(task));
    this.queue = outcome;
    return outcome;
  }

  cachedModules(): number {
    return this.modules.size;
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

  private async runOne(task: RunnerTask): Promise<RunnerOutcome> {
    const transcript = new Transcript();
    const restoreConsole = captureConsole(transcript);
    const shape = detectShape(task.loader);
    try {
      if (!shape) {
        throw new RunnerError(
          RuntimeErrorCode.unknownLoader,
          "the loader is not one this worker runs (Emscripten classic or MODULARIZE, wasm-bindgen no-modules or web, legacy Motivus adapter)",
        );
      }
      const interrupted = new Promise<never>((_, reject) => {
        this.interrupt = reject;
      });
      const running = this.dispatch(shape, task, transcript);
      running.catch(() => {}); // an interrupted run may still reject later; that is not news
      return outcomeOf(await Promise.race([running, interrupted]), transcript, shape);
    } catch (error) {
      return failureOf(asRunnerError(error, RuntimeErrorCode.algorithmFailed, "the algorithm failed: "), transcript, shape);
    } finally {
      this.interrupt = null;
      restoreConsole();
    }
  }

  private async dispatch(shape: LoaderShape, task: RunnerTask, transcript: Transcript): Promise<ShapeResult> {
    switch (shape) {
      case LoaderShape.legacy:
        return runLegacy(task, transcript);
      case LoaderShape.emscriptenClassic:
      case LoaderShape.emscriptenModularize:
        return runEmscripten(shape, task, await this.modules.compile(task.wasmKey, task.wasm), transcript);
      case LoaderShape.wasmBindgenNoModules:
      case LoaderShape.wasmBindgenWeb:
        return runWasmBindgen(shape, task, await this.modules.compile(task.wasmKey, task.wasm));
    }
  }
}
