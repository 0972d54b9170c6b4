/**
 * What crosses a legacy adapter's channel besides its own reply: the package the runner posts first,
 * which the prelude takes before the adapter can see it, and the notes the prelude posts back.
 * Shared by the prelude (built apart, see scripts/inline-scripts.mjs) and legacy.ts.
 */

/** The key that marks the prelude's own messages on the adapter's channel. */
export const LEGACY_NOTE = "__motivusLegacyNote";

/** The prelude's messages: console output of the adapter, and why it failed where it posts nothing. */
export type LegacyNote =
  { [LEGACY_NOTE]: "console"; stream: "out" | "err"; text: string } | { [LEGACY_NOTE]: "failed"; reason: string };

/** The runner's first message to an adapter's worker: what the prelude serves and reuses. */
export interface LegacyPackage {
  /** The task's data_link, the one URL a request may read. */
  dataLink: string | null;
  /** Its bytes, which the host fetched. */
  dataZip: ArrayBuffer | null;
  /** The runner's compiled module of `wasm`, handed over instead of compiling those bytes again. */
  module: WebAssembly.Module | null;
  wasm: ArrayBuffer | null;
}
