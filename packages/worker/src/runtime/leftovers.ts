/**
 * What an algorithm may leave running after its answer: nested workers, timers, animation frames,
 * message ports and broadcast channels (a ping-pong between two ports never ends by itself), and
 * tasks of the Prioritized Task Scheduling API (`scheduler.postTask`, `scheduler.yield`). They are
 * tracked from the worker's start, before any algorithm code runs, and ended when the task ends, so
 * nothing an algorithm starts outlives its task or the visitor's thread budget.
 *
 * The algorithm shares this realm, and may patch any built-in before its task ends: everything used
 * here is taken when the worker starts (the functions themselves, not their names), the trackers are
 * replaced where they are defined (the global's own constructors, the prototypes' methods), and the
 * records are kept with captured Set methods, so patching `Set.prototype.add`, `Reflect.apply`,
 * `Worker.prototype.terminate` or a `constructor` property is no way around them.
 *
 * A loop that never yields (microtasks that queue each other) cannot be ended from inside its own
 * thread: the host notices that the worker does not answer after its task and replaces it (pool/slot.ts).
 */
type Timer = number;
type Schedule = (handler: TimerHandler, ms?: number, ...rest: unknown[]) => Timer;

/** `scheduler` of the Prioritized Task Scheduling API (not in TypeScript's lib yet). */
interface Scheduler {
  postTask(callback: (...args: unknown[]) => unknown, options?: unknown): Promise<unknown>;
  yield?(): Promise<unknown>;
}

/** The worker global scope, as far as this file touches it. */
export interface Scope {
  Worker: typeof Worker;
  setTimeout: Schedule;
  setInterval: Schedule;
  clearTimeout(id?: Timer): void;
  clearInterval(id?: Timer): void;
  requestAnimationFrame?(callback: FrameRequestCallback): number;
  cancelAnimationFrame?(id: number): void;
  MessageChannel?: typeof MessageChannel;
  MessagePort?: typeof MessagePort;
  BroadcastChannel?: typeof BroadcastChannel;
  scheduler?: Scheduler;
}

// Taken before any algorithm code runs (this module is evaluated first).
const { apply, construct, defineProperty, getPrototypeOf } = Reflect;
const { hasOwn } = Object;
const { add: setAdd, delete: setDelete, forEach: setForEach, clear: setClear } = Set.prototype;
const setSize = Object.getOwnPropertyDescriptor(Set.prototype, "size")!.get!;
const promiseThen = Promise.prototype.then;

/** A set of what an algorithm started, that the algorithm's patches to `Set` cannot reach. */
class Held<T> {
  private readonly items = new Set<T>();
  add(item: T): void {
    apply(setAdd, this.items, [item]);
  }
  delete(item: T): void {
    apply(setDelete, this.items, [item]);
  }
  get size(): number {
    return apply(setSize, this.items, []) as number;
  }
  /** Calls `end` on each (an error in one does not spare the others), then forgets them all. */
  end(end: (item: T) => void): void {
    apply(setForEach, this.items, [
      (item: T) => {
        try {
          end(item);
        } catch {
          // Not what we took it for (a `this` an algorithm passed): nothing to end.
        }
      },
    ]);
    apply(setClear, this.items, []);
  }
}

/**
 * Replaces `name` on the object of `target`'s prototype chain that defines it (WorkerGlobalScope's
 * prototype for the timers, MessagePort's for `postMessage`), so calling it through the prototype is
 * no way around the replacement.
 */
function install(target: object, name: string, value: unknown): void {
  let owner: object | null = target;
  while (owner !== null && !hasOwn(owner, name)) owner = getPrototypeOf(owner) as object | null;
  defineProperty(owner ?? target, name, { value, writable: true, configurable: true, enumerable: true });
}

type Constructor<T> = new (...args: never[]) => T;

/**
 * Puts a constructor on the scope that records each object it makes, subclasses' too; the original's
 * `prototype.constructor` points at the tracked one, so an instance does not hand the original back.
 */
