/** What the worker tells: typed events to listeners, and what it ignored or could not do to a logger. */

/** `createWorker({ logger })`: where the worker's warnings and errors go. Each message starts with "motivus: ". */
export interface Logger {
  warn(message: string, ...details: unknown[]): void;
  error(message: string, ...details: unknown[]): void;
}

const LEVELS = ["warn", "error"] as const;

/** The default: the console, looked up at each call (so a page that wraps `console.warn` later is still heard). */
export const consoleLogger: Logger = console;

/** An object whose `warn` and `error`, where present, are functions (`console` itself is one). */
export function isLogger(value: unknown): value is Partial<Logger> {
  if (typeof value !== "object" || value === null) return false;
  return LEVELS.every((level) => ["undefined", "function"].includes(typeof (value as Record<string, unknown>)[level]));
}

/** Each level the given logger has, called on it (a logger class keeps its `this`); the console for the others. */
export function resolveLogger(given: Partial<Logger> = {}): Logger {
  const at =
    (level: keyof Logger) =>
    (message: string, ...details: unknown[]) =>
      (given[level] ? given : consoleLogger)[level]!(message, ...details);
  return { warn: at("warn"), error: at("error") };
}

/** A tiny typed event emitter: `on` returns the function that unsubscribes. */
export class Emitter<Events extends Record<string, unknown>> {
  private listeners: { [K in keyof Events]?: Set<(value: Events[K]) => void> } = {};

  constructor(private readonly logger: Logger = consoleLogger) {}

  on<K extends keyof Events>(event: K, listener: (value: Events[K]) => void): () => void {
    (this.listeners[event] ??= new Set()).add(listener);
    return () => this.listeners[event]?.delete(listener);
  }

  emit<K extends keyof Events>(event: K, value: Events[K]): void {
    for (const listener of this.listeners[event] ?? []) {
      try {
        listener(value);
      } catch (err) {
        // A listener's bug is the page's, not the worker's: reported, and the other listeners still hear.
        this.logger.error(`motivus: a "${String(event)}" listener threw`, err);
      }
    }
  }
}
