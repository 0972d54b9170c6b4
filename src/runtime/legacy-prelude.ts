/**
 * Source of the script that runs before a legacy adapter in its nested worker. Plain ES5 in a string:
 * it is concatenated with the adapter into a Blob, so it must not depend on our bundle.
 *
 * It takes the first message (the data package, before the adapter's `onmessage` can see it) and
 * replaces XMLHttpRequest with one that serves only the task's data_link from those bytes; every
 * other URL fails as a network error, as it would under the sandbox's CSP anyway.
 */
export const legacyPrelude = String.raw`(function () {
  "use strict";
  var served = null;
  function takePackage(event) {
    event.stopImmediatePropagation();
    self.removeEventListener("message", takePackage);
    var data = event.data || {};
    served = { link: data.dataLink || null, bytes: data.dataZip ? new Uint8Array(data.dataZip) : null };
  }
  self.addEventListener("message", takePackage);

  function binaryString(bytes) {
    var chunks = [];
    for (var i = 0; i < bytes.length; i += 0x8000) chunks.push(String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000)));
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
    this.onreadystatechange = this.onload = this.onerror = this.onloadend = null;
  }
  SandboxRequest.UNSENT = 0; SandboxRequest.OPENED = 1; SandboxRequest.HEADERS_RECEIVED = 2;
  SandboxRequest.LOADING = 3; SandboxRequest.DONE = 4;
  SandboxRequest.prototype.open = function (method, url, async) {
    this.url = String(url);
    this.async = async !== false;
    this.readyState = 1;
  };
  SandboxRequest.prototype.overrideMimeType = function () {};
  SandboxRequest.prototype.setRequestHeader = function () {};
  SandboxRequest.prototype.getResponseHeader = function () { return null; };
  SandboxRequest.prototype.getAllResponseHeaders = function () { return ""; };
  SandboxRequest.prototype.abort = function () {};
  SandboxRequest.prototype.addEventListener = function (type, listener) { this["on" + type] = listener; };
  SandboxRequest.prototype.send = function () {
    var request = this;
    var found = served !== null && served.bytes !== null && served.link === request.url;
    if (found) {
      var bytes = served.bytes;
      request.readyState = 4;
      request.status = 200;
      request.statusText = "OK";
      request.responseURL = request.url;
      if (request.responseType === "arraybuffer") request.response = bytes.slice().buffer;
      else if (request.responseType === "blob") request.response = new Blob([bytes]);
      else request.response = request.responseText = binaryString(bytes);
    }
    var refused = "the sandbox has no network; only the task's data_link can be read, not " + request.url;
    if (!request.async) {
      if (!found) throw new DOMException(refused, "NetworkError");
      return;
    }
    setTimeout(function () {
      if (!found) request.readyState = 4;
      if (request.onreadystatechange) request.onreadystatechange();
      var handler = found ? request.onload : request.onerror;
      if (handler) handler.call(request, { type: found ? "load" : "error", target: request });
      if (request.onloadend) request.onloadend.call(request, { type: "loadend", target: request });
    }, 0);
  };
  self.XMLHttpRequest = SandboxRequest;
})();
`;
