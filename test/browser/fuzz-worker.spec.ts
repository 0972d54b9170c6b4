// Property-based: generated malformed `input` payloads for the browser worker (fast-check), pushed by a
// bare cluster written for the test. Every one that names an offered slot gets an answer with an error
// for that slot, the page stays up, and a good task afterwards still runs.
import { readFile } from "node:fs/promises";
import fc from "fast-check";
import { decodeResultBody, toBase64 } from "motivus-protocol";
import { WorkerEvent } from "motivus-protocol";
import { expect, fixtures, test } from "./support/cluster.js";
import { fakeCluster } from "./support/fake-cluster.js";

/** Bodies that are wrong in every way a cluster or a driver could get them wrong. */
const badBody = fc.oneof(
  fc.anything(),
  fc.record(
    {
      run_type: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
      wasm: fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.base64String({ maxLength: 64 })),
      loader: fc.oneof(fc.string(), fc.boolean(), fc.base64String({ maxLength: 64 })),
      params: fc.oneof(fc.anything(), fc.array(fc.jsonValue(), { maxLength: 4 })),
      arguments: fc.oneof(fc.anything(), fc.string(), fc.array(fc.string(), { maxLength: 3 })),
      preload_files: fc.oneof(fc.anything(), fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer()), { maxKeys: 3 })),
      result_files: fc.oneof(fc.anything(), fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 })),
      data_link: fc.oneof(fc.string(), fc.integer(), fc.constant("/relative"), fc.constant("file:///etc/passwd")),
      entry: fc.oneof(fc.string(), fc.integer()),
    },
    { requiredKeys: [] },
  ),
);

test("generated malformed inputs each get an error for their slot; the worker keeps working", async ({ page, cluster }) => {
  test.setTimeout(180_000);
  const fake = await fakeCluster();
  try {
    await page.goto(`${cluster.origin}/worker.html?autostart=1&threads=1&cluster=${encodeURIComponent(fake.origin)}`);
    await expect.poll(() => fake.offers.length).toBe(1);
    const errors = new Set<string>();
    await fc.assert(
      fc.asyncProperty(badBody, fc.oneof(fc.constant("work"), fc.anything()), async (body, type) => {
        const tid = fake.offers.at(-1)!;
        const answered = fake.results.length;
        fake.push(WorkerEvent.input, { tid, type, body });
        await expect.poll(() => fake.results.length, { timeout: 20_000 }).toBe(answered + 1);
        const result = fake.results.at(-1)!;
        expect(result.tid).toBe(tid);
        const content = decodeResultBody(result.body);
        expect(typeof content.error).toBe("string");
        errors.add(String(content.error).split(":")[0]!);
        // The slot is offered again, under a new tid.
        await expect.poll(() => fake.offers.length).toBe(answered + 2);
      }),
      { numRuns: 40, seed: 20261125 },
    );
    expect(errors.size).toBeGreaterThan(1); // the generator reached more than one kind of refusal

    const [wasm, loader] = await Promise.all(["wasm", "js"].map((ext) => readFile(`${fixtures}/c/build/classic/echo.${ext}`)));
    const answered = fake.results.length;
    fake.push(WorkerEvent.input, {
      tid: fake.offers.at(-1),
      type: "work",
      body: { wasm: toBase64(wasm!), loader: toBase64(loader!), arguments: "still here" },
    });
    await expect.poll(() => fake.results.length).toBe(answered + 1);
    expect(decodeResultBody(fake.results.at(-1)!.body).data).toBe(0);
  } finally {
    await fake.close();
  }
});
