/** What running one loader shape gives the runner, before it becomes wire form. */
import type { RunnerError } from "./errors.js";
import type { LoaderShape } from "../messages/runner.js";

export interface ShapeResult {
  /** The result's `data`: the exit code (Emscripten, legacy) or main's return value (wasm-bindgen). */
  data: unknown;
  /** Virtual path → the bytes of each result file that was written; a legacy adapter's entries, as it gave them. */
  files: Record<string, unknown>;
  /** Set when the algorithm failed; `data` and `files` then hold whatever it produced. */
  error: RunnerError | null;
  /** The shape as running it showed it, when it is more exact than the one read from the loader's text. */
  shape?: LoaderShape;
}
