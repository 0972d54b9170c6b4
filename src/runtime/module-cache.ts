/** Compiled WebAssembly modules by content hash: compile once per distinct wasm per worker, least recently used out. */
import { LruMap } from "../cache/lru.js";
import { RunnerError, describe } from "./errors.js";
import { RuntimeErrorCode } from "./protocol.js";

export class ModuleCache {
  private readonly modules: LruMap<string, WebAssembly.Module>;

  constructor(capacity = 8) {
    this.modules = new LruMap(capacity);
  }

  get size(): number {
    return this.modules.size;
  }

  async compile(key: string, wasm: ArrayBuffer): Promise<WebAssembly.Module> {
    const cached = this.modules.get(key);
    if (cached) return cached;
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
    return module;
  }
}
