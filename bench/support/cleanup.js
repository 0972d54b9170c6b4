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

/**
 * Runs `part` with the shared cluster and browser and a fresh browser context, closing the context
 * and whatever `part` adds to `cleanup` afterwards, whatever happens.
 */
export async function withContext({ browser: getBrowser, cluster: getCluster }, part) {
  const cluster = await getCluster();
  const browser = await getBrowser();
  const cleanup = new Cleanup();
  try {
    const context = await browser.newContext();
    cleanup.add("the browser context", () => context.close());
    return await part({ cluster, browser, context, cleanup });
  } finally {
    await cleanup.run();
  }
}
