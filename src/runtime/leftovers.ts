/**
 * What an algorithm may leave running after its answer: nested workers, timers and animation frames. They are
 * tracked from the worker's start, before any algorithm code runs, and ended when the task ends, so
 * nothing an algorithm starts outlives its task or the visitor's thread budget.
 */
type Timer = number;
type Schedule = (handler: TimerHandler, ms?: number, ...rest: unknown[]) => Timer;

/** The worker global scope, as far as this file touches it. */
export interface Scope {
  Worker: typeof Worker;
  setTimeout: Schedule;
  setInterval: Schedule;
  clearTimeout(id?: Timer): void;
  clearInterval(id?: Timer): void;
  requestAnimationFrame?(callback: FrameRequestCallback): number;
  cancelAnimationFrame?(id: number): void;
}

/**
 * Replaces `name` on the object of the scope's prototype chain that defines it (WorkerGlobalScope's
 * prototype for the timers), so calling it through the prototype is no way around the replacement.
 */
function install(scope: object, name: string, value: unknown): void {
  let owner: object | null = scope;
  while (owner !== null && !Object.prototype.hasOwnProperty.call(owner, name)) owner = Object.getPrototypeOf(owner) as object | null;
  Object.defineProperty(owner ?? scope, name, { value, writable: true, configurable: true, enumerable: true });
}

export class Leftovers {
  /** The real Worker constructor, for the runtime's own nested workers (legacy adapters), which it ends itself. */
  readonly Worker: typeof Worker;
  private readonly workers = new Set<Worker>();
  private readonly timers = new Set<Timer>();

  constructor(scope: Scope) {
    const original = scope.Worker;
    this.Worker = original;
    const workers = this.workers;
    const tracked: typeof Worker = new Proxy(original, {
      construct(target, args, newTarget) {
        const worker = Reflect.construct(target, args, newTarget === tracked ? target : newTarget) as Worker;
        workers.add(worker);
        return worker;
      },
    });
    // `worker.constructor` must not hand the untracked constructor back.
    Object.defineProperty(original.prototype, "constructor", { value: tracked, writable: true, configurable: true });
    scope.Worker = tracked;

    const { setTimeout: later, setInterval: every, clearTimeout: cancel, clearInterval: cancelEvery } = scope;
    const frame = scope.requestAnimationFrame?.bind(scope);
    const cancelFrame = scope.cancelAnimationFrame?.bind(scope);
    const timers = this.timers;
    const frames = this.frames;
    install(scope, "setTimeout", (handler: TimerHandler, ms?: number, ...rest: unknown[]) => {
      const run =
        typeof handler === "function"
          ? (...args: unknown[]) => {
              timers.delete(id);
              handler(...args);
            }
          : handler;
      const id: Timer = later(run, ms, ...rest);
      timers.add(id);
      return id;
    });
    install(scope, "setInterval", (handler: TimerHandler, ms?: number, ...rest: unknown[]) => {
      const id = every(handler, ms, ...rest);
      timers.add(id);
      return id;
    });
    install(scope, "clearTimeout", (id?: Timer) => {
      if (id !== undefined) timers.delete(id);
      cancel(id);
    });
    install(scope, "clearInterval", (id?: Timer) => {
      if (id !== undefined) timers.delete(id);
      cancelEvery(id);
    });
    if (frame && cancelFrame) {
      install(scope, "requestAnimationFrame", (callback: FrameRequestCallback) => {
        const id = frame((time: number) => {
          frames.delete(id);
          callback(time);
        });
        frames.add(id);
        return id;
      });
      install(scope, "cancelAnimationFrame", (id: number) => {
        frames.delete(id);
        cancelFrame(id);
      });
    }
    this.cancel = (id) => {
      cancel(id);
      cancelEvery(id);
    };
    this.cancelFrame = cancelFrame ?? (() => {});
  }

  private readonly frames = new Set<number>();
  private readonly cancelFrame: (id: number) => void;
  private readonly cancel: (id: Timer) => void;

  /** Ends every nested worker and timer still there; returns how many nested workers it ended. */
  sweep(): number {
    const workers = this.workers.size;
    for (const worker of this.workers) worker.terminate();
    this.workers.clear();
    for (const id of this.timers) this.cancel(id);
    this.timers.clear();
    for (const id of this.frames) this.cancelFrame(id);
    this.frames.clear();
    return workers;
  }
}
