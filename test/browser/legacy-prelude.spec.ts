/**
 * The legacy prelude (src/runtime/legacy-prelude/main.ts) as an adapter meets it, in the parts
 * legacy-bundles.spec.ts leaves out: an asynchronous XMLHttpRequest, every responseType, the
 * response headers, fetch, and `new WebAssembly.Module` of the task's wasm. Run through the worker
 * runtime (dist/runtime.js) with the runtime.spec.ts harness.
 */
import { test, expect } from "./support/cluster.js";
import { open, run } from "./support/runtime-harness.js";

const anyWasm = "/fixtures/legacy/motivus-build/datapkg.wasm";
const dataZipBytes = [0, 65, 127, 128, 200, 255];
const refusal = "the sandbox has no network; only the task's data_link can be read, not ";

test("an asynchronous XHR of data_link loads after send() returns; one of another URL fails with error and loadend", async ({
  page,
  cluster,
}) => {
  await open(page, cluster.origin);
  const probe = `onmessage = function (e) {
  var r = new XMLHttpRequest(), events = [];
  r.open("GET", e.data.data_link);
  r.overrideMimeType("text/plain; charset=x-user-defined");
  r.onreadystatechange = function () { events.push("readystatechange " + r.readyState); };
  r.onload = function () { events.push("load " + r.status); };
  r.onloadend = function () {
    events.push("loadend");
    var other = new XMLHttpRequest();
    other.open("GET", "https://example.org/other.data.zip");
    other.onerror = function (p) { events.push("error " + p.loaded + " " + other.status); };
    other.addEventListener("loadend", function () {
      var codes = [];
      for (var i = 0; i < r.responseText.length; i++) codes.push(r.responseText.charCodeAt(i));
      postMessage({ body: { data: { events: events, codes: codes } } });
    });
    other.send();
  };
  r.send(null);
  events.push("send returned " + r.readyState);
};`;
  const outcome = await run(page, { wasm: anyWasm, loaderText: probe, dataZipBytes });
  expect(outcome).toMatchObject({ ok: true, shape: "legacy" });
  expect(outcome.body.data).toEqual({
    events: ["send returned 1", "readystatechange 4", "load 200", "loadend", "error 0 0"],
    codes: [0, 65, 127, 0xf780, 0xf7c8, 0xf7ff],
  });
});

test("every responseType, and the one response header there is", async ({ page, cluster }) => {
  await open(page, cluster.origin);
  const probe = `onmessage = function (e) {
  var seen = {};
  ["", "text", "arraybuffer", "blob", "json"].forEach(function (type) {
    var r = new XMLHttpRequest();
    r.open("GET", e.data.data_link, false);
    r.responseType = type;
    r.send();
    var got = r.response;
    seen[type || "default"] = got instanceof ArrayBuffer ? Array.from(new Uint8Array(got))
      : got instanceof Blob ? "Blob " + got.size : typeof got === "string" ? got.length : got;
  });
  var h = new XMLHttpRequest();
  h.open("GET", e.data.data_link, false);
  h.send();
  postMessage({ body: { data: { seen: seen, length: h.getResponseHeader("Content-Length"), other: h.getResponseHeader("ETag"),
    all: h.getAllResponseHeaders(), url: h.responseURL, status: [h.status, h.statusText], done: XMLHttpRequest.DONE } } });
};`;
  const outcome = await run(page, { wasm: anyWasm, loaderText: probe, dataZipBytes });
  expect(outcome.body.data).toEqual({
    seen: { default: 6, text: 6, arraybuffer: dataZipBytes, blob: "Blob 6", json: null },
    length: "6",
    other: null,
    all: "content-length: 6\r\n",
    url: "https://example.org/pkg.data.zip",
    status: [200, "OK"],
    done: 4,
  });
});

test("fetch serves data_link (as a string, a URL or a Request) and refuses any other URL", async ({ page, cluster }) => {
  await open(page, cluster.origin);
  const probe = `onmessage = async function (e) {
  var link = e.data.data_link, seen = [];
  for (var input of [link, new URL(link), new Request(link), "https://example.org/other"]) {
    try {
      var response = await fetch(input);
      seen.push([response.status, response.headers.get("content-length"), Array.from(new Uint8Array(await response.arrayBuffer()))]);
    } catch (x) { seen.push(x.name + ": " + x.message); }
  }
  postMessage({ body: { data: seen } });
};`;
  const outcome = await run(page, { wasm: anyWasm, loaderText: probe, dataZipBytes });
  const served = [200, "6", dataZipBytes];
  expect(outcome.body.data).toEqual([served, served, served, `TypeError: ${refusal}https://example.org/other`]);
});

test("new WebAssembly.Module of the task's wasm is the runner's compiled module; other bytes compile as usual", async ({
  page,
  cluster,
}) => {
  await open(page, cluster.origin);
  const probe = `onmessage = async function (e) { var data_link = e.data.data_link;
  var compiled = await WebAssembly.compile(e.data.buffWasm), made = new WebAssembly.Module(e.data.buffWasm.slice());
  var other = new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
  postMessage({ body: { data: [made === compiled, other !== compiled, other instanceof WebAssembly.Module] } }); };`;
  const outcome = await run(page, { wasm: "/fixtures/wasm-bindgen/no-modules/wasm_flate_bg.wasm", loaderText: probe });
  expect(outcome).toMatchObject({ ok: true, shape: "legacy", body: { data: [true, true, true] } });
});
