// Emscripten shapes built here with Debian's emcc 3.1.6 (test/fixtures/emscripten-shapes/build.sh):
// the same program as classic, MODULARIZE, EXPORT_ES6, SINGLE_FILE, -pthread and Node-only.
import { expect, test } from "./support/cluster.js";
import { open, run, type FixtureSpec } from "./support/runtime-harness.js";

const dir = "/fixtures/emscripten-shapes";
const task = (loader: string, wasm = loader.replace(/\.m?js$/, ".wasm")): FixtureSpec => ({
  loader: `${dir}/${loader}`,
  wasm: `${dir}/${wasm}`,
  arguments: ["one", "two words"],
  preloadText: { "/input/in.txt": "hello" },
  resultFiles: ["/output/out.txt"],
});

for (const [loader, shape] of [
  ["classic.js", "emscripten-classic"],
  ["mod.js", "emscripten-modularize"],
  ["es6.mjs", "emscripten-es-module"],
] as const) {
  test(`${loader}`, async ({ page, cluster }) => {
    await open(page, cluster.origin);
    const outcome = await run(page, task(loader));
    expect(outcome.stdout, JSON.stringify(outcome)).toBe("argc=3 [one] [two words]\n");
    expect(outcome).toMatchObject({ shape, body: { data: 3 } });
    expect(outcome.files["/output/out.txt"]).toBe("got: hello");
  });
}

test("node only", async ({ page, cluster }) => {
  await open(page, cluster.origin);
  const outcome = await run(page, task("nodeonly.js"));
  expect(outcome.error).toContain("Node");
});
