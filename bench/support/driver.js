/** The TypeScript driver (built `Client`) and a few ways of sending tasks with it. */
import { readFileSync } from "node:fs";
import { Client } from "motivus-driver";
import { withTimeout } from "./wait.js";

export async function connectDriver(uri) {
  // logDir null: keep no stdout/stderr files; result_files are still written.
  return Client.connect({ uri, logDir: null });
}

/**
 * A bundle's wasm and loader as base64, read and encoded once, so the driver
 * does not re-read and re-encode it for every task (that is the driver's cost, not the pipeline's).
 */
export function inlineBundle(loaderPath, wasmPath) {
  return { loader: readFileSync(loaderPath).toString("base64"), wasm: readFileSync(wasmPath).toString("base64") };
}

/** Run one task; resolves with its data (an Emscripten exit status) and its driver→result time in ms. */
export async function timedTask(client, definition, what, ms = 60_000) {
  const t0 = performance.now();
  const data = await withTimeout(client.selectTask(client.callAsync(definition)), ms, what);
  const elapsed = performance.now() - t0;
  expectExitZero(data, what);
  return elapsed;
}

/** `n` tasks one after the other: each one's driver→result ms. */
export async function sequentialTasks(client, n, definition, what, ms = 60_000) {
  const times = [];
  for (let i = 0; i < n; i++)
    times.push(await timedTask(client, typeof definition === "function" ? definition(i) : definition, what, ms));
  return times;
}

/** `n` tasks submitted at once: wall time from the first submit to the last result, and each one's latency. */
export async function burst(client, n, definition, what, ms = 120_000) {
  const latencies = new Array(n);
  const start = performance.now();
  const all = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    all.push(
      client.selectTask(client.callAsync(typeof definition === "function" ? definition(i) : definition)).then((data) => {
        expectExitZero(data, what);
        latencies[i] = performance.now() - t0;
      }),
    );
  }
  await withTimeout(Promise.all(all), ms, `${n} ${what}s`);
  return { wallMs: performance.now() - start, latencies };
}

export function expectExitZero(data, what) {
  if (data !== 0) throw new Error(`a ${what} answered ${JSON.stringify(data)?.slice(0, 300)} instead of exit status 0`);
}
