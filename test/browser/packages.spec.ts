// The three packages as users install them: each packed tarball into an empty project. A web app built
// with Vite against motivus-worker (its runtime emitted by the bundler, nothing copied by hand) runs a
// task behind a server that answers unknown paths with the index page; motivus-loopback and
// motivus-driver, installed together, run a task through headless workers started from code, and
// `npx motivus-loopback --help` works there.
import { execFile } from "node:child_process";
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join } from "node:path";
import { promisify } from "node:util";
import { startLoopback } from "motivus-loopback";
import { Client } from "motivus-driver";
import { startCli } from "../support/cli.js";
import { installed, packagesIn } from "../support/packs.js";
import { expect, fixtures, root, test } from "./support/cluster.js";

const run = promisify(execFile);
const echo = { wasm_path: `${fixtures}/c/build/classic/echo.wasm`, loader_path: `${fixtures}/c/build/classic/echo.js` };

/** Browser libraries only: what motivus-worker's own code and types import, and theirs. */
const BROWSER_DEPENDENCIES = [
  "@bjorn3/browser_wasi_shim",
  "comlink",
  "fflate",
  "idb-keyval",
  "motivus-protocol",
  "motivus-worker",
  "phoenix",
  "zod",
];

const APP_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>an app</title></head>
<body><h1>an app that contributes</h1><script type="module" src="/main.js"></script></body></html>
`;

// As the README shows it, plus the runtime's URL through a `?url` import (the other way to find it).
const APP_MAIN = `import { createWorker } from "motivus-worker";
import runtimeAsset from "motivus-worker/runtime.js?url";

window.runtimeAsset = runtimeAsset;
window.startWorker = async (cluster, runtimeUrl) => {
  const worker = createWorker({ cluster, threads: 1, ...(runtimeUrl ? { runtimeUrl } : {}) });
  try {
    await worker.start();
    window.worker = worker;
    return "started";
  } catch (err) {
    return "refused: " + err.message;
  }
};
`;

const TYPES: Record<string, string> = { ".html": "text/html", ".js": "text/javascript", ".json": "application/json" };

/** A single-page-app host: files from `dir`, and the index page for any other path. */
async function spaServer(dir: string): Promise<Server> {
  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const file = join(dir, path === "/" ? "index.html" : path);
    const found = file.startsWith(dir) && (await stat(file).catch(() => null))?.isFile() ? file : join(dir, "index.html");
    res.writeHead(200, { "content-type": TYPES[extname(found)] ?? "application/octet-stream" });
    res.end(await readFile(found));
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  return server;
}

test("a Vite app built against the packed motivus-worker (browser dependencies only) runs a task behind an index-page fallback; an HTML runtime is refused at once", async ({
  page,
}) => {
  test.setTimeout(240_000);
  const app = await installed(["motivus-protocol", "motivus-worker"]);
  expect(await packagesIn(app)).toEqual(BROWSER_DEPENDENCIES);

  await writeFile(join(app, "index.html"), APP_HTML);
  await writeFile(join(app, "main.js"), APP_MAIN);
  await run(process.execPath, [`${root}/node_modules/vite/bin/vite.js`, "build", "--logLevel", "warn"], { cwd: app });
  const assets = await readdir(join(app, "dist/assets"));
  expect(assets.filter((f) => /^runtime-.*\.js$/.test(f))).toHaveLength(1); // emitted by the bundler

  const host = await spaServer(join(app, "dist"));
  const appOrigin = `http://127.0.0.1:${(host.address() as AddressInfo).port}`;
  const cluster = await startLoopback({ port: 0, allowOrigins: [appOrigin] });
  const client = await Client.connect({ uri: cluster.driverUri, logDir: null });
  try {
    await page.goto(`${appOrigin}/`);
    const runtime = await page.evaluate(() => (window as unknown as { runtimeAsset: string }).runtimeAsset);
    expect(runtime).toMatch(/^\/assets\/runtime-.*\.js$/);

    // Where the runtime is not, the host answers its index page: refused at once, naming the option.
    const refused = await page.evaluate((c) => (window as any).startWorker(c, "/no/runtime.js"), cluster.origin);
    expect(refused).toMatch(/^refused: .*\/no\/runtime\.js is not the worker runtime \(text\/html.*runtimeUrl option/);

    expect(await page.evaluate((c) => (window as any).startWorker(c), cluster.origin)).toBe("started");
    await expect.poll(() => cluster.stats().offered_slots).toBe(1);
    expect(await client.selectTask(client.callAsync({ ...echo, arguments: ["from", "an", "app"] }))).toBe(0);
  } finally {
    await client.close();
    await cluster.close();
    host.close();
  }
});

test("motivus-loopback and motivus-driver from their tarballs: npx motivus-loopback --help, and a task through headless workers started from code", async () => {
  test.setTimeout(240_000);
  const project = await installed(["motivus-protocol", "motivus-worker", "motivus-driver", "motivus-loopback"]);

  const help = startCli(["--help"], { npxIn: project });
  await help.line(/^Usage: motivus-loopback \[options\]$/);
  await new Promise((exited) => help.child.once("exit", exited));
  expect(help.child.exitCode).toBe(0);
  expect(help.output[0]).toMatch(/^motivus-loopback: a local Motivus Waterbear cluster/);

  // What a test author writes: the cluster and its headless worker from code, a task from the driver.
  const script = `
    import { startLoopback } from "motivus-loopback";
    import { Client } from "motivus-driver";
    const cluster = await startLoopback({ port: 0, headless: 1, threads: 1 });
    const client = await Client.connect({ uri: cluster.driverUri, logDir: null });
    const data = await client.selectTask(client.callAsync(JSON.parse(process.env.TASK)));
    await client.close();
    await cluster.close();
    console.log(JSON.stringify({ data }));
  `;
  await writeFile(join(project, "drive.mjs"), script);
  const { stdout } = await run(process.execPath, ["drive.mjs"], {
    cwd: project,
    env: { ...process.env, TASK: JSON.stringify({ ...echo, arguments: ["installed"] }) },
  });
  expect(JSON.parse(stdout.trim().split("\n").at(-1)!)).toEqual({ data: 0 });
});
