// Regenerates cases.json (expected outputs, sha256s, wasm-bindgen versions) by running
// each package's OWN wasm-bindgen glue in Node, outside the worker.
//
//   cd test/corpus/wasm-bindgen && npm install --ignore-scripts && node reference.mjs
//
// (the script re-runs itself with --experimental-vm-modules, which it needs to evaluate
// ES-module glue under our control: bundler `_bg.js` and deno glue.)
//
// How each target is loaded here:
//   bundler: `x_bg.js` is evaluated as an ES module (vm.SourceTextModule); the wasm is
//            instantiated with imports { "./x_bg.js": <that module's namespace> }, then
//            `__wbg_set_wasm(instance.exports)` and `__wbindgen_start()` if exported.
//            Legacy bundler glue (lz4-wasm, wasm-bindgen 0.2.80) has no __wbg_set_wasm: its
//            `_bg.js` itself does `import * as wasm from './x_bg.wasm'`; that import is
//            linked to a synthetic module holding the instance's exports.
//   nodejs:  plain `require()` of the glue (it reads the wasm with fs.readFileSync).
//   deno:    evaluated as an ES module with import.meta.url set to an https: URL and a
//            `fetch` stand-in that serves the wasm bytes (the glue's non-file: branch,
//            the one a browser worker would use); `Deno` is NOT defined.
// Results are converted the way the worker does: typed arrays -> number lists,
// BigInt -> Number, Map -> object, undefined -> null.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

if (!vm.SourceTextModule) {
  const r = spawnSync(process.execPath, ['--experimental-vm-modules', '--no-warnings', ...process.argv.slice(1)], {
    stdio: 'inherit',
  });
  process.exit(r.status ?? 1);
}

const HERE = path.dirname(fileURLToPath(import.meta.url));
const NM = path.join(HERE, 'node_modules');
const require = createRequire(import.meta.url);
const bytes = (s) => Array.from(Buffer.from(s, 'utf8'));

// --- the cases --------------------------------------------------------------------
const LZ4_INPUT = bytes('motivus motivus motivus motivus motivus motivus!');
const CHANGE = {
  actor: '0123456789abcdef0123456789abcdef',
  seq: 1,
  startOp: 1,
  time: 0,
  message: 'motivus corpus',
  deps: [],
  ops: [
    { action: 'set', obj: '_root', key: 'hello', value: 'world', pred: [] },
    { action: 'set', obj: '_root', key: 'n', value: 42, datatype: 'uint', pred: [] },
  ],
};

const CASES = [
  { name: 'lz4-wasm-bundler-legacy-compress', package: 'lz4-wasm', target: 'bundler',
    loader: 'lz4_wasm_bg.js', wasm: 'lz4_wasm_bg.wasm', entry: 'compress', params: [LZ4_INPUT] },
  { name: 'farmhash-modern-bundler-fingerprint32', package: 'farmhash-modern', target: 'bundler',
    loader: 'bin/bundler/farmhash_modern_bg.js', wasm: 'bin/bundler/farmhash_modern_bg.wasm',
    entry: 'fingerprint32', params: [bytes('hello world')] },
  { name: 'webbuf-blake3-bundler-blake3_hash', package: '@webbuf/blake3', target: 'bundler',
    loader: 'src/rs-webbuf_blake3-bundler/webbuf_blake3_bg.js',
    wasm: 'src/rs-webbuf_blake3-bundler/webbuf_blake3_bg.wasm', entry: 'blake3_hash', params: [bytes('abc')] },
  { name: 'webbuf-bundler-encode_base32_rfc4648', package: '@webbuf/webbuf', target: 'bundler',
    loader: 'src/rs-webbuf-bundler/webbuf_bg.js', wasm: 'src/rs-webbuf-bundler/webbuf_bg.wasm',
    entry: 'encode_base32_rfc4648', params: [bytes('foobar'), true] },
  { name: 'gecko-profiler-demangle-bundler-demangle_any', package: 'gecko-profiler-demangle', target: 'bundler',
    loader: 'index_bg.js', wasm: 'index_bg.wasm', entry: 'demangle_any',
    params: ['_ZN4core3fmt5write17h0123456789abcdefE'] },
  { name: 'lz4-wasm-nodejs-compress', package: 'lz4-wasm-nodejs', target: 'nodejs',
    loader: 'lz4_wasm_nodejs.js', wasm: 'lz4_wasm_nodejs_bg.wasm', entry: 'compress', params: [LZ4_INPUT] },
  { name: 'farmhash-modern-nodejs-fingerprint64', package: 'farmhash-modern', target: 'nodejs',
    loader: 'bin/nodejs/farmhash_modern.js', wasm: 'bin/nodejs/farmhash_modern_bg.wasm',
    entry: 'fingerprint64', params: [bytes('hello world')] },
  { name: 'rml-wasm-nodejs-parse', package: '@xn-sakina/rml-wasm', target: 'nodejs',
    loader: 'index.js', wasm: 'index_bg.wasm', entry: 'parse',
    params: [{ input: [{ filename: 'a.mjs',
      code: "import x, { y as z } from './dep.js';\nexport const a = 1;\nexport { z as w };\nexport default x;\n" }] }] },
  { name: 'ruff-wasm-nodejs-Workspace.version', package: '@astral-sh/ruff-wasm-nodejs', target: 'nodejs',
    loader: 'ruff_wasm.js', wasm: 'ruff_wasm_bg.wasm', entry: 'Workspace.version', params: [] },
  { name: 'automerge-wasm-deno-encodeChange', package: '@automerge/automerge-wasm', target: 'deno',
    loader: 'deno/automerge_wasm.js', wasm: 'deno/automerge_wasm_bg.wasm', entry: 'encodeChange', params: [CHANGE] },
  // params[0] is filled in below with the expected output of the encodeChange case.
  { name: 'automerge-wasm-deno-decodeChange', package: '@automerge/automerge-wasm', target: 'deno',
    loader: 'deno/automerge_wasm.js', wasm: 'deno/automerge_wasm_bg.wasm', entry: 'decodeChange', params: null },
];

