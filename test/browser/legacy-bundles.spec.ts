/**
 * Legacy Motivus adapter bundles as `motivus build` produced them (test/fixtures/legacy/motivus-build:
 * adapter + Emscripten output, bundled and minified by webpack) and hand-written adapters in every
 * shape a minifier leaves, run through the worker runtime (dist/browser/runtime.js) with the
 * runtime.spec.ts harness. The adapter must get the task body as the original widget posted it (plus
 * buffWasm), its reply body must come back whole, and a failing adapter must still give an answer.
 */
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "motivus-driver";
import { DOCS } from "../support/docs.js";
import { fixtures, test, expect } from "./support/cluster.js";
import { open, run, type Decoded, type FixtureSpec } from "./support/runtime-harness.js";
import type { Page } from "@playwright/test";

const code = { algorithmFailed: 4, badResult: 6 } as const;

const built = (name: string): FixtureSpec => ({
  wasm: `/fixtures/legacy/motivus-build/${name}.wasm`,
  loader: `/fixtures/legacy/motivus-build/${name}.js`,
  dataZip: `/fixtures/legacy/motivus-build/${name}.data.zip`,
});
const kmeansTask = (base: FixtureSpec): FixtureSpec => ({
  ...base,
  arguments: "--k=2",
  preloadUrls: { "/input/matrix.txt": "/fixtures/c/data/matrix.txt" },
  resultFiles: ["/output/labels.json"],
});
const labels = "[0,0,0,0,0,1,1,1,1,1]";
const base64 = (text: string): string => Buffer.from(text, "utf8").toString("base64");
// Any wasm will do for adapters that never instantiate it.
const anyWasm = "/fixtures/legacy/motivus-build/datapkg.wasm";

