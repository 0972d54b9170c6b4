/**
 * The script that runs before a legacy adapter in its nested worker. It is joined to the adapter into
 * one Blob, so it may use nothing from outside this file but what esbuild bundles in
 * (scripts/inline-scripts.mjs builds it into LEGACY_PRELUDE, strict inside its own function).
 *
 * - It takes the first message (the data package, before the adapter's `onmessage` can see it) and
 *   replaces XMLHttpRequest (and fetch) with one that serves only the task's data_link from those
 *   bytes; every other URL fails as a network error, as it would under the sandbox's CSP anyway. A
 *   synchronous request behaves as a real one in a worker: `send()` returns with the response in
 *   place and has already fired readystatechange, load and loadend; `overrideMimeType(...x-user-defined)`
 *   gives `responseText` as the browser does (bytes 0x80-0xFF as U+F780-U+F7FF, so `charCodeAt & 0xff`
 *   and a Uint8Array store both give the byte back).
 * - It reports on the adapter's own channel, in order with its reply, as `{[LEGACY_NOTE]: kind, ...}`:
 *   console output (`console`, stream "out"/"err", text), and uncaught errors and unhandled rejections
 *   (`failed`, reason). Adapters post nothing when the program aborts (the original one only logs in
 *   onAbort), so without the latter the task would wait forever.
 * - It hands the adapter the runner's compiled module when the adapter compiles the same wasm again.
 */
import { LEGACY_NOTE, type LegacyNote, type LegacyPackage } from "./notes.js";

/** Longest rendering of one console argument that is not a string (adapters log whole wasm buffers). */
const SHOWN = 2000;

/** Posts a note on the adapter's channel. */
type Report = (note: LegacyNote) => void;

export function legacyPrelude(): void {
  const post = self.postMessage.bind(self);
  const report: Report = (note) => {
    try {
      post(note);
    } catch {}
  };
  routeConsole(report);
  reportUncaught(report);
  const served = new ServedLink();
  takePackage(served);
  Object.assign(self, { XMLHttpRequest: requestClass(served, report) });
  if (typeof self.fetch === "function") self.fetch = servedFetch(served);
}

/** console -> the task's stdout (log, info, debug) and stderr (warn, error), like the runtime's own console. */
function routeConsole(report: Report): void {
  for (const method of ["log", "info", "debug", "warn", "error"] as const) {
    const stream = method === "warn" || method === "error" ? "err" : "out";
    // eslint-disable-next-line no-console -- the adapter's console is replaced: its output is the task's
    console[method] = function (...parts: unknown[]) {
      report({ [LEGACY_NOTE]: "console", stream, text: parts.map((part) => show(part)).join(" ") + "\n" });
    };
  }
}

function reportUncaught(report: Report): void {
  self.addEventListener("error", (event) => {
    event.preventDefault();
    const reason =
      event.error !== undefined && event.error !== null ? reasonOf(event.error) : String(event.message || "uncaught error");
    report({ [LEGACY_NOTE]: "failed", reason });
  });
  self.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    report({ [LEGACY_NOTE]: "failed", reason: reasonOf(event.reason) });
  });
}

/** One console argument as text; a value that is not a string is cut at SHOWN characters. */
function show(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Error) return (value.name || "Error") + ": " + value.message;
  if (value instanceof ArrayBuffer) return "ArrayBuffer(" + value.byteLength + ")";
  if (ArrayBuffer.isView(value)) {
    const length = (value as { length?: number }).length;
    return (
      ((value.constructor && value.constructor.name) || "View") + "(" + (length !== undefined ? length : value.byteLength) + ")"
    );
  }
  let text: string | undefined;
  try {
    text = typeof value === "object" && value !== null ? JSON.stringify(value) : String(value);
  } catch {
    text = undefined;
  }
  if (text === undefined) text = String(value);
  return text.length > SHOWN ? text.slice(0, SHOWN) + "..." : text;
}

function reasonOf(thrown: unknown): string {
  const exit = thrown as { name?: unknown; status?: unknown } | null;
  if (exit && typeof exit === "object" && exit.name === "ExitStatus" && typeof exit.status === "number")
    return "the program exited with status " + exit.status + " outside main, and the adapter did not answer";
  return show(thrown);
}

/** The task's data_link and its bytes, once the package has come. */
class ServedLink {
  link: string | null = null;
  bytes: Uint8Array<ArrayBuffer> | null = null;