function trackConstructor<T extends object>(
  scope: object,
  name: string,
  original: Constructor<T>,
  made: (item: T) => void,
): void {
  const tracked: Constructor<T> = new Proxy(original, {
    construct(target, args, newTarget) {
      const item = construct(target, args, newTarget === tracked ? target : newTarget) as T;
      made(item);
      return item;
    },
  });
  defineProperty(original.prototype as object, "constructor", { value: tracked, writable: true, configurable: true });
  defineProperty(scope, name, { value: tracked, writable: true, configurable: true, enumerable: false });
}

/** A promise that never settles: what a scheduled callback of an ended task gets instead of running. */
const never = (): Promise<never> => new Promise<never>(() => {});

export class Leftovers {
  /** The real Worker constructor, for the runtime's own nested workers (legacy adapters), which it ends itself. */
  readonly Worker: typeof Worker;
  private readonly workers = new Held<Worker>();
  private readonly timers = new Held<Timer>();
  private readonly frames = new Held<number>();
  private readonly ports = new Held<MessagePort>();
  private readonly broadcasts = new Held<BroadcastChannel>();
  /** How each kind is ended, with the functions taken at the start. */
  private readonly end: {
    worker: (worker: Worker) => void;
    timer: (id: Timer) => void;
    frame: (id: number) => void;
    port: (port: MessagePort) => void;
    broadcast: (channel: BroadcastChannel) => void;
  };
  /** The runtime's own port to the host: never closed by a sweep. */
  private own: MessagePort | null = null;
  /** Counts sweeps: a scheduled callback runs only in the task that scheduled it. */
  private epoch = 0;
  /** Told how many nested workers the running task has started (its threads), as each starts. */
  workersStarted: ((count: number) => void) | null = null;

  constructor(scope: Scope) {
    this.Worker = scope.Worker;
    // In this order, each kind's trackers replace the scope's own before any algorithm code runs.
    this.end = {
      worker: this.trackWorkers(scope),
      timer: this.trackTimers(scope),
      frame: this.trackFrames(scope),
      port: this.trackPorts(scope),
      broadcast: this.trackBroadcasts(scope),
    };
    this.guardScheduler(scope);
  }

  /** Nested workers, each counted against the running task's threads as it starts; returns how one is ended. */
  private trackWorkers(scope: Scope): (worker: Worker) => void {
    const original = scope.Worker;
    const terminate = original.prototype.terminate;
    const { workers } = this;
    trackConstructor(scope, "Worker", original, (worker) => {
      workers.add(worker);
      this.workersStarted?.(workers.size);
    });
    return (worker) => apply(terminate, worker, []);
  }

  /** Timeouts (forgotten once they ran) and intervals; returns how one is ended. */
  private trackTimers(scope: Scope): (id: Timer) => void {
    const { timers } = this;
    const { setTimeout: later, setInterval: every, clearTimeout: cancel, clearInterval: cancelEvery } = scope;
    install(scope, "setTimeout", (handler: TimerHandler, ms?: number, ...rest: unknown[]) => {
      const run =
        typeof handler === "function"
          ? (...args: unknown[]) => {
              timers.delete(id);
              apply(handler, undefined, args);
            }
          : handler;
      const id: Timer = apply(later, scope, [run, ms, ...rest]);
      timers.add(id);
      return id;
    });
    install(scope, "setInterval", (handler: TimerHandler, ms?: number, ...rest: unknown[]) => {
      const id: Timer = apply(every, scope, [handler, ms, ...rest]);
      timers.add(id);
      return id;
    });
    install(scope, "clearTimeout", (id?: Timer) => {
      if (id !== undefined) timers.delete(id);
      apply(cancel, scope, [id]);
    });
    install(scope, "clearInterval", (id?: Timer) => {
      if (id !== undefined) timers.delete(id);
      apply(cancelEvery, scope, [id]);
    });
    return (id) => {
      apply(cancel, scope, [id]);
      apply(cancelEvery, scope, [id]);
    };
  }

