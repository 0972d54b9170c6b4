// One C program as every shape of Emscripten output, built here with Debian's emcc 3.1.6
// (test/fixtures/emscripten-shapes/build.sh), and what the runtime says of programs it cannot start.
// Programs other people built (emcc 1.38 to 4.0) are in corpus-runtime.spec.ts.
import type { Page } from "@playwright/test";
import { emscriptenCorpus } from "../support/corpus.js";
import { expect, root, test } from "./support/cluster.js";
import { open, run, type FixtureSpec } from "./support/runtime-harness.js";

const dir = "/fixtures/emscripten-shapes";
const task = (loader: string, wasm: string | null = loader.replace(/\.m?js$/, ".wasm")): FixtureSpec => ({
  loader: `${dir}/${loader}`,
  ...(wasm ? { wasm: `${dir}/${wasm}` } : { wasmBytes: [] }),
  arguments: ["one", "two words"],
  preloadText: { "/input/in.txt": "hello" },
  resultFiles: ["/output/out.txt"],
});

for (const [loader, wasm, shape] of [
  ["classic.js", "classic.wasm", "emscripten-classic"],
  ["mod.js", "mod.wasm", "emscripten-modularize"],
  ["es6.mjs", "es6.wasm", "emscripten-es-module"],
  ["single.js", null, "emscripten-classic"],
] as const) {
  test(`${shape}${wasm ? "" : " (SINGLE_FILE)"}: arguments, files, stdout and the exit code; the wasm is compiled once`, async ({
    page,
    cluster,
  }) => {
    await open(page, cluster.origin);
    for (let round = 0; round < 2; round++) {
      const outcome = await run(page, task(loader, wasm));
      expect(outcome.stdout, JSON.stringify(outcome)).toBe("argc=3 [one] [two words]\n");
      expect(outcome.stderr).toBe("done\nthe program exited with status 3\n");
      expect(outcome).toMatchObject({ shape, body: { data: 3 }, errorCode: 4 });
      expect(outcome.files["/output/out.txt"]).toBe("got: hello");
    }
    expect(await page.evaluate(() => (window as unknown as { cachedModules(): Promise<number> }).cachedModules())).toBe(1);
  });
}

test("a build made for Node only fails at once, saying so", async ({ page, cluster }) => {
  await open(page, cluster.origin);
  const outcome = await run(page, task("nodeonly.js"));
  expect(outcome).toMatchObject({ ok: false, errorCode: 1 });
  expect(outcome.error).toMatch(/built for Node only \(ENVIRONMENT=node\).*-sENVIRONMENT=web,worker/);
});

test("a program that never reaches main fails at the start-up limit, saying what it waited for", async ({ page, cluster }) => {
  await open(page, cluster.origin);
  const outcome = await run(page, { ...task("never.js"), startupMs: 1500 });
  expect(outcome).toMatchObject({ ok: false, errorCode: 7 });
  expect(outcome.error).toBe(
    "the program did not start within 2 s: it was still waiting for the runtime to initialise (its run dependencies, such as a data package)",
  );
  // The worker goes on.
  expect((await run(page, task("classic.js"))).stdout).toBe("argc=3 [one] [two words]\n");
});

test("-pthread before 3.1.58: a build that starts no thread runs; one that starts threads fails at once, for its separate .worker.js", async ({
  page,
  cluster,
}) => {
  await open(page, cluster.origin);
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
  const quiet = await run(page, task("pthread.js"));
  expect(quiet).toMatchObject({ stdout: "argc=3 [one] [two words]\n", body: { data: 3 } });
  const threads = await run(page, { loader: `${dir}/threads.js`, wasm: `${dir}/threads.wasm` });
  expect(threads).toMatchObject({ ok: false, errorCode: 7 });
  expect(threads.error).toContain("threads.worker.js, which a task cannot carry; rebuild with Emscripten 3.1.58 or later");
});

/** The test pages without their cross-origin isolation headers, as on a site that does not send them. */
async function withoutIsolation(page: Page): Promise<void> {
  await page.route("**/pages/**", async (route) => {
    const response = await route.fetch();
    const headers = { ...response.headers() };
    delete headers["cross-origin-opener-policy"];
    delete headers["cross-origin-embedder-policy"];
    await route.fulfill({ response, headers });
  });
}

test("threads: a -pthread program on a page that is not cross-origin isolated fails at once, naming the headers; createWorker says so first", async ({
  page,
  cluster,
}) => {
  const pthread = emscriptenCorpus().find((c) => c.name === "qpdf-esm-pthread")!;
  test.skip(!pthread.wasm, "the corpus is not installed");
  await withoutIsolation(page);
  await open(page, cluster.origin);
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(false);
  const url = (path: string) => path.replace(`${root}/test/`, "/");
  const outcome = await run(page, { loader: url(pthread.loader!), wasm: url(pthread.wasm!), arguments: ["--version"] });
  expect(outcome).toMatchObject({ ok: false, errorCode: 7 });
  expect(outcome.error).toContain("Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp");
  const threaded = await page.evaluate(async () => {
    const { createWorker } = (await import(
      "/dist/browser/motivus-worker.js" as string
    )) as typeof import("../../packages/worker/src/index.js");
    return createWorker({ cluster: location.origin }).threadedPrograms;
  });
  expect(threaded).toBe(false);
});
