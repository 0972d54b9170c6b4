// Programs other people published (test/corpus: Emscripten builds from npm, WASI programs from npm
// and PyPI) and the WASI programs built here (test/fixtures/wasi), run by the runtime in a worker
// of the real sandbox frame, each compared with what it produced outside the project.
import { differences, emscriptenCorpus, installed, root, wasiCases, type CorpusCase } from "../support/corpus.js";
import { expect, test } from "./support/cluster.js";
import { open, run } from "./support/runtime-harness.js";

/** The URL the test cluster serves a repository file at (test/corpus → /corpus, test/fixtures → /fixtures). */
const urlOf = (path: string) => path.replace(`${root}/test/`, "/");

async function runCase(page: Parameters<typeof open>[0], c: CorpusCase) {
  return run(page, {
    ...(c.wasm ? { wasm: urlOf(c.wasm) } : { wasmBytes: [] }),
    ...(c.loader ? { loader: urlOf(c.loader) } : { loaderText: "" }),
    arguments: c.arguments,
    ...(c.params ? { params: c.params } : {}),
    preloadUrls: Object.fromEntries(Object.entries(c.preloadFiles).map(([path, file]) => [path, urlOf(file)])),
    resultFiles: c.resultFiles,
    ...(c.entry ? { entry: c.entry } : {}),
  });
}

for (const c of [...emscriptenCorpus(), ...wasiCases()]) {
  test(c.name, async ({ page, cluster }) => {
    test.skip(!installed(c), `${c.wasm} is not installed (test/corpus: .ci/run fetches it)`);
    test.setTimeout(120_000);
    await open(page, cluster.origin);
    const outcome = await runCase(page, c);
    if (c.knownGap) {
      // A known gap: its own symptom, at once (not the deadline), so any other breakage still fails here.
      expect(outcome.ok).toBe(false);
      expect(outcome.error, c.knownGap.why).toMatch(new RegExp(c.knownGap.error));
      if (c.knownGap.code !== undefined) expect(outcome.errorCode).toBe(c.knownGap.code);
      return;
    }
    const files = Object.fromEntries(
      Object.keys(c.expected.files).map((path) => [
        path,
        typeof outcome.body[path] === "string" ? Buffer.from(outcome.body[path] as string, "base64") : undefined,
      ]),
    );
    const found = differences(c, { data: outcome.body.data, stdout: outcome.stdout ?? "", stderr: outcome.stderr ?? "", files });
    expect(found, `${c.name}: ${outcome.error ?? ""}`).toEqual([]);
  });
}
