/** Things to close, closed last-opened first, each with a deadline; a failure to close is reported, not thrown. */
import { withTimeout } from "./wait.js";

export class Cleanup {
  #steps = [];

  add(what, close) {
    this.#steps.push([what, close]);
    return close;
  }

  async run() {
    while (this.#steps.length) {
      const [what, close] = this.#steps.pop();
      try {
        await withTimeout(Promise.resolve().then(close), 15_000, `closing ${what}`);
      } catch (err) {
        console.error(`bench: could not close ${what}: ${err.message}`);
      }
    }
  }
}
