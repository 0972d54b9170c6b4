/**
 * Evaluates a loader as the kind of source it is: a classic script (run as a function body, so its
 * `var`s stay out of the worker's global scope and every task gets a fresh scope) or an ES module
 * (imported from a blob URL; a new URL per task gives a new module instance). Which one is decided by
 * the JavaScript parser, not by the text: a source that does not parse as a script is a module.
 */
import type { LoaderCache } from "./loader-cache.js";
import { RunnerError, describe } from "./errors.js";
import { RuntimeErrorCode } from "../messages/runner.js";

/** Whether the source is an ES module (`import`/`export`/`import.meta` make a script body fail to parse). */
export function isModuleSource(source: string, cache: LoaderCache): boolean {
  return cache.once(source, "isModule", () => {
    try {
      cache.compile(source, "");
      return false;
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
      if (/\bimport\b|\bexport\b/.test(error.message)) return true;
      throw new RunnerError(RuntimeErrorCode.unknownLoader, `the loader is not valid JavaScript: ${describe(error)}`);
    }
  });
}

/** What the runner keeps of the loaders its worker evaluates, handed to each shape that evaluates one. */
export interface Loaders {
  /** The ES modules (loaders, glue) the worker imported: it cannot release them. */
  imports: ModuleImports;
  /** What each loader's source compiled to and says. */
  loaderCache: LoaderCache;
}

/**
 * The ES modules a worker imported. A worker never releases an ES module, nor the wasm instance and
 * memory that module keeps: past `limit` imports the runner asks for a fresh worker (V8 allows a
 * process only so many wasm memories).
 */
export class ModuleImports {
  private count = 0;

  constructor(private readonly limit = 64) {}

  get spent(): boolean {
    return this.count >= this.limit;
  }

  /** Imports `source` afresh (a new blob URL is a new module instance); resolves with its namespace. */
  async import(source: string): Promise<Record<string, unknown>> {
    this.count++;
    const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
    try {
      return (await import(/* @vite-ignore */ url)) as Record<string, unknown>;
    } finally {
      URL.revokeObjectURL(url);
    }
  }
}
