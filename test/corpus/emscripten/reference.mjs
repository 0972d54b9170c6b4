#!/usr/bin/env node
// Regenerates expected/ for the third-party Emscripten corpus by running each
// package's OWN loader, outside the project (Node, or a bare Chromium page for
// builds that cannot run in Node: ENVIRONMENT=web/worker-only and -pthread).
//
//   cd test/corpus/emscripten && npm ci --ignore-scripts
//   node reference.mjs                 # run every case, compare with expected/
//   node reference.mjs --update        # (re)write expected/ and cases.json fields
//   node reference.mjs --only a,b      # subset
//   node reference.mjs --native        # also run the Debian tool in case.native.command
//   CORPUS_BROWSER=1 node reference.mjs # run the ESM callMain cases in Chromium too
//
// Each case runs in its own child process (loaders install process handlers,
// globals, and may call process.exit). The task contract is the Motivus one:
// `arguments` = argv after the program name, `preload_files` are written into
// the program's MEMFS before main, `result_files` are read back after main.
// How a case is driven is described by case.reference:
//   load:  "script" - evaluated as a classic <script> at global scope, config
//                     pre-set as global `global` (e.g. Module, jq)
//          "cjs"    - evaluated as CommonJS; the FIRST function ever assigned
//                     to module.exports is the factory (post-js may rebind it)
//          "esm"    - import(); `export` (default "default") is the factory
//          "browser"- ESM factory run in Chromium on a COOP/COEP page
//   call:  "callMain" (default) | "initialRun" (Module.arguments + INVOKE_RUN)
//          | "exec" (ffmpeg.wasm's Module.exec(...args))
//   fs:    "module" (Module.FS, default) | "global" (script-scope FS) | "none"
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import crypto from 'node:crypto';
import http from 'node:http';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { spawnSync } from 'node:child_process';

const here = path.dirname(fileURLToPath(import.meta.url));
const casesPath = path.join(here, 'cases.json');
const argv = process.argv.slice(2);
const flag = (f) => argv.includes(f);
const opt = (f) => { const i = argv.indexOf(f); return i >= 0 ? argv[i + 1] : undefined; };
const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex');
const pkgDir = (c) => path.join(here, 'node_modules', c.package);

function dirsOf(p) {
  const parts = p.split('/').filter(Boolean); parts.pop();
  const out = []; let cur = '';
  for (const part of parts) { cur += '/' + part; out.push(cur); }
  return out;
}
function mkdirs(FS, p) { for (const d of dirsOf(p)) { try { FS.mkdir(d); } catch { /* exists */ } } }

