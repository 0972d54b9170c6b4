// wasm-bindgen glue of every target a user may hand over, from npm packages (test/corpus/wasm-bindgen):
// `bundler` (its `_bg.js`), `nodejs` (CommonJS that reads its .wasm from disk) and `deno` (an ES module
// that finds its .wasm by import.meta.url). The worker hands each the task's bytes; the entry's answer
// must be what the package's own glue answers in Node (reference.mjs).
import { existsSync, readFileSync } from "node:fs";
import { expect, root, test } from "./support/cluster.js";
import { open, run } from "./support/runtime-harness.js";

interface GlueCase {
  name: string;
  package: string;
  target: "bundler" | "nodejs" | "deno";
  loader: string;
  wasm: string;
  entry: string;
  params: unknown[];
  expected: unknown;
  known_gap?: { error: string; why: string };
}

const dir = `${root}/test/corpus/wasm-bindgen`;
const cases = JSON.parse(readFileSync(`${dir}/cases.json`, "utf8")) as GlueCase[];

for (const c of cases) {
  test(`${c.target}: ${c.name}`, async ({ page, cluster }) => {
    const inPackage = (path: string) => `node_modules/${c.package}/${path}`;
    test.skip(!existsSync(`${dir}/${inPackage(c.wasm)}`), "the corpus is not installed (scripts/corpora.sh)");
    await open(page, cluster.origin);
    const outcome = await run(page, {
      loader: `/corpus/wasm-bindgen/${inPackage(c.loader)}`,
      wasm: `/corpus/wasm-bindgen/${inPackage(c.wasm)}`,
      entry: c.entry,
      params: c.params,
    });
    if (c.known_gap) {
      expect(outcome.ok).toBe(false);
      expect(outcome.error, c.known_gap.why).toMatch(new RegExp(c.known_gap.error));
      return;
    }
    expect(outcome.error).toBeNull();
    expect(outcome.body.data).toEqual(c.expected);
  });
}
