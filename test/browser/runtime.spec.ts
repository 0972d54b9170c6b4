/**
 * The Web Worker runtime (dist/browser/runtime.js) against the real fixtures: every loader shape,
 * files in and out, failures that leave the worker usable, the compiled-module cache, and the same
 * sandbox frame the pool uses: the page turns each spec into a cluster input and runs it through the
 * real prepareTask in a worker of the real sandbox frame (pages/runtime-harness.js).
 */
import { strToU8, zipSync } from "fflate";
import { test, expect } from "./support/cluster.js";
import { compiled, open, run, runTogether, type FixtureSpec } from "./support/runtime-harness.js";

const code = { unknownLoader: 1, badWasm: 2, badDataPackage: 3, algorithmFailed: 4, missingExport: 5 } as const;

const c = (variant: "classic" | "modularize", name: string): FixtureSpec => ({
  wasm: `/fixtures/c/build/${variant}/${name}.wasm`,
  loader: `/fixtures/c/build/${variant}/${name}.js`,
});
const legacy = (name: string): FixtureSpec => ({
  wasm: `/fixtures/legacy/${name}.legacy.wasm`,
  loader: `/fixtures/legacy/${name}.legacy.js`,
});
const noModules: FixtureSpec = {
  wasm: "/fixtures/wasm-bindgen/no-modules/wasm_flate_bg.wasm",
  loader: "/fixtures/wasm-bindgen/no-modules/wasm_flate.js",
};
const noModulesModern: FixtureSpec = {
  wasm: "/fixtures/wasm-bindgen/no-modules-modern/index_bg.wasm",
  loader: "/fixtures/wasm-bindgen/no-modules-modern/index.js",
};
const web: FixtureSpec = {
  wasm: "/fixtures/wasm-bindgen/web/sql_fmt_bg.wasm",
  loader: "/fixtures/wasm-bindgen/web/sql_fmt.js",
};

const kmeansTask = (base: FixtureSpec): FixtureSpec => ({
  ...base,
  arguments: "--k=2",
  preloadUrls: { "/input/matrix.txt": "/fixtures/c/data/matrix.txt" },
  resultFiles: ["/output/labels.json"],
});
const echoTask = (base: FixtureSpec): FixtureSpec => ({
  ...base,
  arguments: "--alpha --beta",
  params: [3, "plain", { k: [1, 2] }],
  preloadText: { "/input/in.txt": "copied through MEMFS\n" },
  resultFiles: ["/output/copy.txt", "/output/args.txt"],
});
const labels = "[0,0,0,0,0,1,1,1,1,1]";