// ---------------------------------------------------------------- child side
// ASSERTIONS builds install aborting getters for unexported runtime methods.
function has(M, k) { try { return !!M?.[k]; } catch { return false; } }
async function runInNode(c) {
  const ref = c.reference ?? {};
  const loader = path.join(pkgDir(c), c.loader);
  const wasm = c.wasm ? fs.readFileSync(path.join(pkgDir(c), c.wasm)) : undefined;
  const task = c.task;
  const inputs = Object.entries(task.preload_files ?? {}).map(([vp, f]) => [vp, fs.readFileSync(path.join(here, f))]);
  const out = []; const err = [];
  let exitCode = null;
  let resolveInit; const init = new Promise((r) => { resolveInit = r; });
  const config = {
    noInitialRun: ref.call !== 'initialRun',
    print: (s) => out.push(String(s)),
    printErr: (s) => err.push(String(s)),
    quit: (status, toThrow) => { exitCode = status; throw toThrow ?? new Error('quit ' + status); },
    onExit: (status) => { exitCode = status; },
    locateFile: (p) => path.join(path.dirname(loader), p),
    onRuntimeInitialized: () => resolveInit(),
    preRun: [],
    // Hand the wasm in both ways: some closure builds dropped `wasmBinary`
    // support entirely (only instantiateWasm/locateFile work).
    ...(wasm ? {
      wasmBinary: wasm,
      // Return a PROMISE of the exports, not the documented `{}`: builds of the
      // `var wasmExports = await createWasm()` generation (e.g. @niivue/dcm2niix)
      // bind every export from instantiateWasm's return value. Older builds
      // ignore the return value (they take the exports in `receive`).
      instantiateWasm: (imports, receive) => WebAssembly.instantiate(wasm, imports).then((r) => receive(r.instance, r.module)),
    } : {}),
  };
  if (ref.nodeGlobals) { globalThis.__dirname = path.dirname(loader); globalThis.__filename = loader; globalThis.require = createRequire(loader); }
  if (ref.call === 'initialRun') {
    config.arguments = task.arguments.slice();
    // Writes before main: only possible where FS is reachable from preRun.
    config.preRun = [() => { let FS; try { FS = config.FS; } catch { /* ASSERTIONS getter */ } FS ??= globalThis.FS; if (FS) { for (const [vp, b] of inputs) { mkdirs(FS, vp); FS.writeFile(vp, b); } for (const vp of task.result_files ?? []) mkdirs(FS, vp); } }];
  }
  let M;
  if (ref.load === 'script') {
    globalThis.require = createRequire(loader);
    globalThis.__dirname = path.dirname(loader);
    globalThis.__filename = loader;
    globalThis[ref.global] = config;
    vm.runInThisContext(fs.readFileSync(loader, 'utf8'), { filename: loader });
    M = globalThis[ref.global];
    if (typeof M === 'function') M = await M(config);
  } else if (ref.load === 'cjs') {
    const captured = [];
    let exp = {};
    const mod = {};
    Object.defineProperty(mod, 'exports', { get: () => exp, set: (v) => { captured.push(v); exp = v; } });
    const fn = vm.runInThisContext(`(function (exports, require, module, __filename, __dirname) {${fs.readFileSync(loader, 'utf8')}\n})`, { filename: loader });
    fn.call(globalThis, exp, createRequire(loader), mod, loader, path.dirname(loader));
    const factory = captured.find((v) => typeof v === 'function') ?? exp;
    M = await factory(config);
  } else if (ref.load === 'esm') {
    const ns = await import(pathToFileURL(loader).href);
    M = await ns[ref.export ?? 'default'](config);
  } else throw new Error('unknown load ' + ref.load);
  if (M && typeof M.then === 'function' && !M.callMain) M = await M;
  // Instances evaluated at load time (no factory promise): wait for onRuntimeInitialized.
  if (ref.load === 'script') await Promise.race([init, new Promise((r) => setTimeout(r, 30000))]);
  const FS = ref.fs === 'global' ? globalThis.FS : ref.fs === 'none' ? null : (M.FS ?? config.FS);
  const notes = [];
  if (ref.call !== 'initialRun') {
    if (inputs.length || (task.result_files ?? []).length) {
      if (!FS) throw new Error('no FS reachable');
      for (const [vp, b] of inputs) { mkdirs(FS, vp); FS.writeFile(vp, b); }
      for (const vp of task.result_files ?? []) mkdirs(FS, vp);
    }
    try {
      let ret;
      if (ref.call === 'exec') ret = M.exec(...task.arguments);
      else ret = M.callMain(task.arguments.slice());
      if (ret && typeof ret.then === 'function') ret = await ret;
      if (exitCode === null && typeof ret === 'number') exitCode = ret;
    } catch (e) {
      if (exitCode === null && typeof e?.status === 'number') exitCode = e.status;
      if (exitCode === null) { notes.push('threw: ' + String(e?.message ?? e)); exitCode = -1; }
    }
  } else {
    // main already ran during startup with Module.arguments
    if (exitCode === null) exitCode = typeof M?.EXITSTATUS === 'number' ? M.EXITSTATUS : 0;
  }
  if (exitCode === null) exitCode = 0;
  const files = {};
  for (const vp of task.result_files ?? []) {
    try { files[vp] = Buffer.from(FS.readFile(vp)).toString('base64'); } catch (e) { files[vp] = null; notes.push(`missing ${vp}`); }
  }
  return { exitCode, stdout: out.map((l) => l + '\n').join(''), stderr: err.map((l) => l + '\n').join(''), files, notes, moduleHasFS: has(M, 'FS'), moduleHasCallMain: has(M, 'callMain') };
}