  /** The bytes when `url` is the task's data_link; null for any other URL. */
  read(url: unknown): Uint8Array<ArrayBuffer> | null {
    return this.bytes !== null && this.link !== null && sameUrl(this.link, String(url)) ? this.bytes : null;
  }
}

/** Takes the runner's first message before the adapter can see it. */
function takePackage(served: ServedLink): void {
  self.addEventListener("message", function takePackage(event: MessageEvent<unknown>) {
    event.stopImmediatePropagation();
    self.removeEventListener("message", takePackage);
    const data = (event.data || {}) as Partial<LegacyPackage>;
    served.link = data.dataLink || null;
    served.bytes = data.dataZip ? new Uint8Array(data.dataZip) : null;
    if (data.module instanceof WebAssembly.Module && data.wasm instanceof ArrayBuffer)
      reuse(data.module, new Uint8Array(data.wasm));
  });
}

/**
 * The runner compiled this algorithm's wasm once; when the adapter compiles those very bytes again
 * (every adapter does, from buffWasm or its base64), it gets that module instead of a second compile.
 */
function reuse(module: WebAssembly.Module, wasm: Uint8Array): void {
  const same = (source: unknown) => sameBytes(source, wasm);
  const { instantiate, compile, Module } = WebAssembly;
  Object.assign(WebAssembly, {
    instantiate(...args: [unknown, WebAssembly.Imports?, ...unknown[]]): Promise<unknown> {
      if (!same(args[0])) return Reflect.apply(instantiate, WebAssembly, args);
      return instantiate.call(WebAssembly, module, args[1]).then((instance) => ({ module, instance }));
    },
    compile(...args: [unknown, ...unknown[]]): Promise<WebAssembly.Module> {
      return same(args[0]) ? Promise.resolve(module) : Reflect.apply(compile, WebAssembly, args);
    },
    Module: new Proxy(Module, {
      construct: (target, args, newTarget) => (same(args[0]) ? module : Reflect.construct(target, args, newTarget)),
    }),
  });
}

function sameBytes(source: unknown, wasm: Uint8Array): boolean {
  const bytes =
    source instanceof ArrayBuffer
      ? new Uint8Array(source)
      : ArrayBuffer.isView(source)
        ? new Uint8Array(source.buffer, source.byteOffset, source.byteLength)
        : null;
  if (bytes === null || bytes.length !== wasm.length) return false;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== wasm[i]) return false;
  return true;
}

function sameUrl(a: string, b: string): boolean {
  if (a === b) return true;
  try {
    return new URL(a).href === new URL(b).href;
  } catch {
    return false;
  }
}

function refusal(url: unknown): string {
  return "the sandbox has no network; only the task's data_link can be read, not " + url;
}

/** The bytes as a binary string; with x-user-defined, bytes 0x80-0xFF as U+F780-U+F7FF, as the browser gives them. */
function binaryString(bytes: Uint8Array, userDefined: boolean): string {
  const chunks: string[] = [];
  for (let i = 0; i < bytes.length; i += 0x8000) {
    const part = bytes.subarray(i, i + 0x8000);
    const codes = userDefined ? Uint16Array.from(part, (byte) => (byte < 0x80 ? byte : 0xf700 + byte)) : part;
    chunks.push(String.fromCharCode(...codes));
  }
  return chunks.join("");
}

/** The `fetch` an adapter gets: the task's data_link as a response; anything else fails as a network error. */
function servedFetch(served: ServedLink): typeof fetch {
  return function (input: RequestInfo | URL) {
    const url = requestUrl(input);
    const bytes = served.read(url);
    if (bytes === null) return Promise.reject(new TypeError(refusal(url)));
    return Promise.resolve(new Response(bytes.slice(), { status: 200, headers: { "content-length": String(bytes.length) } }));
  };
}

function requestUrl(input: unknown): unknown {
  if (typeof input === "string") return input;
  const url = input ? (input as { url?: unknown }).url : undefined;
  return url !== undefined ? url : String(input);
}

type RequestEventType = "readystatechange" | "progress" | "load" | "error" | "loadend";

/** The progress event a request's handlers get. */
interface RequestProgress {
  type: RequestEventType;
  target: DataLinkRequest;
  currentTarget: DataLinkRequest;
  lengthComputable: boolean;
  loaded: number;
  total: number;
}

type RequestHandler = (this: DataLinkRequest, event: RequestProgress) => unknown;

/** The XMLHttpRequest an adapter gets: `new XMLHttpRequest()` takes nothing, so the task's data comes bound. */
function requestClass(served: ServedLink, report: Report): typeof DataLinkRequest {
  class SandboxRequest extends DataLinkRequest {
    constructor() {
      super(served, report);
    }
  }
  return SandboxRequest;
}