test.describe("Emscripten", () => {
  for (const variant of ["classic", "modularize"] as const) {
    const shape = variant === "classic" ? "emscripten-classic" : "emscripten-modularize";

    test(`${variant}: arguments, params, preload and result files, stdout and stderr`, async ({ page, cluster }) => {
      await open(page, cluster.origin);
      const outcome = await run(page, echoTask(c(variant, "echo")));
      expect(outcome).toMatchObject({ ok: true, error: null, shape });
      expect(outcome.body.data).toBe(0);
      expect(outcome.stdout).toBe('--alpha\n--beta\n3\nplain\n{"k":[1,2]}\n');
      expect(outcome.stderr).toBe("echo: stderr line\n");
      expect(outcome.files).toEqual({
        "/output/copy.txt": "copied through MEMFS\n",
        "/output/args.txt": '--alpha --beta 3 plain {"k":[1,2]}\n',
      });
      expect(outcome.body.error).toBeUndefined();
    });

    test(`${variant}: k-means writes its labels`, async ({ page, cluster }) => {
      await open(page, cluster.origin);
      const outcome = await run(page, kmeansTask(c(variant, "kmeans")));
      expect(outcome).toMatchObject({ ok: true, shape });
      expect(outcome.files["/output/labels.json"]).toBe(labels);
      expect(outcome.stdout).toContain("k=2, 2 clusters");
    });

    test(`${variant}: the .data.zip data package is preloaded`, async ({ page, cluster }) => {
      await open(page, cluster.origin);
      const outcome = await run(page, {
        ...c(variant, "datapkg"),
        dataZip: `/fixtures/c/build/${variant}/datapkg.data.zip`,
        resultFiles: ["/output/greeting.txt"],
      });
      expect(outcome).toMatchObject({ ok: true, shape, stdout: "hello from the data package" + "\n" });
      expect(outcome.files["/output/greeting.txt"]).toBe("hello from the data package\n");
    });

    test(`${variant}: abort() fails the task and the worker runs the next one`, async ({ page, cluster }) => {
      await open(page, cluster.origin);
      const crash = await run(page, c(variant, "crash"));
      expect(crash).toMatchObject({ ok: false, errorCode: code.algorithmFailed, shape });
      expect(crash.error).toContain("aborted");
      expect(crash.body.error).toBe(crash.error);
      expect(crash.stdout).toBe("about to abort\n");
      expect(crash.stderr).toContain(crash.error);
      const next = await run(page, kmeansTask(c(variant, "kmeans")));
      expect(next.ok).toBe(true);
      expect(next.files["/output/labels.json"]).toBe(labels);
    });

    test(`${variant}: running out of memory fails the task and the worker runs the next one`, async ({ page, cluster }) => {
      await open(page, cluster.origin);
      const oom = await run(page, c(variant, "oom"));
      expect(oom).toMatchObject({ ok: false, errorCode: code.algorithmFailed });
      expect(oom.error).toMatch(/aborted: out of memory \(OOM\)/);
      expect(oom.stdout).toBe("allocating until out of memory\n");
      const next = await run(page, echoTask(c(variant, "echo")));
      expect(next).toMatchObject({ ok: true, shape });
      expect(next.files["/output/copy.txt"]).toBe("copied through MEMFS\n");
    });
  }

  test("arguments as a list keep their spaces", async ({ page, cluster }) => {
    await open(page, cluster.origin);
    const outcome = await run(page, {
      ...c("modularize", "echo"),
      arguments: ["--x=1", "two words"],
      resultFiles: ["/output/args.txt"],
    });
    expect(outcome.stdout).toBe("--x=1\ntwo words\n");
    expect(outcome.files["/output/args.txt"]).toBe("--x=1 two words\n");
  });

  test("a non-zero exit status is the result's data and a failure", async ({ page, cluster }) => {
    await open(page, cluster.origin);
    // kmeans without its input matrix exits(1) after saying why.
    const outcome = await run(page, { ...c("classic", "kmeans"), resultFiles: ["/output/labels.json"] });
    expect(outcome).toMatchObject({ ok: false, errorCode: code.algorithmFailed });
    expect(outcome.body.data).toBe(1);
    expect(outcome.error).toContain("exited with status 1");
    expect(outcome.stderr).toContain("kmeans: cannot open input: /input/matrix.txt");
    // The cause is said once; after a failure a missing result file is no news.
    expect(outcome.stderr).not.toContain("result file /output/labels.json is missing");
    expect(outcome.stderr!.match(/exited with status 1/g)).toHaveLength(1);
  });

  test("a result file the program never wrote is reported after a clean exit; its directory was made for it", async ({
    page,
    cluster,
  }) => {
    await open(page, cluster.origin);
    const outcome = await run(page, {
      ...c("classic", "echo"),
      arguments: ["x"],
      resultFiles: ["/output/args.txt", "/nested/dir/never.txt"],
    });
    expect(outcome).toMatchObject({ ok: true });
    expect(outcome.files["/output/args.txt"]).toBe("x\n");
    expect(outcome.stderr).toContain("result file /nested/dir/never.txt is missing: the program did not write it");
  });

  test("a preload file that cannot be written fails the task before main runs", async ({ page, cluster }) => {
    await open(page, cluster.origin);
    const outcome = await run(page, { ...c("classic", "echo"), preloadText: { "/input": "a file", "/input/in.txt": "x" } });
    expect(outcome).toMatchObject({ ok: false, errorCode: code.algorithmFailed, stdout: null });
    expect(outcome.error).toMatch(/^cannot write preload file \/input\/in.txt: .*FS error \(errno \d+\)$/);
  });

  test("tasks sent together run one at a time", async ({ page, cluster }) => {
    await open(page, cluster.origin);
    const [first, second] = await runTogether(page, [
      { ...c("classic", "echo"), arguments: "one" },
      { ...c("modularize", "echo"), arguments: "two" },
    ]);
    expect([first!.stdout, second!.stdout]).toEqual(["one\n", "two\n"]);
  });

  test("two consecutive tasks do not see each other's files", async ({ page, cluster }) => {
    await open(page, cluster.origin);
    const first = await run(page, echoTask(c("classic", "echo")));
    expect(first.files["/output/copy.txt"]).toBe("copied through MEMFS\n");
    const second = await run(page, { ...c("classic", "echo"), resultFiles: ["/output/copy.txt", "/input/in.txt"] });
    expect(second.ok).toBe(true);
    expect(second.files).toEqual({});
    expect(second.stderr).toContain("result file /output/copy.txt is missing");
    expect(second.stderr).toContain("result file /input/in.txt is missing");
  });

  test("the compiled module is reused across tasks", async ({ page, cluster }) => {
    await open(page, cluster.origin);
    for (let i = 0; i < 3; i++) expect((await run(page, echoTask(c("classic", "echo")))).ok).toBe(true);
    expect(await compiled(page)).toBe(1);
    await run(page, kmeansTask(c("classic", "kmeans")));
    expect(await compiled(page)).toBe(2);
  });

  test("a corrupt wasm is a clear error and the worker goes on", async ({ page, cluster }) => {
    await open(page, cluster.origin);
    const bad = await run(page, {
      loader: "/fixtures/c/build/classic/echo.js",
      wasmBytes: [0, 97, 115, 109, 1, 0, 0, 0, 9, 9, 9],
    });
    expect(bad).toMatchObject({ ok: false, errorCode: code.badWasm });
    expect(bad.error).toContain("is not valid WebAssembly");
    expect(bad.body.error).toBe(bad.error);
    expect(await compiled(page)).toBe(0);
    expect((await run(page, echoTask(c("classic", "echo")))).ok).toBe(true);
  });

  test("a corrupt or wrong data package is a clear error", async ({ page, cluster }) => {
    await open(page, cluster.origin);
    const garbage = await run(page, { ...c("classic", "datapkg"), dataZipBytes: [1, 2, 3, 4, 5, 6, 7, 8] });
    expect(garbage).toMatchObject({ ok: false, errorCode: code.badDataPackage });
    expect(garbage.error).toContain("not a readable zip");

    const twoFiles = zipSync({ "datapkg.data": strToU8("x"), "notes.txt": strToU8("y") });
    const extra = await run(page, { ...c("modularize", "datapkg"), dataZipBytes: Array.from(twoFiles) });
    expect(extra).toMatchObject({ ok: false, errorCode: code.badDataPackage });
    expect(extra.error).toContain("exactly one .data file, but it holds datapkg.data, notes.txt");

    const missing = await run(page, { ...c("classic", "datapkg"), resultFiles: ["/output/greeting.txt"] });
    expect(missing).toMatchObject({ ok: false, errorCode: code.badDataPackage });
    expect(missing.error).toContain("needs its data package");
    // The cause, once, and not a line per result file before it.
    expect(missing.stderr).not.toContain("no filesystem");
    expect(missing.stderr!.match(/needs its data package/g)).toHaveLength(1);

    expect((await run(page, { ...c("classic", "datapkg"), dataZip: "/fixtures/c/build/classic/datapkg.data.zip" })).ok).toBe(
      true,
    );
  });
});

