// Files in binary frames (docs/protocol.md): between peers that both said so when they joined, a
// task's preload files and a result's files travel as bytes beside the JSON payload, never base64;
// the loopback passes them through, and turns them into base64 for a peer that did not ask (the
// Python client, the original Motivus worker). Real loopback, real sockets, the real TS driver.
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  AttachedField,
  BINARY_FILES,
  ClientEvent,
  decodeAttached,
  decodeResultBody,
  encodeAttached,
  encodeResultBody,
  FrameError,
  fromBase64,
  joinPieces,
  PhxEvent,
  SocketPath,
  Topic,
  WorkerEvent,
} from "motivus-protocol";
import { Client } from "../../packages/driver/src/client.js";
import type { LoopbackServer } from "../../packages/loopback/src/server.js";
import { cluster } from "../support/loopbacks.js";
import { RawSocket } from "../support/raw-socket.js";
import { uuidOf } from "../support/users.js";

const MiB = 1024 * 1024;
/** An 8-byte wasm: the loopback passes bodies on; these raw workers never run them. */
const WASM = Buffer.from("\0asm\x01\0\0\0").toString("base64");

async function rawWorker(server: LoopbackServer, join: object) {
  const s = await RawSocket.open(`${server.origin.replace(/^http/, "ws")}${SocketPath.worker}?token=w`, "2.0.0");
  const topic = Topic.worker(await uuidOf(server.origin, "w"), crypto.randomUUID());
  const reply = await s.call(topic, PhxEvent.join, join, "join");
  expect(reply.payload.status).toBe("ok");
  return { s, topic, joinReply: reply.payload.response as Record<string, unknown> };
}

async function take(worker: { s: RawSocket; topic: string }, tid: string) {
  await worker.s.call(worker.topic, WorkerEvent.inputRequest, { tid }, `offer-${tid}`);
  return worker.s.next((m) => m.event === WorkerEvent.input && m.payload.tid === tid);
}

/** Megabytes compared as bytes (vitest's deep equality takes seconds on them). */
const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);

const driver = (server: LoopbackServer) => Client.connect({ uri: server.driverUri, logDir: null });

describe("the attachment codec", () => {
  it("round-trips a payload and its files, and refuses a frame whose header does not describe it", () => {
    const a = randomBytes(1000);
    const files = { [AttachedField.preload]: { "/in/a": a, "/in/empty": new Uint8Array(0) } };
    const bytes = joinPieces(encodeAttached({ tid: "t", body: { preload_files: { "/in/a": "", "/in/empty": "" } } }, files));
    const decoded = decodeAttached(bytes);
    expect(decoded.payload).toEqual({ tid: "t", body: { preload_files: { "/in/a": "", "/in/empty": "" } } });
    expect(sameBytes(decoded.files[AttachedField.preload]!["/in/a"]!, a)).toBe(true);
    expect(decoded.files[AttachedField.preload]!["/in/empty"]!.byteLength).toBe(0);

    expect(() => decodeAttached(bytes.subarray(0, bytes.length - 1))).toThrow(/runs past the frame/);
    expect(() => decodeAttached(joinPieces([bytes, new Uint8Array(1)]))).toThrow(/bytes its header does not list/);
    expect(() => decodeAttached(new Uint8Array([0, 0, 0, 9, 1]))).toThrow(FrameError);
    const notJson = joinPieces([new Uint8Array([0, 0, 0, 2]), new TextEncoder().encode("{x")]);
    expect(() => decodeAttached(notJson)).toThrow(/not JSON/);
  });
});

