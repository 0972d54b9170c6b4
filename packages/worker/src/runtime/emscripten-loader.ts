/**
 * Evaluates an Emscripten loader and says what it left behind, judged by behaviour:
 * - a factory (MODULARIZE, EXPORT_ES6): the first function its CommonJS/UMD tail exported (a post-js
 *   may later rebind the export to a promise of its own instance), else the binding it declares,
 *   else an ES module's default export;
 * - a module it started itself (a post-js called the factory): a promise of it, or it;
 * - nothing but what it did to the settings object it was handed: a classic loader.
 *
 * A script loader runs as a function body whose first parameter is the settings object, named as
 * the loader names its own (`var X = typeof X != "undefined" ? X : {}`, `var X = (function(X) …`;
 * `Module` by default): a classic build under a custom name reads our settings, and nothing lands on
 * the worker's global scope.
 */
import type { LoaderCache } from "./loader-cache.js";
import type { ModuleImports } from "./loader-source.js";
import { RunnerError, describe } from "./errors.js";
import { RuntimeErrorCode } from "../messages/runner.js";

export type Factory = (settings: object) => unknown;

export type Presented =
  | { kind: "classic"; scopeFS: unknown }
  | { kind: "factory"; factory: Factory; scopeFS: unknown }
  | { kind: "started"; module: unknown; scopeFS: unknown };

/** How the loader names its settings object (the classic prologue, or a MODULARIZE factory's binding). */
export function settingsNameOf(source: string, cache: LoaderCache): string {
  return cache.once(source, "settingsName", () => {
    const name = /[A-Za-z_$][\w$]*/.source;
    const classic = new RegExp(
      `\\bvar\\s+(${name})\\s*=\\s*typeof\\s+\\1\\s*!==?\\s*["']undefined["']\\s*\\?\\s*\\1\\s*:\\s*\\{\\s*\\}`,
    ).exec(source);
    const factory =
      new RegExp(
        `^\\s*var\\s+(${name})\\s*=\\s*\\(?\\s*(?:\\(\\s*\\)\\s*=>|(?:async\\s+)?function\\s*\\(\\s*(?:${name})?\\s*\\))`,
        "m",
      ).exec(source) ?? new RegExp(`^\\s*(?:async\\s+)?function\\s+(${name})\\s*\\(\\s*moduleArg\\b`, "m").exec(source);
    return classic?.[1] ?? factory?.[1] ?? "Module";
  });
}

/** A module loader: imported, so it starts no runtime before its factory is called. */
export async function evaluateModuleLoader(source: string, settings: object, imports: ModuleImports): Promise<Presented> {
  try {
    return await evaluateModule(source, settings, imports);
  } catch (error) {
    throw loaderFailure(error);
  }
}

/**
 * A script loader, synchronously: a classic one starts its runtime while evaluated, and its
 * script-level `FS` must be known before the runtime's first callback, which may come in a microtask.
 */
export function evaluateScriptLoader(source: string, settings: object, cache: LoaderCache): Presented {
  try {
    return evaluateScript(source, settings, cache);
  } catch (error) {
    throw loaderFailure(error);
  }
}

function evaluateScript(source: string, settings: object, cache: LoaderCache): Presented {
  const name = settingsNameOf(source, cache);
  const { commonJs, firstFunction } = capturingExports();
  const epilogue = `;\nreturn [typeof ${name} !== "undefined" ? ${name} : undefined, typeof FS !== "undefined" ? FS : undefined];`;
  const [binding, scopeFS] = cache.compile(source, epilogue, name, "module", "exports")(settings, commonJs, commonJs.exports) as [
    unknown,
    unknown,
  ];
  const factory = firstFunction() ?? (typeof binding === "function" ? binding : undefined);
  if (factory) return { kind: "factory", factory: factory as Factory, scopeFS };
  const exported = commonJs.exports;
  for (const left of [binding, exported]) {
    if (left !== settings && isStarted(left)) return { kind: "started", module: left, scopeFS };
  }
  return { kind: "classic", scopeFS };
}

/**
 * A CommonJS `module` whose `exports` keeps the first function ever assigned to it: a post-js may
 * rebind the export to a promise of the instance it started itself, after the tail exported the factory.
 */
function capturingExports(): { commonJs: { exports: unknown }; firstFunction: () => unknown } {
  let exports: unknown = {};
  let first: unknown;
  const commonJs = {
    get exports() {
      return exports;
    },
    set exports(value: unknown) {
      if (first === undefined && typeof value === "function") first = value;
      exports = value;
    },
  };
  return { commonJs, firstFunction: () => first };
}

async function evaluateModule(source: string, settings: object, imports: ModuleImports): Promise<Presented> {
  const namespace = await imports.import(source);
  const candidates = [namespace.default, ...Object.values(namespace)];
  const factory = candidates.find((value) => typeof value === "function");
  if (factory) return { kind: "factory", factory: factory as Factory, scopeFS: undefined };
  const started = candidates.find((value) => value !== settings && isStarted(value));
  if (started) return { kind: "started", module: started, scopeFS: undefined };
  throw new RunnerError(
    RuntimeErrorCode.unknownLoader,
    `the ES module loader exports no factory (its exports: ${Object.keys(namespace).join(", ") || "none"}); an EXPORT_ES6 build's default export is its factory`,
  );
}

/** A module the loader started, or a promise of one. */
function isStarted(value: unknown): boolean {
  if (value === null || typeof value !== "object") return false;
  return typeof ownValue(value, "then") === "function" || typeof ownValue(value, "callMain") === "function";
}

/**
 * `object[name]` when it is a plain value, never a getter's: an ASSERTIONS build defines a getter
 * for each runtime method it did not export, and reading one aborts the program.
 */
export function ownValue(object: unknown, name: string): unknown {
  for (let at = object; at !== null && (typeof at === "object" || typeof at === "function"); at = Object.getPrototypeOf(at)) {
    const found = Object.getOwnPropertyDescriptor(at, name);
    if (found) return "value" in found ? found.value : undefined;
  }
  return undefined;
}

/**
 * `object[name]` when it is a function the build exported. ASSERTIONS builds put a stub in the place
 * of each runtime method they did not export (a getter, or a function that aborts with "'callMain'
 * was not exported", or one that calls `unexportedMessage`): calling it would abort the program, so it counts as absent.
 */
export function exportedFunction(object: unknown, name: string): ((...args: unknown[]) => unknown) | undefined {
  const value = ownValue(object, name);
  if (typeof value !== "function") return undefined;
  return /was not exported|unexported/.test(Function.prototype.toString.call(value))
    ? undefined
    : (value as (...args: unknown[]) => unknown);
}

/** Why the loader itself failed, in words an algorithm author can act on. */
function loaderFailure(error: unknown): RunnerError {
  if (error instanceof RunnerError) return error;
  const text = describe(error);
  if (/\b(require|process|__dirname|__filename)\b is not defined|not compiled for this environment/.test(text)) {
    return new RunnerError(
      RuntimeErrorCode.unknownLoader,
      `the loader was built for Node only (ENVIRONMENT=node): ${text}; build it for browsers with -sENVIRONMENT=web,worker`,
    );
  }
  return new RunnerError(RuntimeErrorCode.algorithmFailed, `the loader failed: ${text}`);
}
