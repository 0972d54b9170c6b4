// Bundles by reference (docs/protocol.md): the loopback keeps each wasm and loader a driver sends once,
// by SHA-256, and a worker that asked for it when it joined gets references in place of the bytes; any
// other worker gets them inline, as before. Real loopback, real sockets, real HTTP.
import { createHash, randomBytes } from "node:crypto";
import { request } from "node:http";
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { LoopbackServer } from "../../packages/loopback/src/server.js";
import {
  BUNDLE_REFS,
  BUNDLE_STORE_PATH,
  ClientEvent,
  encodeResultBody,
  PhxEvent,
  SocketPath,
  Topic,
  WorkerEvent,
} from "motivus-protocol";
import { RawSocket, type Msg } from "../support/raw-socket.js";
import { uuidOf } from "../support/users.js";
import { cluster } from "../support/loopbacks.js";

const KiB = 1024;

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
/** A wasm-looking file of `size` bytes, different each call. */
const wasmOf = (size: number) => Buffer.concat([Buffer.from("\0asm\x01\0\0\0"), randomBytes(size - 8)]);
/** A reference's url: a path, resolved by the worker on the origin it reached the cluster by. */
const storeUrl = (bytes: Buffer) => `${BUNDLE_STORE_PATH}${sha256(bytes)}`;

/** A driver speaking V1 frame by frame, as the Python client does. */
async function rawDriver(server: LoopbackServer): Promise<{ s: RawSocket; topic: string }> {
  const s = await RawSocket.open(`${server.origin.replace(/^http/, "ws")}${SocketPath.client}?token=d`, null);
  const topic = Topic.client(await uuidOf(server.origin, "d"), crypto.randomUUID());
  expect((await s.call(topic, PhxEvent.join, {}, "join")).payload.status).toBe("ok");
  return { s, topic };
}

let refs = 0;
/** Sends a task and waits until the cluster took it (so its files are in the store). */
async function send(driver: { s: RawSocket; topic: string }, body: Record<string, unknown>, ref: string): Promise<void> {
  const reply = await driver.s.call(driver.topic, ClientEvent.task, { body, type: "work", ref }, `t${refs++}`);
  expect(reply.payload.status).toBe("ok");
}

/**
 * A worker joined with `payload` (V2 frames, as the browser worker speaks), on a socket whose Host
 * header is `host` (the name the worker reached the cluster by; default the server's own).
 */
async function rawWorker(server: LoopbackServer, payload: object, host?: string): Promise<{ s: RawSocket; topic: string }> {
  const url = `${server.origin.replace(/^http/, "ws")}${SocketPath.worker}?token=w`;
  const s = host ? await socketWithHost(url, host) : await RawSocket.open(url, "2.0.0");
  const topic = Topic.worker(await uuidOf(server.origin, "w"), crypto.randomUUID());
  expect((await s.call(topic, PhxEvent.join, payload, "join")).payload.status).toBe("ok");
  return { s, topic };
}

/** RawSocket builds its own WebSocket; this one sends a chosen Host header. */
async function socketWithHost(url: string, host: string): Promise<RawSocket> {
  const ws = new WebSocket(`${url}&vsn=2.0.0`, { headers: { host } });
  await new Promise((ok, fail) => (ws.once("open", ok), ws.once("error", fail)));
  const Raw = RawSocket as unknown as new (ws: WebSocket, vsn: string) => RawSocket;
  return new Raw(ws, "2.0.0");
}

/** Offers one slot and resolves with the task that comes to it. */
async function take(worker: { s: RawSocket; topic: string }, tid: string): Promise<Msg> {
  await worker.s.call(worker.topic, WorkerEvent.inputRequest, { tid }, `offer-${tid}`);
  return worker.s.next((m) => m.event === WorkerEvent.input && m.payload.tid === tid);
}