test.describe("wasm-bindgen", () => {
  test("no-modules, old glue: positional init, string exports, a panic is an error", async ({ page, cluster }) => {
    await open(page, cluster.origin);
    const encoded = await run(page, { ...noModules, entry: "zlib_encode", params: ["Hello World"] });
    expect(encoded).toMatchObject({ ok: true, shape: "wasm-bindgen-no-modules", stderr: null });
    expect(encoded.body.data).toBe("eAHzSM3JyVcIzy/KSQEAGAsEHQ==");

    const panic = await run(page, { ...noModules, entry: "zlib_decode", params: ["not base64!!"] });
    expect(panic).toMatchObject({ ok: false, errorCode: code.algorithmFailed });
    expect(panic.error).toBe("zlib_decode() threw: RuntimeError: unreachable");

    const missing = await run(page, noModules);
    expect(missing).toMatchObject({ ok: false, errorCode: code.missingExport });
    expect(missing.error).toContain("has no export main()");
    expect(missing.error).toContain("gzip_encode");

    const decoded = await run(page, {
      ...noModules,
      entry: "gzip_decode",
      params: ["H4sIAAAAAAAA//NIzcnJVwjPL8pJAQBWsRdKCwAAAA=="],
    });
    expect(decoded.body.data).toBe("Hello World");
    expect(await compiled(page)).toBe(1);
    expect(await page.evaluate(() => "wasm_bindgen" in self)).toBe(false);
  });

  test("no-modules, current glue: object init without warnings, async static method", async ({ page, cluster }) => {
    await open(page, cluster.origin);
    const kdf = await run(page, {
      ...noModulesModern,
      entry: "CryptoUtils.otpKdf",
      params: [{ $bytes: new Array(32).fill(0) }, { $utf8: "key" }, { $utf8: "saltsaltsalt" }, 1],
    });
    expect(kdf).toMatchObject({ ok: true, shape: "wasm-bindgen-no-modules", stderr: null });
    const hex = (kdf.body.data as number[]).map((b) => b.toString(16).padStart(2, "0")).join("");
    expect(hex).toBe("4da7dd68aa6b524f2ad3c2aef7d96416d88c5b0f4460779cef28cfb8b777b405");

    const short = await run(page, {
      ...noModulesModern,
      entry: "CryptoUtils.otpKdf",
      params: [{ $bytes: [0, 0, 0, 0] }, { $utf8: "key" }, { $utf8: "s" }, 1],
    });
    expect(short).toMatchObject({ ok: false, error: "CryptoUtils.otpKdf() threw: Error: SaltTooShort" });

    const missing = await run(page, noModulesModern);
    expect(missing).toMatchObject({ ok: false, errorCode: code.missingExport });
    expect(missing.error).toContain("it exports CryptoUtils");
  });

  test("web target: ES module glue, params as arguments, a thrown string is an error", async ({ page, cluster }) => {
    await open(page, cluster.origin);
    const formatted = await run(page, { ...web, entry: "format", params: ["SELECT count(*),Column1 FROM Table1;", "query.sql"] });
    expect(formatted).toMatchObject({ ok: true, shape: "wasm-bindgen-web", stderr: null });
    expect(formatted.body.data).toBe("SELECT\n  count(*),\n  Column1\nFROM\n  Table1;");

    const thrown = await run(page, { ...web, entry: "format", params: ["select 1", "q.sql", { indent_style: "bogus" }] });
    expect(thrown).toMatchObject({ ok: false, errorCode: code.algorithmFailed });
    expect(thrown.error).toBe("format() threw: Error: unknown variant `bogus`, expected `tab` or `space`");
    expect(thrown.stderr).toContain(thrown.error);

    const upper = await run(page, {
      ...web,
      entry: "format",
      params: ["select a, b from t where x = 1 and y = 'z'", "q.sql", { uppercase: true }],
    });
    expect(upper.body.data).toBe("SELECT\n  a,\n  b\nFROM\n  t\nWHERE\n  x = 1\n  AND y = 'z'");
  });

  test("an error thrown later, outside any call, fails the current task", async ({ page, cluster }) => {
    await open(page, cluster.origin);
    // Glue-shaped loaders whose main never settles: only the worker's global handlers can end them.
    const glue = (main: string) =>
      `let wasm_bindgen = Object.assign(async function __wbg_init() {}, { main() { ${main}; return new Promise(() => {}); } });`;
    const thrown = await run(page, {
      ...noModules,
      loaderText: glue(`setTimeout(() => { throw new Error("late failure"); }, 0)`),
    });
    expect(thrown).toMatchObject({ ok: false, errorCode: code.algorithmFailed });
    expect(thrown.error).toContain("late failure");
    const rejected = await run(page, { ...noModules, loaderText: glue(`Promise.reject(new Error("nobody listened"))`) });
    expect(rejected).toMatchObject({ ok: false, error: "uncaught error in the algorithm: Error: nobody listened" });
    expect((await run(page, { ...noModules, entry: "zlib_encode", params: ["Hello World"] })).ok).toBe(true);
  });
});