describe("files in binary frames through the loopback", () => {
  it("the TS driver's preload files reach a worker that asked as bytes, and one that did not as base64", async () => {
    const server = await cluster();
    const binary = await rawWorker(server, { [BINARY_FILES]: 1 });
    const plain = await rawWorker(server, {});
    expect(binary.joinReply[BINARY_FILES]).toBe(1);
    expect(plain.joinReply[BINARY_FILES]).toBeUndefined();
    const client = await driver(server);
    try {
      const big = randomBytes(3 * MiB);
      const task = { wasm: WASM, loader: "", preload_files: { "/input/big.bin": big, "/input/note.txt": "hello" } };
      const [first, second] = [client.callAsync(task), client.callAsync(task)];
      const toBinary = await take(binary, "b1");
      expect(toBinary.files).toBeDefined();
      const attached = toBinary.files![AttachedField.preload]!;
      expect(sameBytes(attached["/input/big.bin"]!, big)).toBe(true);
      expect(Buffer.from(attached["/input/note.txt"]!).toString()).toBe("hello");
      expect(toBinary.payload.body.preload_files).toEqual({ "/input/big.bin": "", "/input/note.txt": "" });

      const toPlain = await take(plain, "p1");
      expect(toPlain.files).toBeUndefined();
      expect(sameBytes(fromBase64(toPlain.payload.body.preload_files["/input/big.bin"]), big)).toBe(true);
      expect(Buffer.from(fromBase64(toPlain.payload.body.preload_files["/input/note.txt"])).toString()).toBe("hello");

      const body = encodeResultBody({ data: "ok" });
      for (const [w, tid] of [
        [binary, "b1"],
        [plain, "p1"],
      ] as const)
        w.s.send(w.topic, WorkerEvent.result, { tid, type: "response", body, stdout: null, stderr: null }, `r-${tid}`);
      expect(await client.barrier([first, second])).toEqual(["ok", "ok"]);
    } finally {
      await client.close();
    }
  });

  it("a worker's result files as bytes reach the TS driver as bytes, and a driver that did not ask in its body", async () => {
    const server = await cluster();
    const worker = await rawWorker(server, { [BINARY_FILES]: 1 });
    const out = await mkdtemp(join(tmpdir(), "binary-files-"));
    const client = await driver(server);
    const python = await RawSocket.open(`${server.origin.replace(/^http/, "ws")}${SocketPath.client}?token=d`, null);
    try {
      const file = randomBytes(2 * MiB);
      const id = client.callAsync({ wasm: WASM, loader: "", result_files: { "/output/r.bin": join(out, "r.bin") } });
      await take(worker, "t1");
      const result = { tid: "t1", type: "response", body: encodeResultBody({ data: 7 }), stdout: null, stderr: null };
      worker.s.sendBinary(worker.topic, WorkerEvent.result, result, { [AttachedField.result]: { "/output/r.bin": file } }, "r1");
      expect((await worker.s.reply("r1")).payload).toEqual({ status: "ok", response: { delivered: true } });
      expect(await client.selectTask(id)).toBe(7);
      expect(sameBytes(await readFile(join(out, "r.bin")), file)).toBe(true);

      // A driver joined as the Python client does (V1, `{}`): the files come inside the body, as base64.
      const topic = Topic.client(await uuidOf(server.origin, "d"), crypto.randomUUID());
      expect((await python.call(topic, PhxEvent.join, {}, "join")).payload.response).toEqual({
        bundle_store: expect.any(String),
      });
      await python.call(topic, ClientEvent.task, { body: { wasm: WASM, loader: "" }, type: "work", ref: "py" }, "t");
      await take(worker, "t2");
      worker.s.sendBinary(
        worker.topic,
        WorkerEvent.result,
        { ...result, tid: "t2" },
        { [AttachedField.result]: { "/output/r.bin": file } },
        "r2",
      );
      const answer = await python.next((m) => m.event === ClientEvent.result && m.payload.ref === "py");
      const content = decodeResultBody(answer.payload.body);
      expect(content.data).toBe(7);
      expect(sameBytes(fromBase64(content["/output/r.bin"] as string), file)).toBe(true);
    } finally {
      python.close();
      await client.close();
    }
  });

  it("a binary frame whose files do not add up is answered with an error, and the cluster goes on", async () => {
    const server = await cluster();
    const worker = await rawWorker(server, { [BINARY_FILES]: 1 });
    const bytes = joinPieces(encodeAttached({ tid: "x" }, { [AttachedField.result]: { "/o": new Uint8Array(10) } }));
    const text = new TextEncoder();
    const parts = ["join", "bad", worker.topic, WorkerEvent.result].map((s) => text.encode(s));
    worker.s.sendRaw(
      joinPieces([new Uint8Array([0, ...parts.map((p) => p.length)]), ...parts, bytes.subarray(0, bytes.length - 3)]),
    );
    const reply = await worker.s.reply("bad");
    expect(reply.payload.status).toBe("error");
    expect(reply.payload.response.reason).toMatch(/unreadable result: .*runs past the frame/);
    // Still serving: an offer is taken.
    expect((await worker.s.call(worker.topic, WorkerEvent.inputRequest, { tid: "y" }, "o")).payload.status).toBe("ok");
  });
});
