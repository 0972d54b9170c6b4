/**
 * Host page ↔ sandbox frame messages. The frame is an opaque origin, so
 * messages go with targetOrigin "*" and are trusted by their source window.
 */
export type ToFrame =
  | { kind: "runtime"; source: string }
  | { kind: "spawn"; id: number; port: MessagePort }
  | { kind: "terminate"; id: number };

export type FromFrame =
  | { kind: "ready" }
  | { kind: "spawned"; id: number }
  /** The worker died of an uncaught error (e.g. a crash the runtime could not catch). */
  | { kind: "crashed"; id: number; message: string };

/** No network, no storage, no DOM of the host: only scripts and blob workers. */
export const SANDBOX_CSP = [
  "default-src 'none'",
  "script-src 'unsafe-inline' 'unsafe-eval' 'wasm-unsafe-eval' blob:",
  "worker-src blob:",
  "connect-src 'none'",
].join("; ");