test.describe("legacy Motivus adapter", () => {
  test("k-means: arguments, preload files and result files", async ({ page, cluster }) => {
    await open(page, cluster.origin);
    const outcome = await run(page, kmeansTask(legacy("kmeans")));
    expect(outcome).toMatchObject({ ok: true, shape: "legacy" });
    expect(outcome.body.data).toBe(0);
    expect(outcome.files["/output/labels.json"]).toBe(labels);
    expect(outcome.stdout).toContain("k=2, 2 clusters");
  });

  test("the data package is served from the task's bytes, other URLs are refused", async ({ page, cluster }) => {
    await open(page, cluster.origin);
    const outcome = await run(page, {
      ...legacy("datapkg"),
      dataZip: "/fixtures/legacy/datapkg.legacy.data.zip",
      resultFiles: ["/output/greeting.txt"],
    });
    expect(outcome).toMatchObject({ ok: true, stdout: "hello from the data package\n" });
    expect(outcome.files["/output/greeting.txt"]).toBe("hello from the data package\n");

    const elsewhere = await run(page, {
      ...legacy("datapkg"),
      dataZip: "/fixtures/legacy/datapkg.legacy.data.zip",
      legacyDataLink: `${cluster.origin}/fixtures/legacy/datapkg.legacy.data.zip?other`,
    });
    expect(elsewhere).toMatchObject({ ok: false, errorCode: code.algorithmFailed });
    expect(elsewhere.error).toContain("the sandbox has no network");
  });
});

