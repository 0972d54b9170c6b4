/**
 * Host page ↔ sandbox frame messages. The frame is an opaque origin, so
 * messages go with targetOrigin "*": each side trusts a message only by its
 * source window (the host: the frame's own contentWindow; the frame: its
 * parent) and only in these shapes; anything else is dropped.
 */
export type ToFrame =
  | { kind: "runtime"; source: string }
  | { kind: "spawn"; id: number; port: MessagePort }
  | { kind: "terminate"; id: number }
  /** Are you there? (answered with the same `id` by `pong`) */
  | { kind: "ping"; id: number };

export type FromFrame =
  | { kind: "ready" }
  /** The worker exists and holds its port. */
  | { kind: "spawned"; id: number }
  /** The worker died of an uncaught error, or could not be created. */
  | { kind: "crashed"; id: number; message: string }
  /** The frame's thread is alive: the answer to the `ping` of this `id`. */
  | { kind: "pong"; id: number };

/** A message from the frame, if it has one of the shapes above. */
export function fromFrame(data: unknown): FromFrame | null {
  if (data === null || typeof data !== "object") return null;
  const { kind, id, message } = data as Record<string, unknown>;
  if (kind === "ready") return { kind };
  if (typeof id !== "number") return null;
  if (kind === "spawned" || kind === "pong") return { kind, id };
  if (kind === "crashed")
    return { kind, id, message: typeof message === "string" ? message.slice(0, 500) : "the worker stopped" };
  return null;
}

/** No network, no storage, no DOM of the host: only scripts and blob workers. */
export const SANDBOX_CSP = [
  "default-src 'none'",
  "script-src 'unsafe-inline' 'unsafe-eval' 'wasm-unsafe-eval' blob:",
  "worker-src blob:",
  "connect-src 'none'",
].join("; ");
