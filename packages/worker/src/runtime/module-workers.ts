/**
 * Module workers inside the sandbox. The sandbox is an opaque origin, and a module worker's script
 * must be same-origin with its creator, which an opaque origin never is, so `new Worker(url, {type:
 * "module"})` fails to load (Emscripten's ES-module pthreads start that way). A classic worker from a
 * blob URL loads, and it may `import()` the module: such a worker is made instead, with the same
 * name. Messages that reach it before the module has set its handlers are held and replayed. A worker
 * from any other URL could not load (no network): that is said at once, in words.
 */
export function startModuleWorkersAsClassic(scope: { Worker: typeof Worker }): void {
  const Classic = scope.Worker;
  const Shim: typeof Worker = new Proxy(Classic, {
    construct(target, args: [string | URL, WorkerOptions?], newTarget): object {
      const [url, options] = args;
      const constructed = newTarget === Shim ? target : newTarget;
      if (!/^blob:/i.test(String(url))) {
        // Said in words: the sandbox has no network, and a bare CSP error names no cause.
        throw new TypeError(
          `the sandbox starts workers only from blob: URLs; ${String(url).slice(0, 200)} cannot be loaded` +
            " (a -pthread build of Emscripten before 3.1.58 needs its separate .worker.js: rebuild with 3.1.58 or later)",
        );
      }
      if (options?.type !== "module") return Reflect.construct(target, args, constructed) as object;
      const { type: _module, ...rest } = options;
      const bootstrap = URL.createObjectURL(new Blob([bootstrapSource(String(url))], { type: "text/javascript" }));
      return Reflect.construct(target, [bootstrap, rest], constructed) as object;
    },
  });
  scope.Worker = Shim;
}

function bootstrapSource(moduleUrl: string): string {
  return `"use strict";
const early = [];
const hold = (event) => early.push(event);
self.addEventListener("message", hold);
import(${JSON.stringify(moduleUrl)}).then(
  () => {
    self.removeEventListener("message", hold);
    for (const event of early) self.dispatchEvent(new MessageEvent("message", { data: event.data, ports: [...event.ports] }));
  },
  (error) => setTimeout(() => { throw error; }),
);`;
}