test("an unknown loader is a clear error", async ({ page, cluster }) => {
  await open(page, cluster.origin);
  const outcome = await run(page, { ...noModules, loaderText: "console.log('not a loader')" });
  // Tried as Emscripten (the kind not told by its text), it neither left a factory nor started a program.
  expect(outcome).toMatchObject({ ok: false, errorCode: code.unknownLoader });
  expect(outcome.error).toContain("the loader is not one this worker runs");
  expect(outcome.error).toContain("neither left a factory");
});

test("every shape runs one after another in one worker of the sandbox frame", async ({ page, cluster }) => {
  await open(page, cluster.origin);

  const classic = await run(page, echoTask(c("classic", "echo")));
  expect(classic).toMatchObject({ ok: true, shape: "emscripten-classic" });
  expect(classic.files["/output/copy.txt"]).toBe("copied through MEMFS\n");
  const modularize = await run(page, {
    ...c("modularize", "datapkg"),
    dataZip: "/fixtures/c/build/modularize/datapkg.data.zip",
    resultFiles: ["/output/greeting.txt"],
  });
  expect(modularize.files["/output/greeting.txt"]).toBe("hello from the data package\n");
  const bindgen = await run(page, { ...noModules, entry: "zlib_encode", params: ["Hello World"] });
  expect(bindgen.body.data).toBe("eAHzSM3JyVcIzy/KSQEAGAsEHQ==");
  const module = await run(page, { ...web, entry: "format", params: ["select 1", "q.sql"] });
  expect(module).toMatchObject({ ok: true, shape: "wasm-bindgen-web" });
  expect(module.body.data).toBe("select\n  1");
  const adapter = await run(page, kmeansTask(legacy("kmeans")));
  expect(adapter).toMatchObject({ ok: true, shape: "legacy" });
  expect(adapter.files["/output/labels.json"]).toBe(labels);
  const crash = await run(page, c("classic", "crash"));
  expect(crash.ok).toBe(false);
  expect((await run(page, kmeansTask(c("modularize", "kmeans")))).files["/output/labels.json"]).toBe(labels);
});

test("nested workers and timers an algorithm leaves behind end with its task", async ({ page, cluster }) => {
  await open(page, cluster.origin);
  // A hostile algorithm: a nested worker that spins and reports every 10 ms, and an interval of its own,
  // both still running when main() has answered. The counters live in the worker's globals, which the
  // same algorithm's next task (warm, same worker) can read.
  const loaderText = `let wasm_bindgen = Object.assign(async function __wbg_init() {}, {
    main() {
      self.beats = 0; self.ticks = 0;
      const spin = "let t = Date.now(); for (;;) if (Date.now() - t > 10) { postMessage(1); t = Date.now(); }";
      const spinner = new Worker(URL.createObjectURL(new Blob([spin])));
      spinner.onmessage = () => self.beats++;
      setInterval(() => self.ticks++, 10);
      // Answer once both are seen running (a nested worker can take a while to start on a busy machine).
      return new Promise((done) => {
        const seen = () => (self.beats > 0 && self.ticks > 0 ? done([true, true]) : setTimeout(seen, 10));
        seen();
      });
    },
    async count() {
      const before = [self.beats, self.ticks];
      await new Promise((wait) => setTimeout(wait, 300));
      return [self.beats - before[0], self.ticks - before[1]];
    },
  });`;
  const left = await run(page, { ...noModules, loaderText });
  expect(left).toMatchObject({ ok: true, body: { data: [true, true] } }); // both were running
  expect(left.stderr).toContain("the algorithm left 1 nested worker(s) running after its task; they were stopped");
  const counted = await run(page, { ...noModules, loaderText, entry: "count" });
  expect(counted.body.data).toEqual([0, 0]);
});
