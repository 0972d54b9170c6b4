/**
 * Compiled loader scripts, kept per loader source. Calling the same compiled
 * function again runs its body in a fresh scope, so each task still gets a
 * fresh runtime and filesystem; only the parse and compile are saved.
 */
import { LruMap } from "../cache/lru.js";

const compiled = new LruMap<string, Function>(8);

/** `new Function(...params, body)`, compiled once per distinct source. */
export function compileLoader(body: string, ...params: string[]): Function {
  const key = `${params.join(",")}\u0000${body}`;
  let fn = compiled.get(key);
  if (!fn) {
    fn = new Function(...params, body);
    compiled.set(key, fn);
  }
  return fn;
}
