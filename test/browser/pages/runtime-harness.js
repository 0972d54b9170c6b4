// Test harness for the Web Worker runtime. A fixture spec becomes a cluster `input`, which the real
// prepareTask turns into a RunnerTask; it runs in a worker of the real sandbox frame (the shipped
// CSP) over Comlink, and the test gets the decoded outcome. Consecutive tasks share one worker, and
// a task of the algorithm the worker ran last goes warm (its key only), as the pool sends it.
import * as Comlink from "comlink";
// Bundled for the page by test/browser/support/build-pages.ts (the worker package's modules, from source).
import { DataLinks } from "../../../packages/worker/src/cache/data-links.js";
import { BundleKeys } from "../../../packages/worker/src/pool/bundle-keys.js";
import { prepareTask } from "../../../packages/worker/src/pool/prepare.js";
import { SandboxFrame } from "../../../packages/worker/src/sandbox/page/frame.js";
import { decodeResultBody, textOf, toBase64 } from "motivus-protocol";

const bytesOf = async (url) => {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
};

/** Bytes cannot cross page.evaluate as JSON: `{ $bytes: [..] }` and `{ $utf8: ".." }` become Uint8Arrays. */
const paramOf = (p) =>
  p && typeof p === "object" && "$bytes" in p
    ? new Uint8Array(p.$bytes)
    : p && typeof p === "object" && "$utf8" in p
      ? new TextEncoder().encode(p.$utf8)
      : p;

/**
 * spec: { wasm, loader, dataZip?: url, dataLink?, arguments?, params?, preloadText?: {path: text},
 *         preloadUrls?: {path: url}, resultFiles?: [path], entry?, wasmBytes?: [n], dataZipBytes?: [n],
 *         loaderText?: source instead of loader, legacyDataLink?: the data_link a legacy adapter is told }
 */
async function inputOf(spec) {
  const wasm = spec.wasmBytes ? new Uint8Array(spec.wasmBytes) : await bytesOf(spec.wasm);
  const loader = spec.loaderText ?? (await (await fetch(spec.loader)).text());
  const preload = {};
  for (const [path, text] of Object.entries(spec.preloadText ?? {})) preload[path] = toBase64(new TextEncoder().encode(text));
  for (const [path, url] of Object.entries(spec.preloadUrls ?? {})) preload[path] = toBase64(await bytesOf(url));
  const resultFiles = spec.resultFiles ?? [];
  const dataLink =
    spec.dataLink ??
    (spec.dataZip ? new URL(spec.dataZip, location.href).href : spec.dataZipBytes ? "https://example.org/pkg.data.zip" : null);
  return {
    tid: crypto.randomUUID(),
    type: "work",
    body: {
      run_type: "wasm",
      wasm: toBase64(wasm),
      loader: toBase64(new TextEncoder().encode(loader)),
      params: spec.params ?? null,
      arguments: spec.arguments ?? null,
      preload_files: Object.keys(preload).length ? preload : null,
      result_files: resultFiles.length ? Object.fromEntries(resultFiles.map((path) => [path, `out${path}`])) : null,
      data_link: dataLink,
      ...(spec.entry ? { entry: spec.entry } : {}),
    },
  };
}

function decode(outcome) {
  const body = decodeResultBody(outcome.body);
  const files = {};
  for (const [key, value] of Object.entries(body))
    if (key.startsWith("/") && typeof value === "string") files[key] = textOf(value);
  return {
    ok: outcome.ok,
    error: outcome.error,
    errorCode: outcome.errorCode ?? null,
    shape: outcome.shape,
    body,
    files,
    stdout: outcome.stdout === null ? null : textOf(outcome.stdout),
    stderr: outcome.stderr === null ? null : textOf(outcome.stderr),
    stdoutIsNull: outcome.stdout === null,
  };
}

/** Exposes window.runFixture(spec) and window.cachedModules() over one worker of the real sandbox frame. */
export async function installHarness() {
  const frame = await SandboxFrame.create(await (await fetch("/dist/browser/runtime.js")).text());
  const runner = Comlink.wrap(frame.spawn().port);
  const keys = new BundleKeys();
  const dataLinks = new DataLinks({ clusterOrigin: location.origin, pageOrigin: location.origin, maxBytes: 64 * 1024 * 1024 });
  let warm = null;
  window.runFixture = async (spec) => {
    const input = await inputOf(spec);
    // Bytes given inline stand in for a download (the download itself is tested on its own).
    const links = spec.dataZipBytes ? { get: async () => new Uint8Array(spec.dataZipBytes).buffer } : dataLinks;
    const { task, transfer, bundle } = await prepareTask(input, {
      dataLinks: links,
      keys,
      warm,
      startupMs: spec.startupMs ?? 30_000,
    });
    warm = bundle;
    task.params = task.params.map(paramOf);
    if (spec.legacyDataLink) task.legacyBody.data_link = spec.legacyDataLink;
    return decode(await runner.run(Comlink.transfer(task, transfer)));
  };
  window.cachedModules = () => runner.cachedModules();
}
