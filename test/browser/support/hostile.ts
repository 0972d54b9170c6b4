/**
 * Hand-written algorithms for the fault and attack tests: glue shaped like wasm-bindgen's
 * `--target no-modules` output (`let wasm_bindgen = ...`, the `__wbg_init` name the worker
 * recognises it by) around methods written in the test, with a real small wasm (wasm-flate's),
 * which the worker compiles and hands to the initialiser as it would any glue's. The methods run
 * in the algorithm's Web Worker inside the sandbox frame; `main(...params)` (or `entry`) answers.
 */
import type { Page } from "@playwright/test";
import { fixtures } from "./cluster.js";

const FLATE_WASM = `${fixtures}/wasm-bindgen/no-modules/wasm_flate_bg.wasm`;

/**
 * The loader's source: `methods` are the members of an object literal (`main() { ... }, other() { ... }`);
 * `prelude` is top-level code before it (helpers the methods use).
 */
export const glue = (methods: string, prelude = ""): string =>
  `${prelude}\nlet wasm_bindgen = Object.assign(async function __wbg_init() {}, {\n${methods}\n});\n`;

/** A task definition for the TS driver running `methods` (add `params`, `entry`, ...). */
export const algorithm = (methods: string, prelude = "") => ({
  wasm_path: FLATE_WASM,
  loader: new TextEncoder().encode(glue(methods, prelude)),
});

/** Answers `params[1]` after sleeping `params[0]` ms on a timer: a task that is running for as long as a test needs. */
export const sleeper = algorithm(`main(ms, answer) { return new Promise((done) => setTimeout(() => done(answer), ms)); }`);

/**
 * Answers `params[1]` once the clock passes `params[0]` (ms since the epoch): a run that starts
 * early is running until then, whatever the machine's load; a run started later answers at once.
 */
export const sleeperUntil = algorithm(
  `main(until, answer) { return new Promise((done) => setTimeout(() => done(answer), Math.max(0, until - Date.now()))); }`,
);

export interface PageEvent {
  kind: "state" | "taskStarted" | "taskFinished" | "taskFailed";
  /** Date.now() in the page when the event arrived (the same clock as Node's on this machine). */
  at: number;
  tid?: string;
  state?: string;
  error?: string | null;
  code?: number | null;
}

/** Everything the demo page's worker (`window.motivusWorker`) tells its listeners, as it happens. */
export async function recordEvents(page: Page): Promise<PageEvent[]> {
  const events: PageEvent[] = [];
  await page.exposeFunction("recordWorkerEvent", (e: PageEvent) => void events.push(e));
  await page.evaluate(() => {
    const w = window as unknown as {
      motivusWorker: { on(event: string, fn: (e: Record<string, unknown>) => void): void };
      recordWorkerEvent(e: unknown): void;
    };
    for (const kind of ["state", "taskStarted", "taskFinished", "taskFailed"]) {
      w.motivusWorker.on(kind, (e) =>
        w.recordWorkerEvent({ kind, at: Date.now(), tid: e.tid, state: e.state, error: e.error, code: e.code }),
      );
    }
  });
  return events;
}
