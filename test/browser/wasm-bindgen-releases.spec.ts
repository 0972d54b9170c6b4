/**
 * Real wasm-bindgen output from nine releases (0.2.51 to 0.2.118, both `--target web` and
 * `--target no-modules`, test/fixtures/wasm-bindgen/README.md) run through the worker runtime
 * (dist/browser/runtime.js) with the runtime.spec.ts harness. The worker must initialise every
 * generation of glue from the compiled module (object form for current glue, the module itself for
 * older glue) without a warning on stderr, and convert what JSON cannot carry.
 */
import { test, expect } from "./support/cluster.js";
import { open, run, type FixtureSpec } from "./support/runtime-harness.js";

const dir = "/fixtures/wasm-bindgen";
const hex = (bytes: number[]): string => bytes.map((b) => b.toString(16).padStart(2, "0")).join("");
const bytesOf = (text: string): number[] => Array.from(text.match(/../g) ?? [], (pair) => parseInt(pair, 16));

// otpKdf(32 zero bytes, "key", "saltsaltsalt", 1): Argon2d, the same in every Nimiq release.
const otpKdf = {
  entry: "CryptoUtils.otpKdf",
  params: [{ $bytes: new Array(32).fill(0) }, { $utf8: "key" }, { $utf8: "saltsaltsalt" }, 1],
};
const otpKdfHex = "4da7dd68aa6b524f2ad3c2aef7d96416d88c5b0f4460779cef28cfb8b777b405";
// A wasm module importing env.f: (i32) -> (), with nothing to lower: wasm-transformer returns it unchanged.
const tinyModule = [0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 1, 127, 0, 2, 9, 1, 3, 101, 110, 118, 1, 102, 0, 0];
// 2x2 RGBA: red, green / blue, white.
const rgba2x2 = [255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 255, 255, 255, 255];
// The same 2x2 image as an unoptimised PNG (colour type 6, stored deflate), and what oxipng level 2 makes of it.
const png = bytesOf(
  "89504e470d0a1a0a0000000d4948445200000002000000020806000000" +
    "72b60d240000001d4944415478010112" +
    "00edff00ff0000ff00ff00ff000000ffffffffffff49c809f7adab561b0000000049454e44ae426082",
);
const optimisedPng =
  "89504e470d0a1a0a0000000d494844520000000200000002080200000" +
  "0fdd49a73000000164944415478da63fccfc0c0f89f8191" +
  "81e1ffffff0c001f0e04ffc0b5994d0000000049454e44ae426082";

interface Release {
  glue: string;
  target: "web" | "no-modules";
  spec: FixtureSpec;
  expected: (data: unknown) => void;
}

