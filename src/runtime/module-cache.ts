/** Compiled WebAssembly modules by content hash: compile once per distinct wasm per worker, least recently used out. */
import { RunnerError, describe } from "./errors.js";
import { RuntimeErrorCode } from "./protocol.js";

export class ModuleCache {
  // A Map iterates in insertion order; re-inserting on each hit keeps the oldest first.
  private readonly modules = new Map<string, WebAssembly.Module>();

  constructor(private readonly capacity = 8) {}

  get size(): number {
    return this.modules.size;
  }

  async compile(key: string, wasm: ArrayBuffer): Promise<WebAssembly.Module> {
    const cached = this.modules.get(key);
    if (cached) {
      this.modules.delete(key);
      this.modules.set(key, cached);
      return cached;
    }
    let module: WebAssembly.Module;
    try {
      module = await WebAssembly.compile(wasm);
    } catch (error) {
      throw new RunnerError(
        RuntimeErrorCode.badWasm,
        `the algorithm's .wasm (${wasm.byteLength} bytes) is not valid WebAssembly: ${describe(error)}`,
      );
    }
    this.modules.set(key, module);
    for (const oldest of this.modules.keys()) {
      if (this.modules.size <= this.capacity) break;
      this.modules.delete(oldest);
    }
    return module;
  }
}
