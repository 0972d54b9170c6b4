/** A tiny typed event emitter: `on` returns the function that unsubscribes. */
export class Emitter<Events extends Record<string, unknown>> {
  private listeners: { [K in keyof Events]?: Set<(value: Events[K]) => void> } = {};

  on<K extends keyof Events>(event: K, listener: (value: Events[K]) => void): () => void {
    (this.listeners[event] ??= new Set()).add(listener);
    return () => this.listeners[event]?.delete(listener);
  }

  emit<K extends keyof Events>(event: K, value: Events[K]): void {
    for (const listener of this.listeners[event] ?? []) {
      try {
        listener(value);
      } catch (err) {
        console.error(`motivus: a "${String(event)}" listener threw`, err);
      }
    }
  }
}