const releases: Release[] = [
  {
    glue: "0.2.51",
    target: "web",
    spec: {
      wasm: `${dir}/web-0.2.51/wasm_transformer_bg.wasm`,
      loader: `${dir}/web-0.2.51/wasm_transformer.js`,
      entry: "version",
    },
    expected: (data) => expect(data).toBe("0.0.1"),
  },
  {
    glue: "0.2.58",
    target: "no-modules",
    spec: {
      wasm: `${dir}/no-modules/wasm_flate_bg.wasm`,
      loader: `${dir}/no-modules/wasm_flate.js`,
      entry: "zlib_encode",
      params: ["Hello World"],
    },
    expected: (data) => expect(data).toBe("eAHzSM3JyVcIzy/KSQEAGAsEHQ=="),
  },
  {
    glue: "0.2.74",
    target: "web",
    spec: {
      wasm: `${dir}/web-0.2.74/squoosh_resize_bg.wasm`,
      loader: `${dir}/web-0.2.74/squoosh_resize.js`,
      entry: "resize",
      params: [{ $bytes: rgba2x2 }, 2, 2, 3, 1, 3, false, false],
    },
    // A Uint8ClampedArray in the worker, a plain list in the result.
    expected: (data) => expect(data).toEqual([128, 0, 128, 255, 128, 128, 128, 255, 128, 255, 128, 255]),
  },
  {
    glue: "0.2.87",
    target: "web",
    spec: {
      wasm: `${dir}/web-0.2.87/squoosh_oxipng_bg.wasm`,
      loader: `${dir}/web-0.2.87/squoosh_oxipng.js`,
      entry: "optimise",
      params: [{ $bytes: png }, 2, false, false],
    },
    expected: (data) => expect(hex(data as number[])).toBe(optimisedPng),
  },
  {
    glue: "0.2.92",
    target: "web",
    spec: {
      wasm: `${dir}/web-0.2.92/sql_fmt_bg.wasm`,
      loader: `${dir}/web-0.2.92/sql_fmt.js`,
      entry: "format",
      params: ["SELECT count(*),Column1 FROM Table1;", "query.sql"],
    },
    expected: (data) => expect(data).toBe("SELECT\n  count(*),\n  Column1\nFROM\n  Table1;"),
  },
  {
    glue: "0.2.95",
    target: "no-modules",
    spec: { wasm: `${dir}/no-modules-0.2.95/index_bg.wasm`, loader: `${dir}/no-modules-0.2.95/index.js`, ...otpKdf },
    expected: (data) => expect(hex(data as number[])).toBe(otpKdfHex),
  },
  {
    glue: "0.2.99",
    target: "web",
    spec: { wasm: `${dir}/web/sql_fmt_bg.wasm`, loader: `${dir}/web/sql_fmt.js`, entry: "format", params: ["select 1", "q.sql"] },
    expected: (data) => expect(data).toBe("select\n  1"),
  },
  {
    glue: "0.2.105",
    target: "no-modules",
    spec: { wasm: `${dir}/no-modules-0.2.105/index_bg.wasm`, loader: `${dir}/no-modules-0.2.105/index.js`, ...otpKdf },
    expected: (data) => expect(hex(data as number[])).toBe(otpKdfHex),
  },
  {
    glue: "0.2.118",
    target: "no-modules",
    spec: { wasm: `${dir}/no-modules-modern/index_bg.wasm`, loader: `${dir}/no-modules-modern/index.js`, ...otpKdf },
    expected: (data) => expect(hex(data as number[])).toBe(otpKdfHex),
  },
];

test.describe("every wasm-bindgen release runs in the worker", () => {
  for (const release of releases) {
    test(`${release.target} glue from wasm-bindgen ${release.glue}: ${release.spec.entry}()`, async ({ page, cluster }) => {
      await open(page, cluster.origin);
      const outcome = await run(page, release.spec);
      // stderr null: no "using deprecated parameters" warning, whichever form the glue took.
      expect(outcome).toMatchObject({ ok: true, error: null, shape: `wasm-bindgen-${release.target}`, stderr: null });
      release.expected(outcome.body.data);
      // A second task gets fresh glue and the cached module, and the same answer.
      const again = await run(page, release.spec);
      expect(again).toMatchObject({ ok: true, stderr: null });
      release.expected(again.body.data);
    });
  }

  test("all nine generations, one after another, in one worker", async ({ page, cluster }) => {
    await open(page, cluster.origin);
    for (const release of releases) {
      const outcome = await run(page, release.spec);
      expect(outcome, `wasm-bindgen ${release.glue}`).toMatchObject({ ok: true, stderr: null });
      release.expected(outcome.body.data);
    }
  });

  test("all nine generations inside the CSP sandbox (blob: worker, opaque origin, no network)", async ({ page, cluster }) => {
    await open(page, cluster.origin);
    for (const release of releases) {
      const outcome = await run(page, release.spec);
      expect(outcome, `wasm-bindgen ${release.glue}`).toMatchObject({ ok: true, stderr: null });
      release.expected(outcome.body.data);
    }
  });
});

