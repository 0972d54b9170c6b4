/**
 * What a worker derives from a loader's source, kept per source: its compiled function (calling it
 * again runs its body in a fresh scope, so each task still gets a fresh runtime and filesystem; only
 * the parse and compile are saved) and what its text says. A warm task brings the same string
 * object every time, so a lookup does not hash the text again; nothing here builds a new string
 * of the loader's size per task. The runner owns one, as it owns the bundles those loaders come from.
 */
import { LruMap } from "../cache/lru.js";

export class LoaderCache {
  private readonly kept: LruMap<string, Map<string, unknown>>;

  /** `capacity`: how many loader sources are kept, least recently used out. */
  constructor(capacity = 8) {
    this.kept = new LruMap(capacity);
  }

  /** `make()` once per loader source and `what`. */
  once<T>(loader: string, what: string, make: () => T): T {
    let facts = this.kept.get(loader);
    if (!facts) this.kept.set(loader, (facts = new Map()));
    if (!facts.has(what)) facts.set(what, make());
    return facts.get(what) as T;
  }

  /** `new Function(...params, loader + "\n" + epilogue)`, compiled once per loader source, epilogue and params. */
  compile(loader: string, epilogue: string, ...params: string[]): (...args: unknown[]) => unknown {
    return this.once(
      loader,
      `function(${params.join(",")}) ${epilogue}`,
      () => new Function(...params, `${loader}\n${epilogue}`) as (...args: unknown[]) => unknown,
    );
  }
}