// --- JSON conversion as the worker does it ----------------------------------------
function toJSONValue(v) {
  if (v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v, (x) => (typeof x === 'bigint' ? Number(x) : x));
  if (v instanceof ArrayBuffer) return Array.from(new Uint8Array(v));
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), toJSONValue(x)]));
  if (Array.isArray(v)) return v.map(toJSONValue);
  if (v && typeof v === 'object') {
    const o = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) o[k] = toJSONValue(x);
    return o;
  }
  return v;
}

// --- loaders ----------------------------------------------------------------------
const esm = (file, source, meta) =>
  new vm.SourceTextModule(source, {
    identifier: file,
    initializeImportMeta: meta ? (m) => Object.assign(m, meta) : undefined,
  });

async function loadBundler(loaderPath, wasmPath) {
  const mod = esm(loaderPath, fs.readFileSync(loaderPath, 'utf8'));
  const wasmModule = new WebAssembly.Module(fs.readFileSync(wasmPath));
  const bgName = './' + path.basename(loaderPath);
  let instance;
  const instantiate = () =>
    (instance ??= new WebAssembly.Instance(wasmModule, { [bgName]: mod.namespace }));
  // legacy glue imports the wasm itself
  await mod.link(async (specifier) => {
    if (!specifier.endsWith('.wasm')) throw new Error(`unexpected import ${specifier}`);
    const names = WebAssembly.Module.exports(wasmModule).map((e) => e.name);
    return new vm.SyntheticModule(names, function () {
      const ex = instantiate().exports;
      for (const n of names) this.setExport(n, ex[n]);
    }, { identifier: specifier });
  });
  await mod.evaluate();
  const ns = mod.namespace;
  instantiate();
  if (typeof ns.__wbg_set_wasm === 'function') ns.__wbg_set_wasm(instance.exports);
  if (typeof instance.exports.__wbindgen_start === 'function') instance.exports.__wbindgen_start();
  return ns;
}

async function loadDeno(loaderPath, wasmPath) {
  const url = 'https://corpus.invalid/' + path.basename(loaderPath);
  const wasmUrl = new URL(path.basename(wasmPath), url).href;
  const savedFetch = globalThis.fetch;
  globalThis.fetch = async (u) => {
    if (String(u) !== wasmUrl) throw new Error(`unexpected fetch ${u}`);
    return new Response(fs.readFileSync(wasmPath), { headers: { 'content-type': 'application/wasm' } });
  };
  try {
    const mod = esm(loaderPath, fs.readFileSync(loaderPath, 'utf8'), { url });
    await mod.link(async (s) => { throw new Error(`unexpected import ${s}`); });
    await mod.evaluate(); // top-level await: fetch + WebAssembly.instantiate
    return mod.namespace;
  } finally {
    globalThis.fetch = savedFetch;
  }
}

function resolveEntry(ns, entry) {
  const parts = entry.split('.');
  let thisArg = undefined;
  let f = ns;
  for (const p of parts) { thisArg = f; f = f[p]; }
  if (typeof f !== 'function') throw new Error(`no function ${entry}`);
  return (...a) => f.apply(thisArg, a);
}