// The Rust k-means fixture (test/fixtures/rust/README.md): rustc 1.63 + wasm-bindgen 0.2.83, built from source.
// Besides main() it exports results JSON cannot carry: u64 (a BigInt in 0.2.83 glue), Vec<u32> (a Uint32Array)
// and Vec<i64> (a BigInt64Array). The values are those test/fixtures/rust/verify.mjs pins for the docs' data.
const kmeansData = [
  [-2.7825343, -1.7604825, -5.5550113, -2.9752946, -2.7874138],
  [-2.9847919, -3.8209332, -2.1531757, -2.2710119, -2.3582877],
  [-3.010932, -2.2366132, -2.8048492, -1.2632331, -4.5755581],
  [-2.8432186, -1.0383805, -2.2022826, -2.7435962, -2.0013399],
  [-2.6638082, -3.5520086, -1.3684702, -2.1562444, -1.3186447],
  [1.7409171, 1.9687576, 4.7162628, 4.5743537, 3.7905611],
  [3.2932369, 2.85087, 2.5580937, 2.0437325, 4.2192562],
  [2.5843321, 2.8329818, 2.1329531, 3.2562319, 2.4878733],
  [2.1859638, 3.2880048, 3.7018615, 2.3641232, 1.6281994],
  [2.6201773, 0.9006588, 2.6774097, 1.818862, 1.6076493],
];
const kmeansBuilds = [
  { target: "no-modules", dir: "/fixtures/registry/kmeans/0.0.1" },
  { target: "web", dir: "/fixtures/rust/build/web" },
] as const;
const kmeansResults: { entry: string; params: unknown[]; data: unknown }[] = [
  // inertia x 10^6 as a u64: BigInt 44095266n, below 2^53, so a number
  { entry: "inertia_micros", params: [kmeansData, 2], data: 44095266 },
  // 64-bit FNV-1a of the values' bits: BigInt above 2^53, so its decimal string
  { entry: "checksum", params: [kmeansData], data: "15867453614619518440" },
  // Uint32Array of points per cluster
  { entry: "label_counts", params: [kmeansData, 2], data: [5, 5] },
  // BigInt64Array of round(row sum x 1000), every entry exact as a number
  {
    entry: "signed_offsets",
    params: [kmeansData],
    data: [-15861, -13588, -13891, -10829, -11059, 16791, 14965, 13294, 13168, 9625],
  },
];

