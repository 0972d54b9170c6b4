/**
 * Playwright fixtures: a real loopback cluster per test (on a free port),
 * serving the built bundles, the demo, the test pages and the fixtures.
 * Tests run against the built output in dist/, as users do.
 */
import { test as base } from "@playwright/test";
import { fileURLToPath } from "node:url";
import { startLoopback, type LoopbackServer } from "motivus-loopback";

export const root = fileURLToPath(new URL("../../..", import.meta.url));
export const fixtures = `${root}/test/fixtures`;

export const test = base.extend<{ cluster: LoopbackServer; clusterLog: string[] }>({
  // Chromium reports the machine's real compute pressure, and a busy test run is "critical", which
  // pauses a worker with the default policy: pages here have no PressureObserver (the policy test
  // that needs one puts a fake in its place).
  context: async ({ context }, use) => {
    await context.addInitScript(() => delete (window as { PressureObserver?: unknown }).PressureObserver);
    await use(context);
  },
  clusterLog: async ({}, use) => use([]),
  cluster: async ({ clusterLog }, use) => {
    const server = await startLoopback({
      port: 0,
      algorithms: `${fixtures}/registry`,
      mounts: {
        "/fixtures/": fixtures,
        "/corpus/": `${root}/test/corpus`,
        "/pages/": `${root}/test/browser/pages`,
        "/modules/": `${root}/node_modules`,
      },
      log: (line) => clusterLog.push(line),
    });
    await use(server);
    await server.close();
  },
});
export { expect } from "@playwright/test";
