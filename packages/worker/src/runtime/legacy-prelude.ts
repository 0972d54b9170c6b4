/**
 * Source of the script that runs before a legacy adapter in its nested worker. Plain ES5 in a string:
 * it is concatenated with the adapter into a Blob, so it must not depend on our bundle.
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
 */

/** The key that marks the prelude's own messages on the adapter's channel. */
export const LEGACY_NOTE = "__motivusLegacyNote";

/** Longest rendering of one console argument that is not a string (adapters log whole wasm buffers). */
const SHOWN = 2000;

export const legacyPrelude = String.raw`(function () {
  "use strict";
  var NOTE = ${JSON.stringify(LEGACY_NOTE)};
  var post = self.postMessage.bind(self);
  function note(kind, fields) {
    var message = {};
    message[NOTE] = kind;
    for (var key in fields) message[key] = fields[key];
    try { post(message); } catch (_) {}
  }

  function show(value) {
    if (typeof value === "string") return value;
    if (value instanceof Error) return (value.name || "Error") + ": " + value.message;
    if (value instanceof ArrayBuffer) return "ArrayBuffer(" + value.byteLength + ")";
    if (ArrayBuffer.isView(value)) return (value.constructor && value.constructor.name || "View") + "(" + (value.length !== undefined ? value.length : value.byteLength) + ")";
    var text;
    try { text = typeof value === "object" && value !== null ? JSON.stringify(value) : String(value); } catch (_) { text = undefined; }
    if (text === undefined) text = String(value);
    return text.length > ${SHOWN} ? text.slice(0, ${SHOWN}) + "..." : text;
  }

  // console -> the task's stdout (log, info, debug) and stderr (warn, error), like the runtime's own console.
  ["log", "info", "debug", "warn", "error"].forEach(function (method) {
    var stream = method === "warn" || method === "error" ? "err" : "out";
    console[method] = function () {
      var parts = [];
      for (var i = 0; i < arguments.length; i++) parts.push(show(arguments[i]));
      note("console", { stream: stream, text: parts.join(" ") + "\n" });
    };
  });

  function reason(thrown) {
    if (thrown && typeof thrown === "object" && thrown.name === "ExitStatus" && typeof thrown.status === "number") {
      return "the program exited with status " + thrown.status + " outside main, and the adapter did not answer";
    }
    return show(thrown);
  }
  self.addEventListener("error", function (event) {
    event.preventDefault();
    note("failed", { reason: event.error !== undefined && event.error !== null ? reason(event.error) : String(event.message || "uncaught error") });
  });
  self.addEventListener("unhandledrejection", function (event) {
    event.preventDefault();
    note("failed", { reason: reason(event.reason) });
  });

  var served = null;
  function takePackage(event) {
    event.stopImmediatePropagation();
    self.removeEventListener("message", takePackage);
    var data = event.data || {};
    served = { link: data.dataLink || null, bytes: data.dataZip ? new Uint8Array(data.dataZip) : null };
    if (data.module instanceof WebAssembly.Module && data.wasm instanceof ArrayBuffer) reuse(data.module, new Uint8Array(data.wasm));
  }
  self.addEventListener("message", takePackage);

  // The runner compiled this algorithm's wasm once; when the adapter compiles those very bytes again
  // (every adapter does, from buffWasm or its base64), it gets that module instead of a second compile.
  function reuse(module, wasm) {
    function same(source) {
      var bytes = source instanceof ArrayBuffer ? new Uint8Array(source) : ArrayBuffer.isView(source) ? new Uint8Array(source.buffer, source.byteOffset, source.byteLength) : null;
      if (bytes === null || bytes.length !== wasm.length) return false;
      for (var i = 0; i < bytes.length; i++) if (bytes[i] !== wasm[i]) return false;
      return true;
    }
    var instantiate = WebAssembly.instantiate, compile = WebAssembly.compile, Module = WebAssembly.Module;
    WebAssembly.instantiate = function (source, imports) {
      if (!same(source)) return instantiate.apply(WebAssembly, arguments);
      return instantiate.call(WebAssembly, module, imports).then(function (instance) { return { module: module, instance: instance }; });
    };
    WebAssembly.compile = function (source) {
      return same(source) ? Promise.resolve(module) : compile.apply(WebAssembly, arguments);
    };
    WebAssembly.Module = new Proxy(Module, {
      construct: function (target, args, newTarget) { return same(args[0]) ? module : Reflect.construct(target, args, newTarget); },
    });
  }

  function sameUrl(a, b) {
    if (a === b) return true;
    try { return new URL(a).href === new URL(b).href; } catch (_) { return false; }
  }
  function lookup(url) {
    return served !== null && served.bytes !== null && served.link !== null && sameUrl(served.link, String(url)) ? served.bytes : null;
  }
  function refusal(url) {
    return "the sandbox has no network; only the task's data_link can be read, not " + url;
  }

  function binaryString(bytes, userDefined) {
    var chunks = [];
    for (var i = 0; i < bytes.length; i += 0x8000) {
      var part = bytes.subarray(i, i + 0x8000);
      if (userDefined) {
        var codes = new Uint16Array(part.length);
        for (var j = 0; j < part.length; j++) codes[j] = part[j] < 0x80 ? part[j] : 0xf700 + part[j];
        part = codes;
      }
      chunks.push(String.fromCharCode.apply(null, part));
    }
    return chunks.join("");
  }

  function SandboxRequest() {
    this.readyState = 0;
    this.status = 0;
    this.statusText = "";
    this.responseType = "";
    this.response = null;
    this.responseText = "";
    this.responseURL = "";
    this.timeout = 0;
    this.withCredentials = false;
    this.mimeType = null;
    this.listeners = {};
    this.onreadystatechange = this.onloadstart = this.onprogress = this.onload = this.onerror = this.onloadend = this.onabort = this.ontimeout = null;
  }
  SandboxRequest.UNSENT = 0; SandboxRequest.OPENED = 1; SandboxRequest.HEADERS_RECEIVED = 2;
  SandboxRequest.LOADING = 3; SandboxRequest.DONE = 4;
  SandboxRequest.prototype.open = function (method, url, async) {
    this.url = String(url);
    this.async = async !== false;
    this.readyState = 1;
  };
  SandboxRequest.prototype.overrideMimeType = function (mime) { this.mimeType = String(mime); };
  SandboxRequest.prototype.setRequestHeader = function () {};
  SandboxRequest.prototype.getResponseHeader = function (name) {
    return this.status === 200 && String(name).toLowerCase() === "content-length" ? String(this.byteLength) : null;
  };
  SandboxRequest.prototype.getAllResponseHeaders = function () { return this.status === 200 ? "content-length: " + this.byteLength + "\r\n" : ""; };
  SandboxRequest.prototype.abort = function () {};
  SandboxRequest.prototype.addEventListener = function (type, listener) { (this.listeners[type] = this.listeners[type] || []).push(listener); };
  SandboxRequest.prototype.removeEventListener = function (type, listener) {
    var list = this.listeners[type] || [];
    var at = list.indexOf(listener);
    if (at >= 0) list.splice(at, 1);
  };
  SandboxRequest.prototype.dispatch = function (type, loaded) {
    var event = { type: type, target: this, currentTarget: this, lengthComputable: loaded > 0, loaded: loaded, total: loaded };
    var handlers = (this["on" + type] ? [this["on" + type]] : []).concat(this.listeners[type] || []);
    for (var i = 0; i < handlers.length; i++) {
      // As in a browser, an exception in a handler is reported, not thrown out of send().
      try { handlers[i].call(this, event); } catch (thrown) { note("failed", { reason: reason(thrown) }); }
    }
  };
  SandboxRequest.prototype.send = function () {
    var request = this;
    var bytes = lookup(request.url);
    if (bytes !== null) {
      request.status = 200;
      request.statusText = "OK";
      request.responseURL = request.url;
      request.byteLength = bytes.length;
      var type = request.responseType;
      if (type === "arraybuffer") request.response = bytes.slice().buffer;
      else if (type === "blob") request.response = new Blob([bytes]);
      else if (type === "" || type === "text") {
        request.responseText = binaryString(bytes, /x-user-defined/i.test(request.mimeType || ""));
        request.response = request.responseText;
      }
    }
    function finish() {
      request.readyState = 4;
      request.dispatch("readystatechange", 0);
      if (bytes !== null) {
        request.dispatch("progress", bytes.length);
        request.dispatch("load", bytes.length);
      } else {
        request.dispatch("error", 0);
      }
      request.dispatch("loadend", bytes === null ? 0 : bytes.length);
    }
    if (!request.async) {
      // A synchronous request that fails throws and fires nothing, as in a browser.
      if (bytes === null) {
        request.readyState = 4;
        throw new DOMException(refusal(request.url), "NetworkError");
      }
      finish();
      return;
    }
    setTimeout(finish, 0);
  };
  self.XMLHttpRequest = SandboxRequest;

  if (typeof self.fetch === "function") {
    self.fetch = function (input) {
      var url = typeof input === "string" ? input : input && input.url !== undefined ? input.url : String(input);
      var bytes = lookup(url);
      if (bytes === null) return Promise.reject(new TypeError(refusal(url)));
      return Promise.resolve(new Response(bytes.slice(), { status: 200, headers: { "content-length": String(bytes.length) } }));
    };
  }
})();
`;