test.describe("return values JSON cannot carry", () => {
  test("typed arrays from real exports become lists", async ({ page, cluster }) => {
    await open(page, cluster.origin);
    // Uint8Array (wasm-transformer, 0.2.51): the module comes back unchanged, byte for byte.
    const lowered = await run(page, {
      wasm: `${dir}/web-0.2.51/wasm_transformer_bg.wasm`,
      loader: `${dir}/web-0.2.51/wasm_transformer.js`,
      entry: "lowerI64Imports",
      params: [{ $bytes: tinyModule }],
    });
    expect(lowered).toMatchObject({ ok: true, stderr: null });
    expect(lowered.body.data).toEqual(tinyModule);
    // Uint8ClampedArray (squoosh resize, 0.2.74), upscaled 2x2 -> 4x4 is 64 numbers.
    const resized = await run(page, {
      wasm: `${dir}/web-0.2.74/squoosh_resize_bg.wasm`,
      loader: `${dir}/web-0.2.74/squoosh_resize.js`,
      entry: "resize",
      params: [{ $bytes: rgba2x2 }, 2, 2, 4, 4, 0, false, false],
    });
    expect(resized.ok).toBe(true);
    expect(Array.isArray(resized.body.data)).toBe(true);
    expect((resized.body.data as number[]).length).toBe(64);
  });

  test("BigInt, BigInt64Array, Map and Set, nested (glue-shaped loader: Map, Set, Date, nesting and limits beyond the Rust bundle)", async ({
    page,
    cluster,
  }) => {
    await open(page, cluster.origin);
    // None of the npm fixtures exports a u64/i64 result, so this loader stands in for one. Its initialiser
    // accepts only `{ module_or_path }`, like current glue.
    const main = `
      return {
        small: 42n,
        negative: -7n,
        huge: 18446744073709551615n,
        limit: 9007199254740992n,
        signed: new BigInt64Array([1n, -9223372036854775808n]),
        unsigned: new BigUint64Array([2n ** 64n - 1n]),
        floats: new Float32Array([0.5, -1]),
        nested: [new Uint16Array([1, 2]), { deeper: new Map([["k", 3n], [4, new Set([5n, "six"])]]) }],
        absent: undefined,
        when: new Date(0),
      };`;
    const outcome = await run(page, {
      wasm: `${dir}/no-modules/wasm_flate_bg.wasm`,
      loaderText: `let wasm_bindgen = Object.assign(async function __wbg_init(options) {
          if (Object.getPrototypeOf(options) !== Object.prototype) throw new TypeError("object form only");
          await WebAssembly.instantiate(options.module_or_path, {});
        }, { main() { ${main} } });`,
    });
    expect(outcome).toMatchObject({ ok: true, stderr: null });
    expect(outcome.body.data).toEqual({
      small: 42,
      negative: -7,
      huge: "18446744073709551615",
      limit: "9007199254740992",
      signed: [1, "-9223372036854775808"],
      unsigned: ["18446744073709551615"],
      floats: [0.5, -1],
      nested: [[1, 2], { deeper: { k: 3, 4: [5, "six"] } }],
      absent: null,
      when: "1970-01-01T00:00:00.000Z",
    });

    const bare: FixtureSpec = {
      wasm: `${dir}/no-modules/wasm_flate_bg.wasm`,
      loaderText: `let wasm_bindgen = Object.assign(async function __wbg_init() {}, {
          main: () => 2n ** 60n,
          cyclic() { const list = [1n]; list.push(list); return list; },
        });`,
    };
    expect((await run(page, bare)).body.data).toBe("1152921504606846976");
    const cyclic = await run(page, { ...bare, entry: "cyclic" });
    expect(cyclic).toMatchObject({ ok: false, errorCode: 6, error: "cyclic() returned a value that refers to itself" });
  });

  test("BigInt and typed arrays from a real Rust bundle (kmeans 0.0.1 built from source)", async ({ page, cluster }) => {
    await open(page, cluster.origin);
    for (const build of kmeansBuilds) {
      const files = { wasm: `${build.dir}/kmeans_bg.wasm`, loader: `${build.dir}/kmeans.js` };
      for (const { entry, params, data } of kmeansResults) {
        const outcome = await run(page, { ...files, entry, params });
        expect(outcome, `${build.target} ${entry}()`).toMatchObject({
          ok: true,
          error: null,
          shape: `wasm-bindgen-${build.target}`,
          stderr: null,
        });
        expect(outcome.body.data, `${build.target} ${entry}()`).toStrictEqual(data);
      }
      // main() in the same worker still gives the docs' labels
      const labels = await run(page, { ...files, entry: "main", params: [kmeansData, 2] });
      expect(labels).toMatchObject({ ok: true, body: { data: [0, 0, 0, 0, 0, 1, 1, 1, 1, 1] } });
    }
  });
});