/** Answers a task and waits until its driver has the result. */
async function finish(worker: { s: RawSocket; topic: string }, tid: string, driver: { s: RawSocket }, ref: string) {
  const body = encodeResultBody({ data: 0 });
  await worker.s.call(worker.topic, WorkerEvent.result, { tid, type: "response", body, stdout: null, stderr: null }, `r-${tid}`);
  await driver.s.next((m) => m.event === ClientEvent.result && m.payload.ref === ref);
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** An HTTP request with exactly these headers (fetch would not send `Origin`). */
function get(url: string, headers: Record<string, string> = {}, method = "GET"): Promise<Answer> {
  return new Promise((ok, fail) => {
    const req = request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => ok({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", fail);
    req.end();
  });
}

describe("a worker that joins with bundle_refs", () => {
  it("gets references in place of the bytes, and each URL serves exactly those bytes, cached for good", async () => {
    const server = await cluster();
    const driver = await rawDriver(server);
    const wasm = wasmOf(50 * KiB);
    const loader = Buffer.from("var Module = typeof Module != 'undefined' ? Module : {};\n");
    await send(driver, { wasm: wasm.toString("base64"), loader: loader.toString("base64"), params: [1] }, "a");
    const worker = await rawWorker(server, { [BUNDLE_REFS]: 1 });
    const { body } = (await take(worker, "slot-1")).payload;
    expect(body).not.toHaveProperty("wasm");
    expect(body).not.toHaveProperty("loader");
    expect(body.params).toEqual([1]);
    expect(body.wasm_ref).toEqual({ sha256: sha256(wasm), size: wasm.length, url: storeUrl(wasm) });
    expect(body.loader_ref).toEqual({ sha256: sha256(loader), size: loader.length, url: storeUrl(loader) });

    for (const [file, type] of [
      [wasm, "application/wasm"],
      [loader, "text/javascript; charset=utf-8"],
    ] as const) {
      const ref = file === wasm ? body.wasm_ref : body.loader_ref;
      const got = await get(`${server.origin}${ref.url}`);
      expect(got.status).toBe(200);
      expect(sha256(got.body)).toBe(ref.sha256);
      expect(got.body.equals(file)).toBe(true);
      expect(got.headers).toMatchObject({
        etag: `"${ref.sha256}"`,
        "cache-control": "public, max-age=31536000, immutable",
        "content-type": type,
        "content-length": String(file.length),
        "x-content-type-options": "nosniff",
        "content-security-policy": "default-src 'none'; sandbox",
      });
      const head = await get(`${server.origin}${ref.url}`, {}, "HEAD");
      expect([head.status, head.headers["content-length"], head.body.length]).toEqual([200, String(file.length), 0]);
      for (const tag of [`"${ref.sha256}"`, `W/"${ref.sha256}"`, `"other", "${ref.sha256}"`, "*"]) {
        const cached = await get(`${server.origin}${ref.url}`, { "if-none-match": tag });
        expect([tag, cached.status, cached.body.length, cached.headers.etag]).toEqual([tag, 304, 0, `"${ref.sha256}"`]);
      }
      expect((await get(`${server.origin}${ref.url}`, { "if-none-match": '"other"' })).status).toBe(200);
    }
    const counts = { stored_bundles: 2, stored_bundle_bytes: wasm.length + loader.length };
    expect(server.stats()).toMatchObject(counts);
    expect(JSON.parse((await get(`${server.origin}/api/loopback/stats`)).body.toString())).toMatchObject(counts);
    await finish(worker, "slot-1", driver, "a");
    // The worker's stats event carries the same counts.
    const stats = await worker.s.next((m) => m.event === WorkerEvent.stats);
    expect(stats.payload.body).toMatchObject(counts);
    worker.s.close();
    driver.s.close();
  });

  it("keeps an empty loader (a WASI program) inline, and each distinct file once", async () => {
    const server = await cluster();
    const driver = await rawDriver(server);
    const wasm = wasmOf(8 * KiB).toString("base64");
    // The same text in three frames: three strings, one file.
    for (const ref of ["a", "b", "c"]) await send(driver, { wasm, loader: "" }, ref);
    expect(server.stats()).toMatchObject({ stored_bundles: 1, stored_bundle_bytes: 8 * KiB });
    const worker = await rawWorker(server, { [BUNDLE_REFS]: true });
    for (const tid of ["1", "2", "3"]) {
      const { body } = (await take(worker, tid)).payload;
      expect(body.loader).toBe("");
      expect(body).not.toHaveProperty("loader_ref");
      expect(body.wasm_ref.sha256).toBe(sha256(Buffer.from(wasm, "base64")));
    }
    worker.s.close();
    driver.s.close();
  });

  it("gets its references as paths, whatever name it reached the cluster by: it resolves them on that origin", async () => {
    const server = await cluster();
    const driver = await rawDriver(server);
    const wasm = wasmOf(4 * KiB);
    await send(driver, { wasm: wasm.toString("base64"), loader: "" }, "a");
    await send(driver, { wasm: wasm.toString("base64"), loader: "" }, "b");
    const byName = await rawWorker(server, { [BUNDLE_REFS]: 1 }, `localhost:${server.port}`);
    expect((await take(byName, "1")).payload.body.wasm_ref.url).toBe(storeUrl(wasm));
    const elsewhere = await rawWorker(server, { [BUNDLE_REFS]: 1 }, "rebound.example:80");
    expect((await take(elsewhere, "2")).payload.body.wasm_ref.url).toBe(storeUrl(wasm));
    byName.s.close();
    elsewhere.s.close();
    driver.s.close();
  });
});

describe("a worker that does not ask", () => {
  it("gets the body exactly as the driver sent it (the raw V1 worker), also a task a referencing worker lost", async () => {
    const server = await cluster();
    const driver = await rawDriver(server);
    const sent = { wasm: wasmOf(4 * KiB).toString("base64"), loader: Buffer.from("x").toString("base64"), params: ["p"] };
    await send(driver, sent, "a");
    const referencing = await rawWorker(server, { [BUNDLE_REFS]: 1 });
    expect((await take(referencing, "1")).payload.body).toHaveProperty("wasm_ref");
    referencing.s.close(); // the task goes back in line
    const url = `${server.origin.replace(/^http/, "ws")}${SocketPath.worker}?token=w`;
    const inline = await RawSocket.open(url, null);
    const topic = Topic.worker(await uuidOf(server.origin, "w"), crypto.randomUUID());
    await inline.call(topic, PhxEvent.join, {}, "join");
    const input = await take({ s: inline, topic }, "2");
    expect(input.payload.body).toEqual(sent);
    inline.close();
    driver.s.close();
  });
});

describe("the store's byte cap", () => {
  const cap = 32 * KiB;
  const file = 10 * KiB; // three fit
  const underCap = (server: LoopbackServer) => expect(server.stats().stored_bundle_bytes).toBeLessThanOrEqual(cap);

  it("holds, least recently used out first; a file nobody holds any more is gone once evicted", async () => {
    const server = await cluster({ maxStoredBundleBytes: cap });
    const driver = await rawDriver(server);
    const worker = await rawWorker(server, { [BUNDLE_REFS]: 1 });
    const [a, b, c, d] = [wasmOf(file), wasmOf(file), wasmOf(file), wasmOf(file)];
    const run = async (bytes: Buffer, name: string) => {
      await send(driver, { wasm: bytes.toString("base64"), loader: "" }, name);
      await take(worker, name);
      await finish(worker, name, driver, name);
      underCap(server);
    };
    for (const [bytes, name] of [
      [a, "a"],
      [b, "b"],
      [c, "c"],
    ] as const)
      await run(bytes, name);
    expect(server.stats()).toMatchObject({ stored_bundles: 3, stored_bundle_bytes: 3 * file });
    expect((await get(`${server.origin}${storeUrl(a)}`)).status).toBe(200); // a is the most recently used now: b goes first
    await run(d, "d");
    expect(server.stats()).toMatchObject({ stored_bundles: 3, stored_bundle_bytes: 3 * file });
    const status = async (bytes: Buffer) => (await get(`${server.origin}${storeUrl(bytes)}`)).status;
    expect([await status(a), await status(b), await status(c), await status(d)]).toEqual([200, 404, 200, 200]);
    worker.s.close();
    driver.s.close();
  });

  it("a queued task whose file was evicted still gets a reference that serves it, and a file over the cap is served too", async () => {
    const server = await cluster({ maxStoredBundleBytes: cap });
    const driver = await rawDriver(server);
    const files = [wasmOf(file), wasmOf(file), wasmOf(file), wasmOf(file), wasmOf(file)];
    for (const [i, bytes] of files.entries()) {
      await send(driver, { wasm: bytes.toString("base64"), loader: "" }, `q${i}`);
      underCap(server);
    }
    const huge = wasmOf(cap + KiB);
    await send(driver, { wasm: huge.toString("base64"), loader: "" }, "huge");
    expect(server.stats()).toMatchObject({ stored_bundles: 3, stored_bundle_bytes: 3 * file });
    const worker = await rawWorker(server, { [BUNDLE_REFS]: 1 });
    for (const [i, bytes] of [...files, huge].entries()) {
      const ref = (await take(worker, `s${i}`)).payload.body.wasm_ref;
      expect(ref).toEqual({ sha256: sha256(bytes), size: bytes.length, url: storeUrl(bytes) });
      const got = await get(`${server.origin}${ref.url}`);
      expect([got.status, sha256(got.body)]).toEqual([200, ref.sha256]);
      underCap(server);
    }
    // The first file was evicted while it waited, and stored again when its worker fetched it.
    expect(server.stats().stored_bundles).toBe(3);
    worker.s.close();
    driver.s.close();
  });
});

describe("the store's path", () => {
  it("refuses pages of other origins, as the rest of /api/, and gives an allowed page CORS", async () => {
    const server = await cluster({ allowOrigins: ["http://localhost:5173"] });
    const driver = await rawDriver(server);
    const wasm = wasmOf(4 * KiB);
    await send(driver, { wasm: wasm.toString("base64"), loader: "" }, "a");
    const url = `${server.origin}${storeUrl(wasm)}`;
    const foreign = await get(url, { origin: "http://evil.localhost:8080" });
    expect(foreign.status).toBe(403);
    expect(foreign.body.equals(wasm)).toBe(false);
    for (const page of [`http://127.0.0.1:${server.port}`, "http://localhost:5173"]) {
      const allowed = await get(url, { origin: page });
      expect([allowed.status, allowed.headers["access-control-allow-origin"]]).toEqual([200, page]);
      expect(allowed.body.equals(wasm)).toBe(true);
    }
    driver.s.close();
  });

  it("answers 404 for an unknown or malformed hash", async () => {
    const server = await cluster();
    const driver = await rawDriver(server);
    const wasm = wasmOf(4 * KiB);
    await send(driver, { wasm: wasm.toString("base64"), loader: "" }, "a");
    const sha = sha256(wasm);
    for (const path of [sha256(randomBytes(8)), sha.toUpperCase(), sha.slice(1), `${sha}/x`, `${sha}0`, ""]) {
      for (const method of ["GET", "HEAD"]) {
        expect([path, method, (await get(`${server.origin}${BUNDLE_STORE_PATH}${path}`, {}, method)).status]).toEqual([
          path,
          method,
          404,
        ]);
      }
    }
    expect((await get(`${server.origin}${BUNDLE_STORE_PATH}${sha}`)).status).toBe(200);
    driver.s.close();
  });
});
