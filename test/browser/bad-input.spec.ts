// What a misbehaving cluster sends the browser worker: malformed frames,
// wrong types, a missing tid. The cluster here is a bare Phoenix V2 endpoint
// written for the test (the cluster is outside the code under test); the
// worker is the real demo page and library.
import { readFile } from "node:fs/promises";
import { decodeResultBody, toBase64 } from "motivus-protocol";
import { WorkerEvent } from "motivus-protocol";
import { expect, fixtures, test } from "./support/cluster.js";
import { fakeCluster } from "./support/fake-cluster.js";

test("malformed tasks get an error result for their tid, garbage is ignored, and the worker keeps working", async ({
  page,
  cluster,
}) => {
  const fake = await fakeCluster();
  try {
    await page.goto(`${cluster.origin}/worker.html?autostart=1&threads=1&cluster=${encodeURIComponent(fake.origin)}`);
    await expect.poll(() => fake.offers.length).toBe(1);

    // Wrong types: the worker answers this tid with an error naming the field, then offers again.
    fake.push(WorkerEvent.input, { tid: fake.offers[0], type: "work", body: { wasm: 123, params: "not a list" } });
    await expect.poll(() => fake.results.length).toBe(1);
    expect(fake.results[0].tid).toBe(fake.offers[0]);
    expect(decodeResultBody(fake.results[0].body).error).toMatch(/malformed task: .*wasm/);
    await expect.poll(() => fake.offers.length).toBe(2);

    // Frames nobody can answer: not JSON, no tid, unknown events. Nothing to reply to, nothing breaks.
    fake.raw("{{ not json");
    fake.push(WorkerEvent.input, { body: {} });
    fake.push(WorkerEvent.abortTask, { nope: true });
    fake.push(WorkerEvent.stats, "garbage");
    fake.push("something_new", { x: 1 });

    // A good task on the fresh slot still runs.
    const tid = fake.offers[1];
    const [wasm, loader] = await Promise.all(["wasm", "js"].map((ext) => readFile(`${fixtures}/c/build/classic/echo.${ext}`)));
    fake.push(WorkerEvent.input, {
      tid,
      type: "work",
      extra_field_from_a_newer_cluster: true,
      body: {
        wasm: toBase64(wasm!),
        loader: toBase64(loader!),
        arguments: "ok",
        result_files: { "/output/args.txt": "x" },
        unknown: 1,
      },
    });
    await expect.poll(() => fake.results.length).toBe(2);
    expect(fake.results[1].tid).toBe(tid);
    const body = decodeResultBody(fake.results[1].body);
    expect(body.data).toBe(0);
    expect(Buffer.from(body["/output/args.txt"] as string, "base64").toString()).toBe("ok\n");
  } finally {
    await fake.close();
  }
});