test.describe("how the glue is initialised", () => {
  // wasm_flate_bg.wasm has no imports, so these loaders can instantiate it with {}.
  const flate = `${dir}/no-modules/wasm_flate_bg.wasm`;

  test("glue that fetches whatever is not a Module (0.2.2x, early 0.2.3x) gets the module, and fetches nothing", async ({
    page,
    cluster,
  }) => {
    await open(page, cluster.origin);
    const outcome = await run(page, {
      wasm: flate,
      // The init function follows the real 0.2.2x no-modules glue (0.2.3x until March 2019 names the parameter
      // `module_or_path` and takes a second, `maybe_memory`); __exports holds what the wasm imports.
      loaderText: `(function() {
        const calls = [];
        const __exports = {};
        __exports.__wbindgen_throw = function(ptr, len) { throw new Error("not called"); };
        function init(path_or_module) {
          calls.push(path_or_module instanceof WebAssembly.Module ? "module" : typeof path_or_module);
          let instantiation;
          const imports = { './wasm_flate': __exports };
          if (path_or_module instanceof WebAssembly.Module) {
            instantiation = WebAssembly.instantiate(path_or_module, imports)
              .then(instance => ({ instance, module: path_or_module }));
          } else {
            const data = fetch(path_or_module);
            instantiation = WebAssembly.instantiateStreaming(data, imports);
          }
          return instantiation.then(({ instance }) => { init.wasm = instance.exports; });
        }
        self.wasm_bindgen = Object.assign(init, {
          main: () => ({ calls, native: [WebAssembly.instantiate, fetch].map((f) => /\\[native code\\]/.test(String(f))) }),
        });
      })();`,
    });
    expect(outcome).toMatchObject({ ok: true, stderr: null });
    // Tried with the object (refused at fetch, nothing requested), then given the module; fetch and
    // WebAssembly.instantiate are the browser's own again afterwards.
    expect(outcome.body.data).toEqual({ calls: ["object", "module"], native: [true, true] });
  });

  test("glue that names its positional parameter module_or_path (0.2.40) gets the module", async ({ page, cluster }) => {
    await open(page, cluster.origin);
    // The init function follows the no-modules glue of March 2019 (wasm-bindgen commit 3e814a6): the text
    // says `module_or_path`, yet anything but a URL, string or Request goes to WebAssembly.instantiate as
    // the module itself, and only a Module comes back as { instance, module } the way it expects.
    const outcome = await run(page, {
      wasm: flate,
      loaderText: `(function() {
        const seen = [];
        const __exports = {};
        __exports.__wbindgen_throw = function(ptr, len) { throw new Error("not called"); };
        function init(module_or_path, maybe_memory) {
          seen.push(module_or_path instanceof WebAssembly.Module ? "module" : typeof module_or_path);
          let result;
          const imports = { './wasm_flate': __exports };
          if (module_or_path instanceof URL || typeof module_or_path === 'string' || module_or_path instanceof Request) {
            const response = fetch(module_or_path);
            result = WebAssembly.instantiateStreaming(response, imports);
          } else {
            result = WebAssembly.instantiate(module_or_path, imports)
              .then(instance => { return { instance, module: module_or_path }; });
          }
          return result.then(({ instance, module }) => {
            init.wasm = instance.exports;
            init.__wbindgen_wasm_module = module;
          });
        }
        self.wasm_bindgen = Object.assign(init, {
          main: () => ({ seen, memory: init.wasm.memory instanceof WebAssembly.Memory }),
        });
      })();`,
    });
    expect(outcome).toMatchObject({ ok: true, stderr: null });
    expect(outcome.body.data).toEqual({ seen: ["object", "module"], memory: true });
  });

  test("only the exact deprecation warning is kept out of stderr", async ({ page, cluster }) => {
    await open(page, cluster.origin);
    // Glue that, like 0.2.9x web glue before the object form, hands anything to WebAssembly.instantiate,
    // and warns twice on the positional path: once with wasm-bindgen's text, once with its own.
    const outcome = await run(page, {
      wasm: flate,
      loaderText: `let wasm_bindgen = Object.assign(async function __wbg_init(input) {
          const instance = await WebAssembly.instantiate(input, {});
          console.warn("using deprecated parameters for the initialization function; pass a single object instead");
          console.warn("something else the glue says");
          return instance;
        }, { main: () => "initialised" });`,
    });
    expect(outcome).toMatchObject({ ok: true, stderr: "something else the glue says\n" });
    expect(outcome.body.data).toBe("initialised");
  });

  test("an initialiser that fails for another reason fails the task", async ({ page, cluster }) => {
    await open(page, cluster.origin);
    const outcome = await run(page, {
      wasm: flate,
      loaderText: `let wasm_bindgen = Object.assign(async function __wbg_init() { throw new TypeError("broken glue"); }, { main: () => 1 });`,
    });
    expect(outcome).toMatchObject({ ok: false });
    expect(outcome.error).toContain("broken glue");
  });
});
