// Test harness for the Web Worker runtime: builds RunnerTasks from fixture files the way the pool
// does, runs them over Comlink and hands the test the decoded outcome. Shared by runtime*.html.
import * as Comlink from "/modules/comlink/dist/esm/comlink.mjs";

const bytesOf = async (url) => {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.arrayBuffer();
};

const toBase64 = (buffer) => {
  const bytes = new Uint8Array(buffer);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
};

const fromBase64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
const textOf = (base64) => (base64 ? new TextDecoder().decode(fromBase64(base64)) : null);

async function gunzipJson(base64) {
  const stream = new Blob([fromBase64(base64)]).stream().pipeThrough(new DecompressionStream("gzip"));
  return JSON.parse(await new Response(stream).text());
}

async function sha256(buffer) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", buffer));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** `arguments` (string split on whitespace, or list) then `params`, JSON-encoded unless strings. */
function argsOf(args, params) {
  const list = typeof args === "string" ? args.split(/\s+/).filter(Boolean) : Array.isArray(args) ? args.map(String) : [];
  return list.concat((params ?? []).map((p) => (typeof p === "string" ? p : JSON.stringify(p))));
}

/** Bytes cannot cross page.evaluate as JSON: `{ $bytes: [..] }` and `{ $utf8: ".." }` become Uint8Arrays. */
const paramOf = (p) =>
  p && typeof p === "object" && "$bytes" in p ? new Uint8Array(p.$bytes) : p && typeof p === "object" && "$utf8" in p ? new TextEncoder().encode(p.$utf8) : p;

/**
 * spec: { wasm, loader, dataZip?: url, dataLink?, arguments?, params?, preloadText?: {path: text},
 *         preloadUrls?: {path: url}, resultFiles?: [path], entry?, wasmBytes?: [n], dataZipBytes?: [n],
 *         loaderText?: source instead of loader, legacyDataLink?: data_link in the legacy body only }
 */
async function buildTask(spec) {
  const wasm = spec.wasmBytes ? new Uint8Array(spec.wasmBytes).buffer : await bytesOf(spec.wasm);
  const loader = spec.loaderText ?? (await (await fetch(spec.loader)).text());
  const dataZip = spec.dataZipBytes
    ? new Uint8Array(spec.dataZipBytes).buffer
    : spec.dataZip
      ? await bytesOf(spec.dataZip)
      : null;
  const dataLink = spec.dataLink ?? (spec.dataZip ? new URL(spec.dataZip, location.href).href : dataZip ? "https://example.org/pkg.data.zip" : null);
  const preloadFiles = {};
  for (const [path, text] of Object.entries(spec.preloadText ?? {})) preloadFiles[path] = new TextEncoder().encode(text).buffer;
  for (const [path, url] of Object.entries(spec.preloadUrls ?? {})) preloadFiles[path] = await bytesOf(url);
  const resultFiles = spec.resultFiles ?? [];
  const legacyBody = {
    run_type: "wasm",
    params: spec.params ?? null,
    arguments: spec.arguments ?? null,
    wasm: toBase64(wasm),
    data_link: spec.legacyDataLink ?? dataLink,
    preload_files: Object.keys(preloadFiles).length
      ? Object.fromEntries(Object.entries(preloadFiles).map(([path, buffer]) => [path, toBase64(buffer)]))
      : null,
    result_files: resultFiles.length ? Object.fromEntries(resultFiles.map((path) => [path, `out${path}`])) : null,
  };
  return {
    tid: crypto.randomUUID(),
    wasm,
    wasmKey: await sha256(wasm),
    loader,
    dataZip,
    dataLink,
    args: argsOf(spec.arguments, spec.params),
    params: (spec.params ?? []).map(paramOf),
    preloadFiles,
    resultFiles,
    entry: spec.entry ?? null,
    legacyBody,
  };
}

async function decode(outcome) {
  const body = await gunzipJson(outcome.body);
  const files = {};
  for (const [key, value] of Object.entries(body)) if (key.startsWith("/")) files[key] = textOf(value);
  return {
    ok: outcome.ok,
    error: outcome.error,
    errorCode: outcome.errorCode ?? null,
    shape: outcome.shape,
    body,
    files,
    stdout: textOf(outcome.stdout),
    stderr: textOf(outcome.stderr),
    stdoutIsNull: outcome.stdout === null,
  };
}

/** Exposes window.runFixture(spec) and window.cachedModules() over the runner behind `port`. */
export function installHarness(port) {
  const runner = Comlink.wrap(port);
  window.runFixture = async (spec) => {
    const task = await buildTask(spec);
    const transfer = [task.wasm, ...(task.dataZip ? [task.dataZip] : []), ...Object.values(task.preloadFiles)];
    return decode(await runner.run(Comlink.transfer(task, transfer)));
  };
  window.cachedModules = () => runner.cachedModules();
}
