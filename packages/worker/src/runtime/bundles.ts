/**
 * The algorithms this worker has run, by content key: their bytes, their loader and, once a task
 * needed it, the compiled WebAssembly.Module. A warm task arrives with its key alone; only the
 * first task of an algorithm carries its bytes. Least recently used out.
 */
import { LruMap } from "../cache/lru.js";
import { RunnerError, describe } from "./errors.js";
import { RuntimeErrorCode, type BundleRef, type LoaderShape } from "../messages/runner.js";
import { detectShape } from "./shape.js";
import type { Program } from "./wasm-handover.js";

interface Bundle {
  wasm: ArrayBuffer;
  loader: string;
  /** Read from the loader's text once per algorithm. */
  shape: LoaderShape;
  module: Promise<WebAssembly.Module> | null;
}

export interface ResolvedBundle {
  key: string;
  wasm: ArrayBuffer;
  loader: string;
  shape: LoaderShape;
}

export class Bundles {
  private readonly bundles: LruMap<string, Bundle>;
  private compiles = 0;

  constructor(capacity = 8) {
    this.bundles = new LruMap(capacity);
  }

  /** How many modules this worker has compiled: one per algorithm, however many tasks it ran. */
  get compiled(): number {
    return this.compiles;
  }

  resolve(ref: BundleRef): ResolvedBundle {
    let bundle = this.bundles.get(ref.key);
    if (ref.wasm !== null && !bundle) {
      bundle = { wasm: ref.wasm, loader: ref.loader, shape: detectShape(ref.loader), module: null };
      this.bundles.set(ref.key, bundle);
    }
    if (!bundle)
      throw new RunnerError(
        RuntimeErrorCode.badWasm,
        `this worker has no algorithm ${ref.key.slice(0, 12)}… and the task did not carry it`,
      );
    return { key: ref.key, wasm: bundle.wasm, loader: bundle.loader, shape: bundle.shape };
  }

  /**
   * The program of `key` for a runtime: its bytes and compiled module. Null for a loader that carries
   * its wasm inside (an empty `.wasm`) until `learn` was told what that loader compiled.
   */
  async program(key: string): Promise<Program | null> {
    const bundle = this.bundles.get(key);
    if (bundle && bundle.wasm.byteLength === 0 && !bundle.module) return null;
    return { wasm: bundle?.wasm ?? new ArrayBuffer(0), module: await this.compile(key) };
  }

  /** What a loader with its wasm inside compiled: kept as the bundle's program, counted as its one compile. */
  learn(key: string, program: Program): void {
    const bundle = this.bundles.get(key);
    if (!bundle || bundle.module) return;
    this.compiles++;
    bundle.wasm = program.wasm;
    bundle.module = Promise.resolve(program.module);
  }

  /** The compiled module of `key`, compiled on first use. */
  compile(key: string): Promise<WebAssembly.Module> {
    const bundle = this.bundles.get(key);
    if (!bundle) return Promise.reject(new RunnerError(RuntimeErrorCode.badWasm, "the algorithm is not in this worker"));
    bundle.module ??= WebAssembly.compile(bundle.wasm).then(
      (module) => {
        this.compiles++;
        return module;
      },
      // Kept rejected: the same bytes fail the same way next time, with the same message.
      (error: unknown) => {
        throw new RunnerError(
          RuntimeErrorCode.badWasm,
          `the algorithm's .wasm (${bundle.wasm.byteLength} bytes) is not valid WebAssembly: ${describe(error)}`,
        );
      },
    );
    return bundle.module;
  }
}
