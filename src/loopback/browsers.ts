/**
 * Headless Chromium pages that open the demo page and so act as browser
 * workers of the loopback cluster. Uses Debian's Chromium (or CHROMIUM_PATH);
 * never downloads a browser.
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

export async function startHeadlessWorkers(count: number, pageUrl: string, log: (line: string) => void): Promise<HeadlessWorkers> {
  const { chromium } = await import("playwright-core");
  let browser: Browser;
  try {
    browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS, headless: true });
  } catch (err) {
    throw new Error(`could not start Chromium at ${chromiumPath()} (install Debian's chromium or set CHROMIUM_PATH): ${(err as Error).message.split("\n")[0]}`);
  }
  for (let i = 1; i <= count; i++) {
    const page = await browser.newPage();
    page.on("console", (msg) => log(`browser ${i}: ${msg.text()}`));
    page.on("pageerror", (err) => log(`browser ${i}: page error: ${err.message}`));
    await page.goto(pageUrl);
    log(`browser ${i} opened ${pageUrl}`);
  }
  return { close: () => browser.close() };
}