test.describe("bundles built like motivus build (webpack, minified)", () => {
  test("the bundles are minified webpack output", () => {
    for (const name of ["kmeans", "datapkg"]) {
      const source = readFileSync(`${fixtures}/legacy/motivus-build/${name}.js`, "utf8");
      expect(source.startsWith("(()=>{")).toBe(true);
      expect(source).toContain("onmessage=function(");
      expect(source).not.toMatch(/onmessage\s+=|onmessage=\s/);
      expect(source).toContain("data_link");
      expect(source.split("\n").length).toBeLessThan(5);
    }
  });

  test("k-means: preload file in, labels.json out, the reply body is the result", async ({ page, cluster }) => {
    await open(page, cluster.origin);
    const outcome = await run(page, kmeansTask(built("kmeans")));
    expect(outcome).toMatchObject({ ok: true, error: null, shape: "legacy" });
    expect(outcome.files).toEqual({ "/output/labels.json": labels });
    // The C adapter answers files only: no data, so `result.get("data", result)` is the whole body.
    expect(outcome.body).toEqual({ "/output/labels.json": base64(labels) });
    expect(outcome.stdout).toBe(
      "kmeans: 10 rows x 5 cols, k=2, 2 clusters, 1 iterations, labels written to /output/labels.json\n",
    );
    expect(outcome.stderr).toBeNull();
  });

  test("k-means: arguments reach main (k=3)", async ({ page, cluster }) => {
    await open(page, cluster.origin);
    const outcome = await run(page, { ...kmeansTask(built("kmeans")), arguments: ["--k=3"] });
    expect(outcome.files["/output/labels.json"]).toBe("[0,1,0,1,1,2,2,2,2,2]");
  });

  test("datapkg: the adapter downloads its data package with a synchronous XHR", async ({ page, cluster }) => {
    await open(page, cluster.origin);
    const outcome = await run(page, { ...built("datapkg"), resultFiles: ["/output/greeting.txt"] });
    expect(outcome).toMatchObject({ ok: true, shape: "legacy", stdout: "hello from the data package\n" });
    expect(outcome.files).toEqual({ "/output/greeting.txt": "hello from the data package\n" });
  });

  test("a program that exits non-zero: the adapter has no exit code, so the reply is the result", async ({ page, cluster }) => {
    await open(page, cluster.origin);
    const outcome = await run(page, { ...kmeansTask(built("kmeans")), arguments: "--k=0" });
    expect(outcome).toMatchObject({ ok: true, shape: "legacy" });
    expect(outcome.body).toEqual({});
    expect(outcome.stderr).toContain("kmeans: k must be >= 1\n");
    expect(outcome.stderr).toContain("program exited (with status: 1)");
    expect(outcome.stderr).toContain("result file /output/labels.json is missing");
  });

  test("failing bundles still answer, and the worker runs the next task", async ({ page, cluster }) => {
    await open(page, cluster.origin);
    // A wasm that does not compile: Emscripten aborts inside a promise, onAbort only logs, nothing is posted.
    const badWasm = await run(page, { ...kmeansTask(built("kmeans")), wasmBytes: [0, 97, 115, 109, 1, 0, 0, 0, 9, 9] });
    expect(badWasm).toMatchObject({ ok: false, errorCode: code.algorithmFailed, shape: "legacy" });
    expect(badWasm.error).toMatch(
      /^the legacy adapter failed: RuntimeError: Aborted\(CompileError: WebAssembly\.instantiate\(\)/,
    );
    expect(badWasm.stderr).toContain("aborted CompileError: WebAssembly.instantiate()");
    expect(badWasm.body.error).toBe(badWasm.error);

    // No data_link: Emscripten fetches kmeans.data itself, asynchronously, and the sandbox refuses.
    const noPackage = await run(page, { ...kmeansTask(built("kmeans")), dataZip: undefined });
    expect(noPackage).toMatchObject({ ok: false, errorCode: code.algorithmFailed });
    expect(noPackage.error).toBe("the legacy adapter failed: Error: NetworkError for: kmeans.data");

    // A data_link other than the task's: the synchronous XHR throws inside onmessage.
    const elsewhere = await run(page, { ...built("datapkg"), legacyDataLink: `${cluster.origin}/fixtures/elsewhere.data.zip` });
    expect(elsewhere).toMatchObject({ ok: false, errorCode: code.algorithmFailed });
    expect(elsewhere.error).toContain("NetworkError: the sandbox has no network; only the task's data_link can be read");

    // A data package that is not a zip of the .data: the program runs without its files.
    const garbage = await run(page, {
      ...built("datapkg"),
      dataZip: undefined,
      dataZipBytes: [80, 75, 3, 4, 1, 2, 3],
      resultFiles: ["/output/greeting.txt"],
    });
    expect(garbage).toMatchObject({ ok: false, errorCode: code.algorithmFailed });
    expect(garbage.error).toMatch(/^the legacy adapter failed: /);

    const next = await run(page, kmeansTask(built("kmeans")));
    expect(next).toMatchObject({ ok: true, files: { "/output/labels.json": labels } });
  });

  test("end to end: driver, loopback cluster, the demo page's pool and sandbox", async ({ page, cluster }) => {
    await page.goto(`${cluster.origin}/worker.html?autostart=1&threads=1`);
    await expect.poll(() => cluster.stats().offered_slots).toBe(1);
    const logDir = await mkdtemp(join(tmpdir(), "motivus-legacy-"));
    const client = await Client.connect({ uri: cluster.driverUri, logDir });
    try {
      const dir = `${fixtures}/legacy/motivus-build`;
      const labelsFile = join(logDir, "out", "labels.json");
      const kmeans = client.callAsync({
        wasm_path: `${dir}/kmeans.wasm`,
        loader_path: `${dir}/kmeans.js`,
        data_link: `${cluster.origin}/fixtures/legacy/motivus-build/kmeans.data.zip`,
        arguments: ["--k=2"],
        preload_files: { "/input/matrix.txt": await readFile(`${fixtures}/c/data/matrix.txt`) },
        result_files: { "/output/labels.json": labelsFile },
      });
      // No data in the reply: the driver gets the whole body, as from the original cluster.
      expect(await client.selectTask(kmeans)).toEqual({ "/output/labels.json": base64(labels) });
      expect(await readFile(labelsFile, "utf8")).toBe(labels);
      const greetingFile = join(logDir, "out", "greeting.txt");
      const datapkg = client.callAsync({
        wasm_path: `${dir}/datapkg.wasm`,
        loader_path: `${dir}/datapkg.js`,
        data_link: `${cluster.origin}/fixtures/legacy/motivus-build/datapkg.data.zip`,
        result_files: { "/output/greeting.txt": greetingFile },
      });
      await client.selectTask(datapkg);
      expect(await readFile(greetingFile, "utf8")).toBe("hello from the data package\n");
    } finally {
      await client.close();
    }
  });

  test("inside the CSP sandbox", async ({ page, cluster }) => {
    await open(page, cluster.origin);
    const kmeans = await run(page, kmeansTask(built("kmeans")));
    expect(kmeans).toMatchObject({ ok: true, shape: "legacy", files: { "/output/labels.json": labels } });
    const datapkg = await run(page, { ...built("datapkg"), resultFiles: ["/output/greeting.txt"] });
    expect(datapkg.files["/output/greeting.txt"]).toBe("hello from the data package\n");
  });
});

test.describe("what the adapter is sent and what it answers", () => {
  // Answers with what it got: the message's keys and fields, buffWasm checked against the base64 wasm.
  const echo = `
function describeTask(event) {
  var d = event.data, w = d.buffWasm, wasm = atob(d.wasm), same = wasm.length === w.byteLength;
  for (var i = 0; same && i < wasm.length; i++) same = wasm.charCodeAt(i) === w[i];
  postMessage({
    body: {
      data: {
        keys: Object.keys(d).sort(),
        buffWasm: Object.prototype.toString.call(w),
        sameWasm: same,
        loaderReadsDataLink: atob(d.loader).indexOf("data_link") >= 0,
        params: d.params, arguments: d.arguments, data_link: d.data_link, run_type: d.run_type,
        preload_files: d.preload_files, result_files: d.result_files
      },
      "/extra/not-asked-for.txt": btoa("kept")
    },
    stdout: null,
    stderr: ""
  });
}
`;
  const installs: Record<string, string> = {
    "onmessage = f": "onmessage = describeTask;",
    "minified, after a brace": "var x={};if(x){}onmessage=describeTask;",
    "minified, in a comma expression": "var y;y=1,onmessage=describeTask;",
    "inside webpack's module function":
      '(()=>{var e={933(e,r,t){"use strict";t.n=1,self.onmessage=describeTask}};e[933]({},{},{})})();',
    'self["onmessage"]': 'self["onmessage"]=describeTask;',
    addEventListener: 'addEventListener("message",describeTask);',
  };

  for (const [form, install] of Object.entries(installs)) {
    test(`detected and fed as the original widget did: ${form}`, async ({ page, cluster }) => {
      await open(page, cluster.origin);
      const outcome = await run(page, {
        wasm: anyWasm,
        loaderText: echo + install,
        arguments: "--k=2",
        params: [
          [
            [1, 2],
            [3, 4],
          ],
          2,
        ],
        preloadText: { "/input/a.txt": "A" },
        resultFiles: ["/output/x.txt"],
      });
      expect(outcome).toMatchObject({ ok: true, shape: "legacy", stdout: null });
      expect(outcome.body.data).toEqual({
        keys: ["arguments", "buffWasm", "data_link", "loader", "params", "preload_files", "result_files", "run_type", "wasm"],
        buffWasm: "[object Uint8Array]",
        sameWasm: true,
        loaderReadsDataLink: true,
        params: [
          [
            [1, 2],
            [3, 4],
          ],
          2,
        ],
        arguments: "--k=2",
        data_link: null,
        run_type: "wasm",
        preload_files: { "/input/a.txt": base64("A") },
        result_files: { "/output/x.txt": "out/output/x.txt" },
      });
      expect(outcome.files).toEqual({ "/extra/not-asked-for.txt": "kept" });
      expect(outcome.stderr).toBe("result file /output/x.txt is missing: the program did not write it\n");
    });
  }

  test("a worker script that never reads the task body is not a legacy adapter", async ({ page, cluster }) => {
    await open(page, cluster.origin);
    const outcome = await run(page, {
      wasm: anyWasm,
      loaderText: "onmessage=function(e){postMessage({body:{},stdout:'',stderr:''})}",
    });
    // Not run as an adapter: tried as Emscripten, it neither leaves a factory nor starts a program.
    expect(outcome).toMatchObject({ ok: false, errorCode: 1 });
    expect(outcome.error).toContain("the loader is not one this worker runs");
  });

  // Posts {body: params[0], stdout: params[1], stderr: params[2]} (an absent params[0] posts body: undefined).
  const replier = "onmessage=function(e){var p=e.data.params;postMessage({body:p[0],stdout:p[1],stderr:p[2]})} // data_link";
  const reply = (page: Page, body: unknown, stdout: unknown = "", stderr: unknown = ""): Promise<Decoded> =>
    run(page, { wasm: anyWasm, loaderText: replier, params: [body, stdout, stderr] });

  test("the reply body is kept whole: data of any JSON type, every entry, a bare value as data", async ({ page, cluster }) => {
    await open(page, cluster.origin);
    // the Rust adapter: {data: <main's value>}
    expect((await reply(page, { data: [0, 0, 1] })).body).toEqual({ data: [0, 0, 1] });
    expect((await reply(page, { data: { a: [1.5, "x"] }, "/f.txt": base64("hi"), note: 7 })).body).toEqual({
      data: { a: [1.5, "x"] },
      "/f.txt": base64("hi"),
      note: 7,
    });
    expect((await reply(page, { data: null })).body).toEqual({ data: null });
    expect((await reply(page, { data: "text" })).body).toEqual({ data: "text" });
    // an old Rust adapter posting main's value as the body itself
    expect((await reply(page, [0, 1, 1])).body).toEqual({ data: [0, 1, 1] });
    expect((await reply(page, 42)).body).toEqual({ data: 42 });
    expect((await reply(page, "[0, 1]")).body).toEqual({ data: "[0, 1]" });
    expect((await reply(page, null)).body).toEqual({ data: null });
    // no data and no exit code: no data entry
    const empty = await reply(page, {});
    expect(empty).toMatchObject({ ok: true, body: {}, stdout: null, stderr: null });
  });

  test("stdout and stderr: base64 (UTF-8 or Latin-1), empty, null or missing", async ({ page, cluster }) => {
    await open(page, cluster.origin);
    const utf8 = await reply(page, {}, base64("naïve → ok\n"), base64("warn\n"));
    expect(utf8).toMatchObject({ ok: true, stdout: "naïve → ok\n", stderr: "warn\n" });
    // the original C adapter: btoa() of its text, so é is one byte
    const latin1 = await reply(page, {}, Buffer.from("café\n", "latin1").toString("base64"), null);
    expect(latin1).toMatchObject({ stdout: "café\n", stderr: null });
    const none = await reply(page, {}, null, "");
    expect(none).toMatchObject({ ok: true, stdout: null, stderr: null });
    const missing = await run(page, { wasm: anyWasm, loaderText: "onmessage=function(e){postMessage({body:{}})} // data_link" });
    expect(missing).toMatchObject({ ok: true, stdout: null, stderr: null, body: {} });
  });

  test("something other than {body, ...} is a bad result", async ({ page, cluster }) => {
    await open(page, cluster.origin);
    const outcome = await run(page, { wasm: anyWasm, loaderText: "onmessage=function(e){postMessage([e.data.data_link])}" });
    expect(outcome).toMatchObject({ ok: false, errorCode: code.badResult });
  });

  test("console output of the adapter goes to stdout and stderr, large values summarised", async ({ page, cluster }) => {
    await open(page, cluster.origin);
    const outcome = await run(page, {
      wasm: anyWasm,
      loaderText:
        'onmessage=function(e){console.log("hni");console.log(e.data.buffWasm);console.error("careful",{k:2});postMessage({body:{data:1},stdout:btoa("own\\n"),stderr:""})} // data_link',
    });
    expect(outcome).toMatchObject({ ok: true, body: { data: 1 } });
    expect(outcome.stdout).toMatch(/^hni\nUint8Array\(\d+\)\nown\n$/);
    expect(outcome.stderr).toBe('careful {"k":2}\n');
  });

  test("data_link is served to a synchronous XHR as the browser serves it (x-user-defined responseText)", async ({
    page,
    cluster,
  }) => {
    await open(page, cluster.origin);
    const probe = `onmessage = function (e) {
  var r = new XMLHttpRequest(), events = [];
  r.open("GET", e.data.data_link, false);
  r.overrideMimeType("text/plain; charset=x-user-defined");
  r.onreadystatechange = function () { events.push("readystatechange " + r.readyState); };
  r.onload = function () { events.push("load " + r.status); };
  r.addEventListener("loadend", function () { events.push("loadend"); });
  r.send(null);
  events.push("send returned");
  var text = r.responseText, codes = [];
  for (var i = 0; i < text.length; i++) codes.push(text.charCodeAt(i));
  var other = new XMLHttpRequest(), refused = null;
  other.open("GET", "https://example.org/other.data.zip", false);
  try { other.send(null); } catch (x) { refused = x.name; }
  postMessage({ body: { data: { events: events, codes: codes, bytes: codes.map(function (c) { return c & 0xff; }), refused: refused } }, stdout: "", stderr: "" });
};`;
    const outcome = await run(page, { wasm: anyWasm, loaderText: probe, dataZipBytes: [0, 65, 127, 128, 200, 255] });
    expect(outcome).toMatchObject({ ok: true, shape: "legacy" });
    expect(outcome.body.data).toEqual({
      events: ["readystatechange 4", "load 200", "loadend", "send returned"],
      codes: [0, 65, 127, 0xf780, 0xf7c8, 0xf7ff],
      bytes: [0, 65, 127, 128, 200, 255],
      refused: "NetworkError",
    });
  });

  test("an adapter that throws, rejects or does not parse still gets an answer", async ({ page, cluster }) => {
    await open(page, cluster.origin);
    const thrown = await run(page, {
      wasm: anyWasm,
      loaderText: 'onmessage=function(e){throw new TypeError("no "+e.data.data_link)}',
    });
    expect(thrown).toMatchObject({
      ok: false,
      errorCode: code.algorithmFailed,
      error: "the legacy adapter failed: TypeError: no null",
    });
    const rejected = await run(page, {
      wasm: anyWasm,
      loaderText: 'onmessage=async function(e){await null;throw new Error("later "+e.data.data_link)}',
    });
    expect(rejected).toMatchObject({ ok: false, error: "the legacy adapter failed: Error: later null" });
    const atLoad = await run(page, {
      wasm: anyWasm,
      loaderText: 'onmessage=function(e){e.data.data_link};throw new Error("broken bundle")',
    });
    expect(atLoad).toMatchObject({ ok: false, error: "the legacy adapter failed: Error: broken bundle" });
    const unparsable = await run(page, { wasm: anyWasm, loaderText: "onmessage=function(e){e.data.data_link" });
    expect(unparsable).toMatchObject({ ok: false, errorCode: code.algorithmFailed });
    expect(unparsable.error).toMatch(/^the legacy adapter failed: .*SyntaxError/);
    // An adapter that exits main without answering in time is the pool's deadline's business; this one answers.
    expect((await reply(page, { data: "still here" })).body).toEqual({ data: "still here" });
  });
});

test("wasm-bindgen no-modules glue with a Rust-style adapter: buffWasm initialises it, main's value comes back", async ({
  page,
  cluster,
}) => {
  // The shape of example-periodogram-rust's waterbear.wasmpack.js (adapter appended to the glue),
  // over a real no-modules glue; params[1] picks {data: value} or the bare value as the body.
  const glue = readFileSync(`${fixtures}/wasm-bindgen/no-modules/wasm_flate.js`, "utf8");
  const adapter = `
function handleNewInput(reply, params, wasm, data_link, task) {
  wasm_bindgen(task.buffWasm).then(function () {
    var value = wasm_bindgen.zlib_encode(params[0]);
    reply(params[1] === "bare" ? value : { data: value }, "", "");
  });
}
onmessage = function (e) {
  handleNewInput(function (body, stdout, stderr) { postMessage({ body: body, stdout: stdout, stderr: stderr }); },
    e.data.params, e.data.wasm, e.data.data_link, e.data);
};`;
  await open(page, cluster.origin);
  const spec = { wasm: "/fixtures/wasm-bindgen/no-modules/wasm_flate_bg.wasm", loaderText: glue + adapter };
  const wrapped = await run(page, { ...spec, params: ["Hello World", "wrapped"] });
  expect(wrapped).toMatchObject({ ok: true, shape: "legacy", stdout: null, stderr: null });
  expect(wrapped.body).toEqual({ data: "eAHzSM3JyVcIzy/KSQEAGAsEHQ==" });
  const bare = await run(page, { ...spec, params: ["Hello World", "bare"] });
  expect(bare.body).toEqual({ data: "eAHzSM3JyVcIzy/KSQEAGAsEHQ==" });
});

const rustBundle = `${fixtures}/legacy/kmeans-rust.legacy.js`;
test.describe("Rust legacy bundle (wasm-bindgen no-modules + adapter)", () => {
  test.skip(!existsSync(rustBundle), "test/fixtures/legacy/kmeans-rust.legacy.js is not built");

  test("k-means over the docs' matrix answers {data: labels}", async ({ page, cluster }) => {
    const docs = readFileSync(DOCS, "utf8");
    const block = /data = (\[\s*\[[\s\S]*?\]\s*,?\s*\])/.exec(docs);
    expect(block).not.toBeNull();
    const matrix = JSON.parse(block![1]!.replace(/,\s*\]$/, "]")) as number[][];
    expect(matrix).toHaveLength(10);
    await open(page, cluster.origin);
    const outcome = await run(page, {
      wasm: "/fixtures/legacy/kmeans-rust.legacy.wasm",
      loader: "/fixtures/legacy/kmeans-rust.legacy.js",
      params: [matrix, 2],
    });
    expect(outcome).toMatchObject({ ok: true, shape: "legacy" });
    expect(outcome.body.data).toEqual([0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
  });
});

test("the adapter gets the runner's compiled module for its wasm instead of compiling the bytes again", async ({
  page,
  cluster,
}) => {
  await open(page, cluster.origin);
  // Compiling the same bytes twice gives two modules, unless both are the one the runner handed over.
  const adapter = `onmessage = async function (e) { var data_link = e.data.data_link;
    var a = await WebAssembly.compile(e.data.buffWasm), b = await WebAssembly.compile(e.data.buffWasm.slice());
    var other = await WebAssembly.compile(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
    var instance = await WebAssembly.instantiate(e.data.buffWasm, {});
    postMessage({ body: { data: [a === b, instance.module === a, other !== a] } }); };`;
  for (let task = 0; task < 2; task++) {
    const outcome = await run(page, { wasm: "/fixtures/wasm-bindgen/no-modules/wasm_flate_bg.wasm", loaderText: adapter });
    expect(outcome, `task ${task}`).toMatchObject({ ok: true, shape: "legacy", body: { data: [true, true, true] } });
  }
});
