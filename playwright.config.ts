import { defineConfig } from "@playwright/test";
import { CHROMIUM_ARGS, chromiumPath } from "./dist/loopback/browsers.js";

// Debian's Chromium (CHROMIUM_PATH overrides); Playwright never downloads a browser here.
export default defineConfig({
  testDir: "test/browser",
  testMatch: "**/*.spec.ts",
  timeout: 60_000,
  expect: { timeout: 15_000 },
  workers: 2,
  fullyParallel: false,
  reporter: [["list"]],
  use: {
    browserName: "chromium",
    headless: true,
    launchOptions: { executablePath: chromiumPath(), args: CHROMIUM_ARGS },
  },
});