// --- metadata -----------------------------------------------------------------------
const sha256 = (f) => createHash('sha256').update(fs.readFileSync(f)).digest('hex');
function bindgenVersion(wasmPath) {
  const m = new WebAssembly.Module(fs.readFileSync(wasmPath));
  for (const s of WebAssembly.Module.customSections(m, 'producers')) {
    const t = Buffer.from(s).toString('latin1');
    const i = t.indexOf('wasm-bindgen');
    if (i >= 0) { // name, then LEB length-prefixed version string
      const len = t.charCodeAt(i + 12);
      return t.slice(i + 13, i + 13 + len);
    }
  }
  return null;
}
function wasmImportModules(wasmPath) {
  const m = new WebAssembly.Module(fs.readFileSync(wasmPath));
  return [...new Set(WebAssembly.Module.imports(m).map((i) => i.module))];
}

// --- run ----------------------------------------------------------------------------
const out = [];
const byName = {};
for (const c of CASES) {
  const pkgDir = path.join(NM, c.package);
  const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
  const loaderPath = path.join(pkgDir, c.loader);
  const wasmPath = path.join(pkgDir, c.wasm);
  if (c.name === 'automerge-wasm-deno-decodeChange') c.params = [byName['automerge-wasm-deno-encodeChange'].expected];
  let ns;
  if (c.target === 'bundler') ns = await loadBundler(loaderPath, wasmPath);
  else if (c.target === 'nodejs') ns = require(loaderPath);
  else if (c.target === 'deno') ns = await loadDeno(loaderPath, wasmPath);
  // params are JSON values (number lists, not Uint8Arrays) exactly as in cases.json
  const params = JSON.parse(JSON.stringify(c.params));
  const raw = await resolveEntry(ns, c.entry)(...params);
  const expected = toJSONValue(raw);
  const notes = [];
  if (typeof raw === 'bigint') notes.push(`returns a BigInt (${raw}n); expected is Number(BigInt), which is lossy above 2^53`);
  if (ArrayBuffer.isView(raw)) notes.push(`returns a ${raw.constructor.name}; expected is its number list`);
  const rec = {
    name: c.name,
    package: c.package,
    version: pkg.version,
    license: pkg.license ?? null,
    target: c.target,
    loader: c.loader,
    wasm: c.wasm,
    entry: c.entry,
    params: c.params,
    expected,
    wasmBindgen: bindgenVersion(wasmPath),
    wasmImportModules: wasmImportModules(wasmPath),
    ...(notes.length ? { note: notes.join('; ') } : {}),
    sha256: { loader: sha256(loaderPath), wasm: sha256(wasmPath) },
    bytes: { loader: fs.statSync(loaderPath).size, wasm: fs.statSync(wasmPath).size },
  };
  byName[c.name] = rec;
  out.push(rec);
  console.log(`${c.name}: ${JSON.stringify(expected).slice(0, 160)}`);
}

// sanity cross-checks against independent facts
const hex = (a) => Buffer.from(a).toString('hex');
const check = (cond, msg) => { if (!cond) { console.error('CHECK FAILED: ' + msg); process.exitCode = 1; } };
check(hex(byName['webbuf-blake3-bundler-blake3_hash'].expected) ===
  '6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85', 'BLAKE3("abc") test vector');
check(byName['webbuf-bundler-encode_base32_rfc4648'].expected === 'MZXW6YTBOI======', 'RFC 4648 base32("foobar")');
check(JSON.stringify(byName['lz4-wasm-bundler-legacy-compress'].expected) ===
  JSON.stringify(byName['lz4-wasm-nodejs-compress'].expected), 'lz4 bundler == nodejs');
check(byName['ruff-wasm-nodejs-Workspace.version'].expected ===
  byName['ruff-wasm-nodejs-Workspace.version'].version, 'ruff version string == package version');
const dec = byName['automerge-wasm-deno-decodeChange'].expected;
check(dec.actor === CHANGE.actor && dec.message === CHANGE.message && dec.ops.length === 2, 'automerge round trip');

fs.writeFileSync(path.join(HERE, 'cases.json'), JSON.stringify(out, null, 1) + '\n');
console.log(`wrote cases.json (${out.length} cases)`);

if (process.argv.includes('--sources')) {
  console.log('\n| case | package@version | licence | target | wasm-bindgen | loader (sha256) | wasm (sha256, bytes) |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const r of out) {
    console.log(`| ${r.name} | ${r.package}@${r.version} | ${r.license} | ${r.target} | ${r.wasmBindgen} | \`${r.loader}\` (\`${r.sha256.loader}\`) | \`${r.wasm}\` (\`${r.sha256.wasm}\`, ${r.bytes.wasm}) |`);
  }
}
