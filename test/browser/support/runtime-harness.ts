/**
 * The test side of pages/runtime-harness.js: a fixture spec goes to the page, which runs it through
 * the real prepareTask in a worker of the real sandbox frame and hands back the decoded outcome.
 */
import type { Page } from "@playwright/test";

export interface FixtureSpec {
  wasm?: string;
  loader?: string;
  /** Loader source instead of a loader URL. */
  loaderText?: string;
  dataZip?: string;
  dataLink?: string;
  /** The data_link a legacy adapter is told, when it should differ from the one fetched. */
  legacyDataLink?: string;
  arguments?: string | string[] | null;
  params?: unknown[];
  preloadText?: Record<string, string>;
  preloadUrls?: Record<string, string>;
  resultFiles?: string[];
  entry?: string;
  /** The runtime's start-up limit for this task (default 30 s). */
  startupMs?: number;
  wasmBytes?: number[];
  dataZipBytes?: number[];
}

export interface Decoded {
  ok: boolean;
  error: string | null;
  errorCode: number | null;
  shape: string | null;
  body: Record<string, unknown>;
  files: Record<string, string>;
  stdout: string | null;
  stderr: string | null;
}

/** What runtime-harness.js puts on the page's window. */
interface Harness {
  harnessReady?: boolean;
  runFixture(spec: FixtureSpec): Promise<Decoded>;
  cachedModules(): Promise<number>;
}

export async function open(page: Page, origin: string): Promise<void> {
  await page.goto(`${origin}/pages/runtime.html`);
  await page.waitForFunction(() => (window as unknown as Harness).harnessReady === true);
}

export const run = (page: Page, spec: FixtureSpec): Promise<Decoded> =>
  page.evaluate((s) => (window as unknown as Harness).runFixture(s), spec);

/** Several specs sent at once, without waiting for each other. */
export const runTogether = (page: Page, specs: FixtureSpec[]): Promise<Decoded[]> =>
  page.evaluate((all) => Promise.all(all.map((s) => (window as unknown as Harness).runFixture(s))), specs);

/** How many modules the harness's worker has compiled. */
export const compiled = (page: Page): Promise<number> => page.evaluate(() => (window as unknown as Harness).cachedModules());
