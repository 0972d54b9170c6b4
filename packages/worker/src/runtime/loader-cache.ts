/**
 * What a worker derives from a loader's source, kept per source: its compiled function (calling it
 * again runs its body in a fresh scope, so each task still gets a fresh runtime and filesystem; only
 * the parse and compile are saved) and what its text says. A warm task brings the same string
 * object every time, so a lookup does not hash the text again; nothing here builds a new string
 * of the loader's size per task.
 */
import { LruMap } from "../cache/lru.js";

const kept = new LruMap<string, Map<string, unknown>>(8);

/** `make()` once per loader source and `what`. */
export function perLoader<T>(loader: string, what: string, make: () => T): T {
  let facts = kept.get(loader);
  if (!facts) kept.set(loader, (facts = new Map()));
  if (!facts.has(what)) facts.set(what, make());
  return facts.get(what) as T;
}

/** `new Function(...params, loader + "\n" + epilogue)`, compiled once per loader source, epilogue and params. */
export function compileLoader(loader: string, epilogue: string, ...params: string[]): (...args: unknown[]) => unknown {
  return perLoader(
    loader,
    `function(${params.join(",")}) ${epilogue}`,
    () => new Function(...params, `${loader}\n${epilogue}`) as (...args: unknown[]) => unknown,
  );
}