  /** Animation frames, where the worker has them; returns how one is cancelled. */
  private trackFrames(scope: Scope): (id: number) => void {
    const { frames } = this;
    const frame = scope.requestAnimationFrame;
    const cancelFrame = scope.cancelAnimationFrame;
    if (frame && cancelFrame) {
      install(scope, "requestAnimationFrame", (callback: FrameRequestCallback) => {
        const id: number = apply(frame, scope, [
          (time: number) => {
            frames.delete(id);
            apply(callback, undefined, [time]);
          },
        ]);
        frames.add(id);
        return id;
      });
      install(scope, "cancelAnimationFrame", (id: number) => {
        frames.delete(id);
        apply(cancelFrame, scope, [id]);
      });
    }
    return (id) => cancelFrame && apply(cancelFrame, scope, [id]);
  }

  /**
   * Ports: those of a channel made here, and any port a message is posted on (also one that arrived
   * from a nested worker, or was moved to a new object by structuredClone), save the runtime's own.
   * Returns how one is closed.
   */
  private trackPorts(scope: Scope): (port: MessagePort) => void {
    const { ports } = this;
    let closePort: (port: MessagePort) => void = () => {};
    if (scope.MessagePort) {
      const { postMessage, close } = scope.MessagePort.prototype;
      closePort = (port) => apply(close, port, []);
      const isOwn = (port: MessagePort) => port === this.own;
      install(scope.MessagePort.prototype, "postMessage", function (this: MessagePort, ...args: unknown[]) {
        if (!isOwn(this)) ports.add(this);
        return apply(postMessage, this, args);
      });
    }
    if (scope.MessageChannel) {
      trackConstructor(scope, "MessageChannel", scope.MessageChannel, (channel) => {
        ports.add(channel.port1);
        ports.add(channel.port2);
      });
    }
    return closePort;
  }

  /** Broadcast channels; returns how one is closed. */
  private trackBroadcasts(scope: Scope): (channel: BroadcastChannel) => void {
    if (!scope.BroadcastChannel) return () => {};
    const { broadcasts } = this;
    const { close } = scope.BroadcastChannel.prototype;
    trackConstructor(scope, "BroadcastChannel", scope.BroadcastChannel, (channel) => broadcasts.add(channel));
    return (channel) => apply(close, channel, []);
  }

  /** Scheduled tasks: a callback (or a `yield` continuation) of a task that has ended never runs. */
  private guardScheduler(scope: Scope): void {
    const scheduler = scope.scheduler;
    if (!scheduler || typeof scheduler.postTask !== "function") return;
    const postTask = scheduler.postTask;
    const current = () => this.epoch;
    install(scheduler, "postTask", function (this: Scheduler, callback: unknown, ...rest: unknown[]) {
      const epoch = current();
      const guarded =
        typeof callback === "function"
          ? function (this: unknown, ...args: unknown[]) {
              return epoch === current() ? apply(callback, this, args) : never();
            }
          : callback;
      return apply(postTask, this, [guarded, ...rest]);
    });
    const yielding = scheduler.yield;
    if (typeof yielding === "function") {
      install(scheduler, "yield", function (this: Scheduler) {
        const epoch = current();
        return apply(promiseThen, apply(yielding, this, []), [(value: unknown) => (epoch === current() ? value : never())]);
      });
    }
  }

  /** The runtime's own port to the host, which a sweep leaves open. */
  keep(port: MessagePort): void {
    this.own = port;
  }

  /** Ends every nested worker, timer, port and scheduled task still there; returns how many nested workers it ended. */
  sweep(): number {
    this.epoch++;
    const workers = this.workers.size;
    this.workers.end(this.end.worker);
    this.timers.end(this.end.timer);
    this.frames.end(this.end.frame);
    this.ports.end(this.end.port);
    this.broadcasts.end(this.end.broadcast);
    return workers;
  }
}