// Chromium: a bare page served with COOP/COEP (needed for SharedArrayBuffer).
const WORKER = `
self.onmessage = async ({ data: [c, loaderUrl, wasmUrl, inputs] }) => {
  const ref = c.reference ?? {};
  const out = [], err = []; let exitCode = null;
  const notes = [];
  try {
    const wasmBytes = wasmUrl ? new Uint8Array(await (await fetch(wasmUrl)).arrayBuffer()) : undefined;
    const base = new URL('.', loaderUrl).href;
    const config = { noInitialRun: true, print: s => out.push(String(s)), printErr: s => err.push(String(s)),
      quit: (st, t) => { exitCode = st; throw t ?? new Error('quit ' + st); }, onExit: st => { exitCode = st; },
      locateFile: p => base + p };
    if (wasmBytes) {
      config.wasmBinary = wasmBytes;
      config.instantiateWasm = (imports, receive) => WebAssembly.instantiate(wasmBytes, imports).then(r => receive(r.instance, r.module));
    }
    const ns = await import(loaderUrl);
    const M = await ns[ref.export ?? 'default'](config);
    const FS = M.FS;
    const mk = p => { let cur = ''; for (const part of p.split('/').filter(Boolean).slice(0, -1)) { cur += '/' + part; try { FS.mkdir(cur); } catch {} } };
    for (const [vp, b64] of Object.entries(inputs)) { mk(vp); FS.writeFile(vp, Uint8Array.from(atob(b64), ch => ch.charCodeAt(0))); }
    for (const vp of c.task.result_files ?? []) mk(vp);
    try {
      let ret = ref.call === 'exec' ? M.exec(...c.task.arguments) : M.callMain(c.task.arguments.slice());
      if (ret && typeof ret.then === 'function') ret = await ret;
      if (exitCode === null && typeof ret === 'number') exitCode = ret;
    } catch (e) { if (exitCode === null && typeof e?.status === 'number') exitCode = e.status; if (exitCode === null) { notes.push('threw: ' + (e?.message ?? e)); exitCode = -1; } }
    if (exitCode === null) exitCode = 0;
    const files = {};
    for (const vp of c.task.result_files ?? []) { try { const d = FS.readFile(vp); let s = ''; for (let i = 0; i < d.length; i += 0x8000) s += String.fromCharCode(...d.subarray(i, i + 0x8000)); files[vp] = btoa(s); } catch { files[vp] = null; notes.push('missing ' + vp); } }
    postMessage({ exitCode, stdout: out.map(l => l + '\\n').join(''), stderr: err.map(l => l + '\\n').join(''), files, notes, crossOriginIsolated: self.crossOriginIsolated, moduleHasFS: !!M.FS, moduleHasCallMain: typeof M.callMain === 'function' });
  } catch (e) { postMessage({ error: String(e?.stack ?? e) + '\\n' + err.slice(-5).join('\\n') }); }
};
`;
// Chromium: a bare cross-origin-isolated page (COOP/COEP, needed for
// SharedArrayBuffer); the case runs in a module Web Worker, as in Motivus.
const PAGE = `<!doctype html><meta charset=utf-8><title>corpus</title><script type=module>
window.runCase = (args) => new Promise((resolve) => {
  const w = new Worker('/__worker.mjs', { type: 'module' });
  w.onmessage = (e) => { resolve(e.data); w.terminate(); };
  w.onerror = (e) => resolve({ error: 'worker error: ' + e.message });
  w.postMessage(args);
});
window.ready = true;
</script>`;

