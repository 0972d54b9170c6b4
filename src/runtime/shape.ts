/** Which kind of loader a task brought, read from the loader's source (nothing is evaluated). */
import { LoaderShape } from "../protocol/runner.js";

// The legacy adapter is a whole worker script: it installs `onmessage` and reads the task body's own
// fields. It is often webpack-minified (`...}onmessage=function(e){...`, `,self.onmessage=`, all inside
// webpack's module function), so `onmessage` may follow any punctuation and have no spaces around `=`;
// property names survive minification, so the body's field names stay readable. An Emscripten build
// with BUILD_AS_WORKER also sets onmessage, but never reads data_link or buffWasm.
const setsOnMessage =
  /(?:^|[^\w$.])(?:(?:self|globalThis|this)\s*\.\s*)?onmessage\s*=(?!=)|(?:^|[^\w$.])(?:self|globalThis|this)\s*\[\s*["']onmessage["']\s*\]\s*=(?!=)|addEventListener\(\s*["']message["']/m;
const readsTaskBody = /\bdata_link\b|\bbuffWasm\b/;
const esModule = /^\s*export\s+(?:default\b|\{|function\b|async\b|const\b|let\b|var\b|class\b)/m;
const wasmBindgenGlue = /__wbindgen|__wbg_/;
// MODULARIZE output resolves a promise it keeps in readyPromiseResolve (Emscripten 2.x to 4.x).
const modularized = /\breadyPromiseResolve\b/;
const classicModule = /typeof\s+Module\s*!==?\s*["']undefined["']/;

export function detectShape(source: string): LoaderShape | null {
  if (setsOnMessage.test(source) && readsTaskBody.test(source)) return LoaderShape.legacy;
  if (wasmBindgenGlue.test(source)) {
    if (esModule.test(source)) return LoaderShape.wasmBindgenWeb;
    if (/\bwasm_bindgen\b/.test(source)) return LoaderShape.wasmBindgenNoModules;
  }
  if (modularized.test(source)) return LoaderShape.emscriptenModularize;
  if (classicModule.test(source)) return LoaderShape.emscriptenClassic;
  return null;
}

/** The factory name of a MODULARIZE loader (`-s EXPORT_NAME`), `Module` when it cannot be read. */
export function exportNameOf(source: string): string {
  const factory =
    /^\s*var\s+([A-Za-z_$][\w$]*)\s*=\s*\(\s*(?:\(\s*\)\s*=>|function\s*\(\s*\))/m.exec(source) ??
    /^\s*(?:async\s+)?function\s+([A-Za-z_$][\w$]*)\s*\(\s*moduleArg\b/m.exec(source);
  return factory?.[1] ?? "Module";
}

/** Whether the loader exports `callMain` (`-s EXPORTED_RUNTIME_METHODS=callMain`), so we may start main ourselves. */
export function exportsCallMain(source: string): boolean {
  return /Module\[\s*["']callMain["']\s*\]\s*=/.test(source);
}