/** An XMLHttpRequest that reads only the task's data_link, from the bytes the host fetched. */
class DataLinkRequest {
  static readonly UNSENT = 0;
  static readonly OPENED = 1;
  static readonly HEADERS_RECEIVED = 2;
  static readonly LOADING = 3;
  static readonly DONE = 4;
  readyState = 0;
  status = 0;
  statusText = "";
  responseType = "";
  response: unknown = null;
  responseText = "";
  responseURL = "";
  timeout = 0;
  withCredentials = false;
  mimeType: string | null = null;
  listeners: Partial<Record<string, RequestHandler[]>> = {};
  onreadystatechange: RequestHandler | null = null;
  onloadstart: RequestHandler | null = null;
  onprogress: RequestHandler | null = null;
  onload: RequestHandler | null = null;
  onerror: RequestHandler | null = null;
  onloadend: RequestHandler | null = null;
  onabort: RequestHandler | null = null;
  ontimeout: RequestHandler | null = null;
  /** Set by open(); a request sent unopened is synchronous and reads "undefined". */
  url: string | undefined;
  async: boolean | undefined;
  byteLength: number | undefined;
  readonly #served: ServedLink;
  readonly #report: Report;

  constructor(served: ServedLink, report: Report) {
    this.#served = served;
    this.#report = report;
  }

  open(_method: string, url: string | URL, async?: boolean): void {
    this.url = String(url);
    this.async = async !== false;
    this.readyState = 1;
  }

  overrideMimeType(mime: string): void {
    this.mimeType = String(mime);
  }

  setRequestHeader(): void {}

  getResponseHeader(name: string): string | null {
    return this.status === 200 && String(name).toLowerCase() === "content-length" ? String(this.byteLength) : null;
  }

  getAllResponseHeaders(): string {
    return this.status === 200 ? "content-length: " + this.byteLength + "\r\n" : "";
  }

  abort(): void {}

  addEventListener(type: string, listener: RequestHandler): void {
    (this.listeners[type] = this.listeners[type] || []).push(listener);
  }

  removeEventListener(type: string, listener: RequestHandler): void {
    const list = this.listeners[type] || [];
    const at = list.indexOf(listener);
    if (at >= 0) list.splice(at, 1);
  }

  dispatch(type: RequestEventType, loaded: number): void {
    const event: RequestProgress = {
      type,
      target: this,
      currentTarget: this,
      lengthComputable: loaded > 0,
      loaded,
      total: loaded,
    };
    const own = this[`on${type}`];
    const handlers = (own ? [own] : []).concat(this.listeners[type] || []);
    for (let i = 0; i < handlers.length; i++) {
      // As in a browser, an exception in a handler is reported, not thrown out of send().
      try {
        handlers[i]!.call(this, event);
      } catch (thrown) {
        this.#report({ [LEGACY_NOTE]: "failed", reason: reasonOf(thrown) });
      }
    }
  }

  send(): void {
    const bytes = this.#served.read(this.url);
    if (bytes !== null) this.respond(bytes);
    if (this.async) {
      setTimeout(() => this.finish(bytes), 0);
      return;
    }
    // A synchronous request that fails throws and fires nothing, as in a browser.
    if (bytes === null) {
      this.readyState = 4;
      throw new DOMException(refusal(this.url), "NetworkError");
    }
    this.finish(bytes);
  }

  /** The response in place, in the form `responseType` asks for. */
  private respond(bytes: Uint8Array<ArrayBuffer>): void {
    this.status = 200;
    this.statusText = "OK";
    this.responseURL = String(this.url);
    this.byteLength = bytes.length;
    const type = this.responseType;
    if (type === "arraybuffer") this.response = bytes.slice().buffer;
    else if (type === "blob") this.response = new Blob([bytes]);
    else if (type === "" || type === "text") {
      this.responseText = binaryString(bytes, /x-user-defined/i.test(this.mimeType || ""));
      this.response = this.responseText;
    }
  }

  private finish(bytes: Uint8Array | null): void {
    this.readyState = 4;
    this.dispatch("readystatechange", 0);
    if (bytes !== null) {
      this.dispatch("progress", bytes.length);
      this.dispatch("load", bytes.length);
    } else {
      this.dispatch("error", 0);
    }
    this.dispatch("loadend", bytes === null ? 0 : bytes.length);
  }
}
