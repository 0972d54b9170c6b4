/**
 * Which runtime a task's loader goes to, read from the loader's source (nothing is evaluated). Only
 * the kinds whose text is stable across releases are told apart here: an empty loader (WASI), the
 * legacy Motivus adapter, wasm-bindgen glue. Everything else is taken for Emscripten, whose shapes
 * (classic, MODULARIZE, ES module, a post-js that starts itself) show when the loader runs.
 */
import { LoaderShape } from "../messages/runner.js";

// The legacy adapter is a whole worker script: it installs `onmessage` and reads the task body's own
// fields. It is often webpack-minified (`...}onmessage=function(e){...`, `,self.onmessage=`, all inside
// webpack's module function), so `onmessage` may follow any punctuation and have no spaces around `=`;
// property names survive minification, so the body's field names stay readable. An Emscripten build
// with BUILD_AS_WORKER also sets onmessage, but never reads data_link or buffWasm.
const setsOnMessage =
  /(?:^|[^\w$.])(?:(?:self|globalThis|this)\s*\.\s*)?onmessage\s*=(?!=)|(?:^|[^\w$.])(?:self|globalThis|this)\s*\[\s*["']onmessage["']\s*\]\s*=(?!=)|addEventListener\(\s*["']message["']/m;
const readsTaskBody = /\bdata_link\b|\bbuffWasm\b/;
const esModule = /^\s*export\s+(?:default\b|\{|\*|function\b|async\b|const\b|let\b|var\b|class\b)/m;
const wasmBindgenGlue = /__wbindgen|__wbg_/;

export function detectShape(source: string): LoaderShape {
  if (source.trim() === "") return LoaderShape.wasi;
  if (setsOnMessage.test(source) && readsTaskBody.test(source)) return LoaderShape.legacy;
  if (wasmBindgenGlue.test(source)) {
    if (esModule.test(source)) return LoaderShape.wasmBindgenWeb;
    if (/\bwasm_bindgen\b/.test(source)) return LoaderShape.wasmBindgenNoModules;
    return LoaderShape.wasmBindgenOther;
  }
  return LoaderShape.emscriptenClassic;
}
