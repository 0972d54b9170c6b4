/*
 * The bare page's Web Worker: runs an Emscripten build directly, the least a
 * page can do. Each bundle's wasm is compiled once (`load`) and each run gets
 * a fresh instance and MEMFS, as the library's runtime does, but nothing else:
 * no cluster, no sandbox frame, no Comlink, no base64, no gzip.
 *
 * Messages: { id, kind: "load", name, shape: "modularize" | "classic", loader: string, wasm: ArrayBuffer }
 *           { id, kind: "run", name, args, preload: {path: ArrayBuffer}, results: [path], dataPackage: ArrayBuffer | null,
 *             runs, warmup }
 * Replies:  { id, ok: true, value } | { id, ok: false, error }
 */
"use strict";

const bundles = new Map(); // name → { shape, module, loader: Function }

async function load({ name, shape, loader, wasm }) {
  const t0 = performance.now();
  const module = await WebAssembly.compile(wasm);
  // Parsed once, like the runtime's loader cache; called per run so each run gets a fresh runtime.
  const fn = shape === "modularize" ? new Function(`${loader}\nreturn Module;`) : new Function("Module", loader);
  bundles.set(name, { shape, module, fn });
  return { compileMs: performance.now() - t0 };
}

const dirname = (path) => path.slice(0, path.lastIndexOf("/")) || "/";

/** One run: fresh runtime from the compiled module; resolves with exit status, output and result files. */
function runOnce(bundle, { args, preload, results, dataPackage }) {
  return new Promise((resolve, reject) => {
    const stdout = [];
    const stderr = [];
    const modularize = bundle.shape === "modularize";
    let settled = false;
    const finish = (status) => {
      if (settled) return;
      settled = true;
      const files = {};
      try {
        for (const path of results) files[path] = config.FS.readFile(path);
      } catch (err) {
        return reject(new Error(`reading the result files: ${err}; stderr: ${stderr.join("\n")}`));
      }
      resolve({ status, stdout, stderr, files });
    };
    const config = {
      arguments: args,
      noInitialRun: modularize,
      print: (line) => stdout.push(line),
      printErr: (line) => stderr.push(line),
      preRun: [
        () => {
          for (const [path, bytes] of Object.entries(preload)) {
            config.FS.mkdirTree(dirname(path));
            config.FS.writeFile(path, new Uint8Array(bytes));
          }
          for (const path of results) config.FS.mkdirTree(dirname(path));
        },
      ],
      onRuntimeInitialized: () => {
        if (modularize) config.callMain(args);
      },
      locateFile: (path) => path,
      instantiateWasm: (imports, receive) => {
        WebAssembly.instantiate(bundle.module, imports).then((instance) => receive(instance, bundle.module), reject);
        return {};
      },
      getPreloadedPackage: () => {
        if (!dataPackage) throw new Error("no data package given");
        return dataPackage.slice(0);
      },
      // Emscripten 3.1.x reports every exit (main returning too) through quit.
      quit: (status, toThrow) => {
        if (toThrow && toThrow.name === "ExitStatus") finish(status);
        else reject(toThrow);
        throw toThrow;
      },
      onAbort: (what) => reject(new Error(`aborted: ${what}; stderr: ${stderr.join("\n")}`)),
    };
    try {
      if (modularize) Promise.resolve(bundle.fn()(config)).catch(reject);
      else bundle.fn(config);
    } catch (err) {
      if (!(err && err.name === "ExitStatus")) reject(err);
    }
  });
}

async function run({ name, args = [], preload = {}, results = [], dataPackage = null, runs = 1, warmup = 0 }) {
  const bundle = bundles.get(name);
  if (!bundle) throw new Error(`bundle ${name} was not loaded`);
  const ms = [];
  let last = null;
  for (let i = 0; i < warmup + runs; i++) {
    const t0 = performance.now();
    last = await runOnce(bundle, { args, preload, results, dataPackage });
    if (i >= warmup) ms.push(performance.now() - t0);
    if (last.status !== 0) throw new Error(`exit status ${last.status}; stderr: ${last.stderr.join("\n")}`);
  }
  const transfer = Object.values(last.files).map((bytes) => bytes.buffer);
  return { value: { ms, status: last.status, stdout: last.stdout, files: last.files }, transfer };
}

const handlers = { load: async (m) => ({ value: await load(m) }), run };

self.onmessage = async ({ data }) => {
  try {
    const { value, transfer = [] } = await handlers[data.kind](data);
    self.postMessage({ id: data.id, ok: true, value }, transfer);
  } catch (err) {
    self.postMessage({ id: data.id, ok: false, error: String((err && err.stack) || err) });
  }
};
