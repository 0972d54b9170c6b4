// The TypeScript driver sends a bundle once (docs/protocol.md, "Bundles by reference"): against a
// loopback cluster (its driver join reply names its bundle store) it uploads each wasm and loader
// once and sends tasks naming them; the loopback pins them while those tasks are in the cluster and
// hands each worker references or the bytes. Real loopback, real sockets, real HTTP.
import { createHash, randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import {
  BUNDLE_REFS,
  BUNDLE_STORE,
  BUNDLE_STORE_PATH,
  ClientEvent,
  decodeResultBody,
  encodeResultBody,
  fromBase64,
  PhxEvent,
  SocketPath,
  type TaskBody,
  Topic,
  WorkerEvent,
} from "motivus-protocol";
import { storePathOf } from "../../packages/driver/src/bundle-uploads.js";
import { Client } from "../../packages/driver/src/client.js";
import { startLoopback, type LoopbackOptions, type LoopbackServer } from "../../packages/loopback/src/server.js";
import { PhoenixWorker } from "../support/phoenix-worker.js";
import { RawSocket } from "../support/raw-socket.js";
import { uuidOf } from "../support/users.js";

const KiB = 1024;
const servers: LoopbackServer[] = [];
const workers: PhoenixWorker[] = [];
afterAll(async () => {
  for (const worker of workers) worker.kill();
  await Promise.all(servers.map((s) => s.close()));
});

/** A cluster, and the text length and body of every task frame it took from a driver. */
async function cluster(options: LoopbackOptions = {}) {
  const server = await startLoopback({ port: 0, ...options });
  servers.push(server);
  const queued: { bytes: number; body: TaskBody }[] = [];
  server.scheduler.on("event", (e) => void (e.kind === "queued" && queued.push({ bytes: e.task.bytes, body: e.task.push.body })));
  return { server, queued };
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const wasmOf = (size: number) => Buffer.concat([Buffer.from("\0asm\x01\0\0\0"), randomBytes(size - 8)]);

/** A worker that joins as the original Motivus worker does (`{}`): it gets bytes inline, and echoes them. */
async function inlineWorker(server: LoopbackServer): Promise<PhoenixWorker> {
  const worker = await PhoenixWorker.start({
    origin: server.origin,
    slots: 4,
    handle: ({ body }) => ({ data: { wasm: body.wasm, loader: body.loader, refs: "wasm_ref" in body || "loader_ref" in body } }),
  });
  workers.push(worker);
  return worker;
}

function put(server: LoopbackServer, sha: string, bytes: Uint8Array, headers: Record<string, string> = {}, kind = "wasm") {
  return fetch(`${server.origin}${BUNDLE_STORE_PATH}${sha}?kind=${kind}`, {
    method: "PUT",
    body: bytes as Uint8Array<ArrayBuffer>,
    headers,
  });
}

/** A driver speaking V1 frame by frame, as the Python client does. */
async function rawDriver(server: LoopbackServer) {
  const s = await RawSocket.open(`${server.origin.replace(/^http/, "ws")}${SocketPath.client}?token=d`, null);
  const topic = Topic.client(await uuidOf(server.origin, "d"), crypto.randomUUID());
  const joined = await s.call(topic, PhxEvent.join, {}, "join");
  expect(joined.payload).toEqual({ status: "ok", response: { [BUNDLE_STORE]: BUNDLE_STORE_PATH } });
  return { s, topic };
}

const refOf = (bytes: Uint8Array) => ({ sha256: sha256(bytes), size: bytes.length, url: "ignored" });

describe("the TypeScript driver sends a bundle once", () => {
  it("uploads one program once for N tasks, whose frames carry references; an inline worker gets the program's bytes", async () => {
    const { server, queued } = await cluster();
    await inlineWorker(server);
    const wasm = wasmOf(256 * KiB);
    const loader = Buffer.from("// an Emscripten loader\n".repeat(1000));
    const client = await Client.connect({ uri: server.driverUri, token: "d", logDir: null });
    const ids = Array.from({ length: 6 }, (_, i) => client.callAsync({ wasm, loader, params: [i] }));
    const results = (await client.barrier(ids)) as { wasm: string; loader: string; refs: boolean }[];
    for (const result of results) {
      expect(Buffer.from(fromBase64(result.wasm)).equals(wasm)).toBe(true);
      expect(Buffer.from(fromBase64(result.loader)).equals(loader)).toBe(true);
      expect(result.refs).toBe(false);
    }
    expect(server.stats()).toMatchObject({ bundle_uploads: 2, done: 6, refused: 0 });
    expect(queued).toHaveLength(6);
    for (const { bytes, body } of queued) {
      expect(bytes).toBeLessThan(1 * KiB); // the program is 280 KiB
      expect(body.wasm ?? body.loader).toBeUndefined();
      expect(body.wasm_ref).toMatchObject({ sha256: sha256(wasm), size: wasm.length });
      expect(body.loader_ref).toMatchObject({ sha256: sha256(loader), size: loader.length });
    }
    await client.close();
  });

  it("a worker that takes references gets them on its own origin, and the uploaded bytes there", async () => {
    const { server } = await cluster();
    const wasm = wasmOf(32 * KiB);
    const w = await RawSocket.open(`${server.origin.replace(/^http/, "ws")}${SocketPath.worker}?token=w`, "2.0.0");
    const topic = Topic.worker(await uuidOf(server.origin, "w"), crypto.randomUUID());
    await w.call(topic, PhxEvent.join, { [BUNDLE_REFS]: 1 }, "join");
    await w.call(topic, WorkerEvent.inputRequest, { tid: "t1" }, "offer");
    const client = await Client.connect({ uri: server.driverUri, token: "d", logDir: null });
    const id = client.callAsync({ wasm, params: [1] }); // a WASI program: its empty loader stays inline
    const input = await w.next((m) => m.event === WorkerEvent.input);
    const body = input.payload.body as TaskBody;
    expect(body.wasm).toBeUndefined();
    expect(body.loader).toBe("");
    expect(body.wasm_ref).toEqual({
      sha256: sha256(wasm),
      size: wasm.length,
      url: `${BUNDLE_STORE_PATH}${sha256(wasm)}`,
    });
    const fetched = await fetch(`${server.origin}${body.wasm_ref!.url}`);
    expect(Buffer.from(await fetched.arrayBuffer()).equals(wasm)).toBe(true);
    const result = { tid: "t1", type: "response", body: encodeResultBody({ data: 7 }), stdout: null, stderr: null };
    await w.call(topic, WorkerEvent.result, result, "r");
    expect(await client.selectTask(id)).toBe(7);
    expect(server.stats().bundle_uploads).toBe(1);
    await client.close();
    w.close();
  });

  it("sends inline when the cluster does not take the upload (here: larger than its store)", async () => {
    const { server, queued } = await cluster({ maxStoredBundleBytes: 16 * KiB });
    await inlineWorker(server);
    const warnings: string[] = [];
    const client = await Client.connect({ uri: server.driverUri, logDir: null, logger: { warn: (m) => warnings.push(m) } });
    const wasm = wasmOf(32 * KiB);
    const ids = [1, 2].map((n) => client.callAsync({ wasm, params: [n] }));
    const results = (await client.barrier(ids)) as { wasm: string }[];
    expect(results.map((r) => Buffer.from(fromBase64(r.wasm)).equals(wasm))).toEqual([true, true]);
    expect(queued.map((q) => [typeof q.body.wasm, q.body.wasm_ref])).toEqual([
      ["string", undefined],
      ["string", undefined],
    ]);
    expect(warnings).toHaveLength(1); // one upload tried per file and connection
    expect(warnings[0]).toMatch(/refused the upload of a wasm \(32768 bytes.*413.*at most 16 KiB.*send it inline/);
    await client.close();
  });

  it("only a join reply naming a path on the cluster's own origin turns references on", () => {
    expect(storePathOf({})).toBeNull(); // a Waterbear cluster
    expect(storePathOf(null)).toBeNull();
    expect(storePathOf({ [BUNDLE_STORE]: BUNDLE_STORE_PATH })).toBe(BUNDLE_STORE_PATH);
    for (const elsewhere of ["http://evil.example/store/", "store/", "/a/../b/", 7]) {
      expect(storePathOf({ [BUNDLE_STORE]: elsewhere }), String(elsewhere)).toBeNull();
    }
  });
});

describe("the loopback's bundle uploads", () => {
  it("refuses at submission a task naming a file the store does not hold, with a clear error", async () => {
    const { server } = await cluster();
    const driver = await rawDriver(server);
    const missing = wasmOf(1 * KiB);
    const body = { run_type: "wasm", wasm_ref: refOf(missing), loader: "" };
    const reply = await driver.s.call(driver.topic, ClientEvent.task, { body, type: "work", ref: "a" }, "t1");
    expect(reply.payload.status).toBe("error");
    expect(reply.payload.response.reason).toMatch(
      new RegExp(`wasm_ref names a file this cluster does not hold \\(sha256 ${sha256(missing)}\\): upload it first`),
    );
    const result = await driver.s.next((m) => m.event === ClientEvent.result && m.payload.ref === "a");
    expect(decodeResultBody(result.payload.body)).toMatchObject({
      error_code: 10,
      error: expect.stringMatching(/does not hold/),
    });
    // Uploaded, it is taken; a wrong size is not.
    expect((await put(server, sha256(missing), missing)).status).toBe(201);
    const ok = await driver.s.call(driver.topic, ClientEvent.task, { body, type: "work", ref: "b" }, "t2");
    expect(ok.payload.status).toBe("ok");
    const wrong = { ...body, wasm_ref: { ...refOf(missing), size: 5 } };
    const bad = await driver.s.call(driver.topic, ClientEvent.task, { body: wrong, type: "work", ref: "c" }, "t3");
    expect(bad.payload.response.reason).toMatch(/wasm_ref says 5 bytes, but the file .* has 1024/);
    expect(server.stats()).toMatchObject({ queued: 1, refused: 2 });
    driver.s.close();
  });

  it("refuses bytes that are not what the hash says, a token that may not drive, a foreign page, a file past the limit", async () => {
    const { server } = await cluster({ token: "secret", maxStoredBundleBytes: 64 * KiB });
    const auth = { authorization: "Bearer secret" };
    const bytes = wasmOf(4 * KiB);
    const mismatch = await put(server, sha256(wasmOf(4 * KiB)), bytes, auth);
    expect(mismatch.status).toBe(400);
    expect((await mismatch.json()).error).toMatch(`the bytes' SHA-256 is ${sha256(bytes)}, not the`);
    expect((await put(server, sha256(bytes), bytes)).status).toBe(401);
    const { token: guest } = await (await fetch(`${server.origin}/auth/guest`, { method: "POST" })).json();
    expect((await put(server, sha256(bytes), bytes, { authorization: `Bearer ${guest}` })).status).toBe(403);
    const foreign = await put(server, sha256(bytes), bytes, { ...auth, origin: "http://evil.example" });
    expect(foreign.status).toBe(403);
    expect((await put(server, sha256(bytes), bytes, auth, "data")).status).toBe(400);
    const large = wasmOf(65 * KiB);
    const tooLarge = await put(server, sha256(large), large, auth);
    expect(tooLarge.status).toBe(413);
    expect((await tooLarge.json()).error).toMatch(/at most 64 KiB/);
    expect(server.stats()).toMatchObject({ bundle_uploads: 0, stored_bundles: 0 });
    expect((await put(server, sha256(bytes), bytes, auth)).status).toBe(201);
    const stored = await fetch(`${server.origin}${BUNDLE_STORE_PATH}${sha256(bytes)}`);
    expect(stored.headers.get("content-type")).toBe("application/wasm");
    expect(Buffer.from(await stored.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it("pins a file while a task names it: never evicted, and no room taken past the cap", async () => {
    const { server } = await cluster({ maxStoredBundleBytes: 32 * KiB });
    const driver = await rawDriver(server);
    const [a, b, c, d, e] = [1, 2, 3, 4, 5].map(() => wasmOf(12 * KiB));
    const upload = async (file: Buffer) => (await put(server, sha256(file), file)).status;
    const task = (file: Buffer, ref: string) =>
      driver.s.call(driver.topic, ClientEvent.task, { body: { wasm_ref: refOf(file), loader: "" }, type: "work", ref }, ref);
    const held = async (file: Buffer) => (await fetch(`${server.origin}${BUNDLE_STORE_PATH}${sha256(file)}`)).status;
    expect(await upload(a!)).toBe(201);
    expect((await task(a!, "a")).payload.status).toBe("ok");
    expect([await upload(b!), await upload(c!)]).toEqual([201, 201]); // c evicts b, not the pinned a
    expect([await held(a!), await held(b!), await held(c!)]).toEqual([200, 404, 200]);
    expect(await upload(d!)).toBe(201);
    expect((await task(d!, "d")).payload.status).toBe("ok");
    expect(await upload(e!)).toBe(507); // a and d pinned: 24 KiB of 32
    expect(server.stats().stored_bundle_bytes).toBeLessThanOrEqual(32 * KiB);
    // A worker that does not take references gets them inline; once done, they are free to go.
    await inlineWorker(server);
    for (const [file, ref] of [
      [a!, "a"],
      [d!, "d"],
    ] as const) {
      const result = await driver.s.next((m) => m.event === ClientEvent.result && m.payload.ref === ref);
      const data = decodeResultBody(result.payload.body).data as { wasm: string };
      expect(Buffer.from(fromBase64(data.wasm)).equals(file)).toBe(true);
    }
    expect(await upload(e!)).toBe(201);
    expect(server.stats().stored_bundle_bytes).toBeLessThanOrEqual(32 * KiB);
    driver.s.close();
  });
});
