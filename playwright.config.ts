import { defineConfig } from "@playwright/test";
import { CHROMIUM_ARGS, chromiumPath } from "./packages/loopback/dist/browsers.js";

// Debian's Chromium (CHROMIUM_PATH overrides); Playwright never downloads a browser here.
export default defineConfig({
  testDir: "test/browser",
  testMatch: "**/*.spec.ts",
  globalSetup: "./test/browser/support/build-pages.ts",
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
