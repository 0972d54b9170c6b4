/**
 * Headless Chromium pages that open the demo page and so act as browser
 * workers of the loopback cluster. Uses Debian's Chromium (or CHROMIUM_PATH);
 * never downloads a browser. A configured token reaches the page through an
 * init script (`window.motivusLoopback.token`, read by demo/worker.html), never
 * through its URL, which is logged.
 */
import type { Browser } from "playwright-core";

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-gpu",
];

export function chromiumPath(): string {
  return process.env.CHROMIUM_PATH || "/usr/bin/chromium";
}

export interface HeadlessWorkers {
  close(): Promise<void>;
}

export interface HeadlessOptions {
  count: number;
  /** The demo page's URL; logged, so it holds no secret. */
  pageUrl: string;
  /** The cluster's token, handed to each page without its URL. */
  token: string | null;
  log: (line: string) => void;
}

export async function startHeadlessWorkers({ count, pageUrl, token, log }: HeadlessOptions): Promise<HeadlessWorkers> {
  const { chromium } = await import("playwright-core");
  let browser: Browser;
  try {
    browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS, headless: true });
  } catch (err) {
    throw new Error(
      `could not start Chromium at ${chromiumPath()} (install Debian's chromium or set CHROMIUM_PATH): ${(err as Error).message.split("\n")[0]}`,
      { cause: err },
    );
  }
  const context = await browser.newContext();
  if (token !== null) {
    // Only the demo page itself gets it: not its sandbox frame, not a page it might navigate to.
    await context.addInitScript(
      ({ value, origin }: { value: string; origin: string }) => {
        if (window !== window.top || location.origin !== origin) return;
        (window as unknown as { motivusLoopback?: { token: string } }).motivusLoopback = Object.freeze({ token: value });
      },
      { value: token, origin: new URL(pageUrl).origin },
    );
  }
  // Chromium's own console lines can quote the socket URL, which carries the token.
  const redact = (text: string) =>
    token ? text.split(token).join("<token>").split(encodeURIComponent(token)).join("<token>") : text;
  for (let i = 1; i <= count; i++) {
    const page = await context.newPage();
    page.on("console", (msg) => log(redact(`browser ${i}: ${msg.text()}`)));
    page.on("pageerror", (err) => log(redact(`browser ${i}: page error: ${err.message}`)));
    await page.goto(pageUrl);
    log(`browser ${i} opened ${pageUrl}`);
  }
  return { close: () => browser.close() };
}
