// A host page with a strict Content-Security-Policy: the sandbox frame (a
// srcdoc document, which inherits the page's CSP) cannot run its bootstrap.
// start() must fail with a reason a site owner can act on, not hang.
import { expect, test } from "./support/cluster.js";

test("start() on a page whose CSP blocks the sandbox fails with an actionable error", async ({ page, cluster }) => {
  test.setTimeout(40_000);
  await page.goto(`${cluster.origin}/pages/strict-csp.html`);
  const result = await page.evaluate(() => (window as any).startResult as Promise<string>);
  expect(result).toMatch(
    /^refused: the sandbox frame did not start within 10 s: .*Content-Security-Policy.*script-src\) \(state error\)$/,
  );
  expect(cluster.stats().workers).toBe(0);
  expect(await page.locator("iframe").count()).toBe(0);
});
