// The script tag on a host page with a strict Content-Security-Policy (`default-src 'none'`, so no
// style-src, img-src, frame-src or font-src allowance): with exactly the directives the README lists,
// the widget and every loader shape work; without the sandbox bootstrap's hash, the widget says why it
// cannot start, the browser's console names the hash to allow (the one the package ships in
// dist/csp.json), and the page is unharmed.
// The host pages are written at run time (their CSP carries the hash of this build) into a folder a
// loopback cluster of this test serves; they are plain static files with a <meta> CSP.
import type { Page } from "@playwright/test";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "motivus-driver";
import { startLoopback } from "motivus-loopback";
import { expect, fixtures, root, test } from "./support/cluster.js";

const c = (kind: string, file: string) => `${fixtures}/c/build/${kind}/${file}`;
const wb = `${fixtures}/wasm-bindgen`;

function hostPage(csp: string): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta http-equiv="Content-Security-Policy" content="${csp}">
  <title>strict CSP host</title>
</head>
<body>
  <main><h1>A strict host</h1><p id="content">Its own content.</p></main>
  <script src="/dist/browser/motivus-embed.js" async data-cluster="/" data-threads="1"></script>
</body>
</html>`;
}

async function agree(page: Page): Promise<void> {
  await page.locator("motivus-widget button.pill").click();
  await page.locator("motivus-widget").getByRole("button", { name: "Agree and start" }).click();
}

test("a host with a strict CSP: without the bootstrap's hash the widget says why and the console names the hash the package ships (dist/csp.json); with exactly the documented directives every loader shape runs", async ({
  browser,
}) => {
  test.setTimeout(120_000);
  const dir = await mkdtemp(join(tmpdir(), "motivus-csp-"));
  const cluster = await startLoopback({
    port: 0,
    algorithms: `${fixtures}/registry`,
    mounts: { "/fixtures/": fixtures, "/host/": dir },
  });
  try {
    // Everything from the page's own origin ('self': the embed, the library, runtime.js and, here, the cluster).
    const base = "default-src 'none'; connect-src 'self'; script-src 'self' 'unsafe-eval' blob:";
    await writeFile(join(dir, "no-hash.html"), hostPage(base));
    const context = await browser.newContext();
    await context.addInitScript(() => delete (window as any).PressureObserver); // the machine's real load must not pause it
    const page = await context.newPage();
    const console: string[] = [];
    const pageErrors: string[] = [];
    page.on("console", (msg) => console.push(msg.text()));
    page.on("pageerror", (err) => pageErrors.push(err.message));
    await page.goto(`${cluster.origin}/host/no-hash.html`);
    await agree(page);
    await expect(page.locator("motivus-widget").getByRole("status")).toHaveText(
      /^Could not start: the sandbox frame did not start within 10 s: this page's Content-Security-Policy probably blocks inline scripts/,
      { timeout: 20_000 },
    );
    const shipped = JSON.parse(await readFile(`${root}/packages/worker/dist/csp.json`, "utf8"));
    const named = console.map((line) => /a hash \('(sha256-[A-Za-z0-9+/=]+)'\)/.exec(line)?.[1]).find(Boolean);
    expect(`'${named}'`).toBe(shipped.sandboxBootstrapHash); // what a site owner reads from the package
    expect(pageErrors).toEqual([]);
    await expect(page.locator("#content")).toBeVisible();
    expect(cluster.stats().workers).toBe(0);
    await page.close();

    // The documented list, with the shipped hash: script-src <embed origin> 'sha256-…' 'unsafe-eval' blob:; connect-src <embed origin> <cluster>.
    await writeFile(
      join(dir, "strict.html"),
      hostPage(`default-src 'none'; connect-src 'self'; script-src 'self' ${shipped.sandboxBootstrapHash} 'unsafe-eval' blob:`),
    );
    const strict = await context.newPage();
    const violations: string[] = [];
    strict.on("console", (msg) => /Content Security Policy/.test(msg.text()) && violations.push(msg.text()));
    await strict.goto(`${cluster.origin}/host/strict.html`); // the visitor's "yes" on the first page is remembered: it starts
    await strict.locator("motivus-widget button.pill").click();
    await expect.poll(() => cluster.stats().offered_slots).toBe(1);
    await expect(strict.locator("motivus-widget").getByRole("status")).toHaveText("Working with 1 thread");
    const client = await Client.connect({ uri: cluster.driverUri, logDir: null });
    const tasks = {
      emscriptenModularize: client.callAsync({
        wasm_path: c("modularize", "echo.wasm"),
        loader_path: c("modularize", "echo.js"),
        arguments: ["a"],
      }),
      emscriptenClassic: client.callAsync({
        wasm_path: c("classic", "echo.wasm"),
        loader_path: c("classic", "echo.js"),
        arguments: ["a"],
      }),
      wasmBindgenWeb: client.callAsync({
        wasm_path: `${wb}/web/sql_fmt_bg.wasm`,
        loader_path: `${wb}/web/sql_fmt.js`,
        entry: "format",
        params: ["SELECT 1;", "q.sql"],
      }),
      wasmBindgenNoModules: client.callAsync({
        wasm_path: `${wb}/no-modules/wasm_flate_bg.wasm`,
        loader_path: `${wb}/no-modules/wasm_flate.js`,
        entry: "zlib_encode",
        params: ["Hello World"],
      }),
      legacyAdapter: client.callAsync({
        wasm_path: `${fixtures}/legacy/kmeans.legacy.wasm`,
        loader_path: `${fixtures}/legacy/kmeans.legacy.js`,
        params: [
          [
            [1, 1],
            [1, 2],
            [9, 9],
            [9, 8],
          ],
          2,
        ],
      }),
    };
    const results: Record<string, unknown> = {};
    for (const [name, id] of Object.entries(tasks)) results[name] = await client.selectTask(id);
    expect(results).toEqual({
      emscriptenModularize: 0,
      emscriptenClassic: 0,
      wasmBindgenWeb: "SELECT\n  1;",
      wasmBindgenNoModules: "eAHzSM3JyVcIzy/KSQEAGAsEHQ==",
      legacyAdapter: 1,
    });
    await client.close();
    expect(violations).toEqual([]);
    await context.close();
  } finally {
    await cluster.close();
    await rm(dir, { recursive: true, force: true });
  }
});
