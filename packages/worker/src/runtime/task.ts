/** A task as the shape runners see it: the runner has resolved its bundle to bytes and text. */
import type { RunnerTask } from "../messages/runner.js";

export interface WorkerTask extends Omit<RunnerTask, "bundle"> {
  /** The `.wasm` bytes; kept by the runner for later tasks, so a shape must not transfer them. */
  wasm: ArrayBuffer;
  /** The `.js` loader source. */
  loader: string;
}