async function runInBrowser(c) {
  const types = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };
  const server = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://x');
    const headers = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp', 'Cross-Origin-Resource-Policy': 'same-origin' };
    if (u.pathname === '/') { res.writeHead(200, { ...headers, 'content-type': 'text/html' }); res.end(PAGE); return; }
    if (u.pathname === '/__worker.mjs') { res.writeHead(200, { ...headers, 'content-type': 'text/javascript' }); res.end(WORKER); return; }
    const p = path.join(here, decodeURIComponent(u.pathname));
    if (!p.startsWith(here) || !fs.existsSync(p) || fs.statSync(p).isDirectory()) { res.writeHead(404, headers); res.end(); return; }
    res.writeHead(200, { ...headers, 'content-type': types[path.extname(p)] ?? 'application/octet-stream' });
    fs.createReadStream(p).pipe(res);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${server.address().port}`;
  const req = createRequire(path.join(here, '../../../package.json'));
  const { chromium } = req('playwright-core');
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage();
    const logs = [];
    page.on('console', (m) => logs.push(m.text()));
    page.on('pageerror', (e) => logs.push('pageerror: ' + e.message));
    await page.goto(origin + '/');
    await page.waitForFunction(() => window.ready === true);
    const inputs = Object.fromEntries(Object.entries(c.task.preload_files ?? {}).map(([vp, f]) => [vp, fs.readFileSync(path.join(here, f)).toString('base64')]));
    const rel = (p) => origin + '/node_modules/' + c.package + '/' + p;
    const r = await page.evaluate((a) => window.runCase(a), [c, rel(c.loader), c.wasm && !(c.reference?.noWasmBinary) ? rel(c.wasm) : null, inputs]);
    if (r.error) { r.error += '\n' + logs.slice(-8).join('\n'); return r; }
    r.consoleTail = logs.slice(-5);
    return r;
  } finally { await browser.close(); server.close(); }
}

// --------------------------------------------------------------- parent side
function decodeResult(r) { if (r.error) return r; for (const k of Object.keys(r.files)) r.files[k] = r.files[k] === null ? null : Buffer.from(r.files[k], 'base64'); return r; }

function runChild(name) {
  const p = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', name], { encoding: 'utf8', maxBuffer: 256 << 20, timeout: 600000 });
  const m = /<<<RESULT>>>(.*)<<<END>>>/s.exec(p.stdout ?? '');
  if (!m) return { error: `child failed (status ${p.status}, signal ${p.signal})`, tail: (p.stderr ?? '').slice(-2000) + (p.stdout ?? '').slice(-1000) };
  return decodeResult(JSON.parse(m[1]));
}

function localName(vp) { return vp.split('/').filter(Boolean).join('__'); }

async function main() {
  if (flag('--child')) {
    const cases = JSON.parse(fs.readFileSync(casesPath, 'utf8'));
    const c = cases.find((x) => x.name === opt('--child'));
    let r;
    try { // CORPUS_BROWSER=1 also runs the Node-capable ESM/callMain cases in Chromium (cross-check).
    const inBrowser = c.reference?.load === 'browser' || (process.env.CORPUS_BROWSER === '1' && c.reference?.load === 'esm' && !c.reference?.call);
    r = inBrowser ? await runInBrowser(c) : await runInNode(c); } catch (e) { r = { error: String(e?.stack ?? e) }; }
    process.stdout.write('<<<RESULT>>>' + JSON.stringify(r) + '<<<END>>>\n');
    process.exit(0);
  }
  const cases = JSON.parse(fs.readFileSync(casesPath, 'utf8'));
  const only = opt('--only')?.split(',');
  const update = flag('--update');
  let failures = 0;
  for (const c of cases) {
    if (only && !only.includes(c.name)) continue;
    const t0 = Date.now();
    const lp = path.join(pkgDir(c), c.loader);
    const wp = c.wasm ? path.join(pkgDir(c), c.wasm) : null;
    const version = JSON.parse(fs.readFileSync(path.join(pkgDir(c), 'package.json'), 'utf8')).version;
    const sums = { loader: sha256(fs.readFileSync(lp)), wasm: wp ? sha256(fs.readFileSync(wp)) : null };
    const r = runChild(c.name);
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    if (r.error) { failures++; console.log(`FAIL ${c.name} (${secs}s): ${r.error}\n${r.tail ?? ''}`); continue; }
    const problems = [];
    if (version !== c.version) problems.push(`installed ${version} != ${c.version}`);
    if (c.sha256 && (c.sha256.loader !== sums.loader || c.sha256.wasm !== sums.wasm)) problems.push('sha256 differs');
    const expDir = path.join(here, 'expected', c.name);
    if (update) {
      c.version = version; c.sha256 = sums;
      fs.rmSync(expDir, { recursive: true, force: true });
      fs.mkdirSync(expDir, { recursive: true });
      c.expected ??= {};
      c.expected.exitCode = r.exitCode;
      const mode = c.expected.stdoutMode ?? 'exact';
      if (mode === 'exact') c.expected.stdout = r.stdout;
      c.expected.files = {};
      for (const [vp, buf] of Object.entries(r.files)) {
        if (!buf) { problems.push('missing result ' + vp); continue; }
        const rel = `expected/${c.name}/${localName(vp)}`;
        fs.writeFileSync(path.join(here, rel), buf);
        c.expected.files[vp] = rel;
        c.expected.sha256 ??= {}; c.expected.sha256[vp] = sha256(buf);
      }
      fs.writeFileSync(path.join(expDir, 'stdout.txt'), r.stdout);
      fs.writeFileSync(path.join(expDir, 'stderr.txt'), r.stderr);
    } else {
      const e = c.expected ?? {};
      if (e.exitCode !== r.exitCode) problems.push(`exit ${r.exitCode} != ${e.exitCode}`);
      if ((e.stdoutMode ?? 'exact') === 'exact' && e.stdout !== r.stdout) problems.push('stdout differs');
      if (e.stdoutMode === 'regex' && !new RegExp(e.stdout, 's').test(r.stdout)) problems.push('stdout !~ regex');
      for (const [vp, rel] of Object.entries(e.files ?? {})) {
        const want = fs.readFileSync(path.join(here, rel));
        if (!r.files[vp] || !want.equals(r.files[vp])) problems.push('file differs ' + vp);
      }
    }
    if (flag('--native') && c.native?.command) {
      const nat = spawnSync('bash', ['-c', c.native.command], { cwd: here, encoding: 'buffer' });
      const cmp = c.native.compare ?? [];
      const same = cmp.every(([vp, file]) => { try { return vp === 'stdout' ? Buffer.from(r.stdout).equals(nat.stdout) : fs.readFileSync(path.resolve(here, file)).equals(r.files[vp]); } catch { return false; } });
      console.log(`  native: exit ${nat.status}; identical=${same}`);
      if (update) c.native.identical = same;
    }
    if (problems.length) failures++;
    console.log(`${problems.length ? 'FAIL' : 'ok  '} ${c.name} (${secs}s) exit=${r.exitCode} stdout=${r.stdout.length}B files=${Object.entries(r.files).map(([k, v]) => `${k}:${v ? v.length : 'missing'}`).join(',')} FS=${r.moduleHasFS} callMain=${r.moduleHasCallMain}${r.notes?.length ? ' notes=' + r.notes.join(';') : ''} ${problems.join('; ')}`);
    if (r.stderr && flag('--verbose')) console.log('  stderr: ' + r.stderr.slice(0, 800));
  }
  if (update) fs.writeFileSync(casesPath, JSON.stringify(cases, null, 2) + '\n');
  process.exit(failures ? 1 : 0);
}
main();
