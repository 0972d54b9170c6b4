// Attacks on the loopback cluster and the TypeScript driver, each performed against the real
// server over real sockets (raw TCP where the attack needs bytes no client library would send).
// Each `it` is named after its attack; each failed on the code before its fix.
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { readdirSync } from "node:fs";
import { request } from "node:http";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import { createGzip, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { Client, TaskError } from "../../packages/driver/src/client.js";
import { start as startCli } from "../../packages/loopback/src/cli.js";
import { startLoopback, type LoopbackServer } from "../../packages/loopback/src/server.js";
import { decodeResultBody, encodeResultBody, toBase64 } from "motivus-protocol";
import { ClientEvent, HttpPath, PHOENIX_TOPIC, PhxEvent, SocketPath, Topic, WorkerEvent } from "motivus-protocol";
import { ErrorCode } from "motivus-protocol";
import { encodeFrame } from "motivus-protocol";
import { PhoenixWorker } from "../support/phoenix-worker.js";
import { RawSocket, type Msg } from "../support/raw-socket.js";
import { until } from "../support/until.js";
import { uuidOf } from "../support/users.js";
import { cluster } from "../support/loopbacks.js";

// An exception that escapes the server (the defects here) would otherwise only show as vitest's
// "unhandled error"; each attack also asserts none happened.
const escaped: unknown[] = [];
const record = (err: unknown) => void escaped.push(err);
beforeAll(() => {
  process.on("uncaughtException", record);
  process.on("unhandledRejection", record);
});
afterAll(() => {
  process.off("uncaughtException", record);
  process.off("unhandledRejection", record);
});

const wsBase = (server: LoopbackServer) => server.origin.replace(/^http/, "ws");
const body = (params: unknown[]) => ({ wasm: "AA==", loader: "AA==", params });

/** Sends `text` on a fresh TCP connection; resolves with everything received until it closes (or `timeoutMs`). */
function rawTcp(port: number, text: string, timeoutMs = 3000): Promise<string> {
  return new Promise((ok) => {
    const socket = connect(port, "127.0.0.1");
    let received = "";
    const timer = setTimeout(() => (socket.destroy(), ok(received)), timeoutMs);
    socket.on("data", (chunk) => (received += chunk.toString("latin1")));
    socket.on("close", () => (clearTimeout(timer), ok(received)));
    socket.on("error", () => {});
    socket.write(text);
  });
}
const statusOf = (response: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);
const upgradeRequest = (target: string) =>
  `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`;

/** The server still answers HTTP. */
async function alive(server: LoopbackServer): Promise<void> {
  const res = await fetch(`${server.origin}/api/loopback/stats`);
  expect(res.status).toBe(200);
}

/** A WebSocket, opened with an `Origin` header when given; rejects with the refusal's status. */
function openWs(url: string, origin?: string): Promise<WebSocket> {
  const ws = new WebSocket(url, origin ? { origin } : {});
  return new Promise((ok, fail) => {
    ws.once("open", () => ok(ws));
    ws.once("unexpected-response", (_req, res) => fail(new Error(`refused with ${res.statusCode}`)));
    ws.once("error", fail);
  });
}

/** A driver speaking V1 frame by frame, as the Python client does. */
async function rawDriver(server: LoopbackServer, token = "d"): Promise<{ s: RawSocket; topic: string }> {
  const s = await RawSocket.open(`${wsBase(server)}${SocketPath.client}?token=${encodeURIComponent(token)}`, null);
  const uuid = (await s.call(Topic.clientLobby, PhxEvent.join, {}, "uuid")).payload.response.uuid;
  await s.call(Topic.clientLobby, PhxEvent.leave, {}, "leave");
  const topic = Topic.client(uuid, crypto.randomUUID());
  await s.call(topic, PhxEvent.join, {}, "join");
  return { s, topic };
}

/** A worker frame by frame (V1), joined to `topic` (default: a fresh one of the token's user). */
async function rawWorker(server: LoopbackServer, token = "w", topic?: string): Promise<{ s: RawSocket; topic: string }> {
  const s = await RawSocket.open(`${wsBase(server)}${SocketPath.worker}?token=${encodeURIComponent(token)}`, "1.0.0");
  const joined = topic ?? Topic.worker(await uuidOf(server.origin, token), crypto.randomUUID());
  expect((await s.call(joined, PhxEvent.join, {}, "join")).payload.status).toBe("ok");
  return { s, topic: joined };
}

const resultFor = (s: RawSocket, ref: string, timeoutMs = 10_000) =>
  s.next((m) => m.event === ClientEvent.result && m.payload.ref === ref, timeoutMs);

/** An HTTP request with exactly these headers (fetch would not send `Origin`). */
function get(
  url: string,
  headers: Record<string, string>,
  method = "GET",
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((ok, fail) => {
    const req = request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => ok({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", fail);
    req.end();
  });
}

describe("1. a request-target that is no URL", () => {
  it("GET http://[/socket/websocket with Upgrade, and the same without it, get 400 and the loopback lives", async () => {
    const server = await cluster();
    expect(statusOf(await rawTcp(server.port, upgradeRequest("http://[/socket/websocket")))).toBe(400);
    expect(
      statusOf(
        await rawTcp(server.port, "GET http://[/api/loopback/stats HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"),
      ),
    ).toBe(400);
    await alive(server);
    expect(escaped).toEqual([]);
  });
});

describe("2. a refused upgrade whose client resets the connection", () => {
  it("a client that gives up on a wrong token with a TCP reset does not take the loopback down", async () => {
    const lines: string[] = [];
    const server = await cluster({ token: "right", log: (l) => lines.push(l) });
    for (let i = 0; i < 5; i++) {
      const socket: Socket = connect(server.port, "127.0.0.1");
      socket.on("error", () => {});
      await new Promise<void>((ok) => socket.once("connect", () => ok()));
      const answered = new Promise<string>((ok) => socket.once("data", (d) => ok(d.toString())));
      socket.write(upgradeRequest(`${SocketPath.worker}?token=wrong`));
      expect(await answered).toMatch(/^HTTP\/1\.1 403/);
      socket.resetAndDestroy();
    }
    // A reset before any answer, too.
    const early = connect(server.port, "127.0.0.1");
    early.on("error", () => {});
    await new Promise<void>((ok) => early.once("connect", () => ok()));
    early.write(upgradeRequest(`${SocketPath.client}?token=wrong`));
    early.resetAndDestroy();
    await new Promise((r) => setTimeout(r, 200));
    await alive(server);
    expect(escaped).toEqual([]);
  });
});

describe("3. a task nested 20,000 levels deep", () => {
  // 40 KB of brackets. JSON.stringify cannot write it (that is the attack), so the frame is encoded
  // around a placeholder that the nested text then replaces.
  const nested = "[".repeat(20_000) + "]".repeat(20_000);
  const sendDeepTask = (s: RawSocket, topic: string, ref: string) => {
    const frame = encodeFrame(
      { joinRef: null, ref, topic, event: ClientEvent.task, payload: { body: body(["<nested>"]), type: "work", ref: "deep" } },
      s.vsn,
    );
    s.ws.send(frame.replace('"<nested>"', nested));
    return s.reply(ref);
  };

  it("is refused at submission with a clear error (reply and result), and a worker's offer afterwards is harmless", async () => {
    const server = await cluster();
    const { s, topic } = await rawDriver(server);
    const reply = await sendDeepTask(s, topic, "t");
    expect(reply.payload.status).toBe("error");
    expect(reply.payload.response.reason).toMatch(/more than 64 levels deep \(maxTaskDepth\)/);
    const result = await resultFor(s, "deep");
    expect(decodeResultBody(result.payload.body)).toMatchObject({
      error: expect.stringMatching(/64 levels/),
      error_code: ErrorCode.refused,
    });
    const { s: w, topic: wt } = await rawWorker(server);
    expect((await w.call(wt, WorkerEvent.inputRequest, { tid: "slot" }, "o")).payload.status).toBe("ok");
    expect(server.stats()).toMatchObject({ queued: 0, running: 0, offered_slots: 1 });
    await alive(server);
    expect(escaped).toEqual([]);
    w.close();
    s.close();
  });

  it("admitted anyway (limit raised), it cannot be sent to a worker: the error is answered, never fatal", async () => {
    const lines: string[] = [];
    const server = await cluster({ maxTaskDepth: 100_000, log: (l) => lines.push(l) });
    const { s, topic } = await rawDriver(server);
    expect((await sendDeepTask(s, topic, "t")).payload.status).toBe("ok");
    const { s: w, topic: wt } = await rawWorker(server);
    expect((await w.call(wt, WorkerEvent.inputRequest, { tid: "slot" }, "o")).payload.status).toBe("ok");
    const result = await resultFor(s, "deep");
    expect(decodeResultBody(result.payload.body)).toMatchObject({
      error: expect.stringMatching(/could not send it to a worker/),
      error_code: ErrorCode.refused,
    });
    // The slot is still free for the next task.
    s.send(topic, ClientEvent.task, { body: body([1]), type: "work", ref: "flat" }, "t2");
    expect((await w.next((m) => m.event === WorkerEvent.input)).payload).toMatchObject({ tid: "slot", body: { params: [1] } });
    expect(lines.join("\n")).toMatch(/task 1 answered with an error: the cluster could not send it/);
    expect(escaped).toEqual([]);
    w.close();
    s.close();
  });
});

describe("4. static files", () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "motivus-attack-files-"));
    await mkdir(join(root, "public", "sub"), { recursive: true });
    await mkdir(join(root, "public-evil"), { recursive: true });
    await writeFile(join(root, "public", "big.bin"), randomBytes(4 * 1024 * 1024));
    await writeFile(join(root, "public", "sub", "ok.txt"), "fine");
    await writeFile(join(root, "secret.txt"), "SECRET-OUTSIDE");
    await writeFile(join(root, "public-evil", "secret.txt"), "SECRET-SIBLING");
  });

  const openDescriptors = () => readdirSync("/proc/self/fd").length;

  it("2,000 aborted downloads of a large file leave the process's open descriptor count flat", async () => {
    const server = await cluster({ mounts: { "/files/": join(root, "public") } });
    const before = openDescriptors();
    const abortOne = () =>
      new Promise<void>((ok) => {
        const req = request(`${server.origin}/files/big.bin`, (res) => res.once("data", () => (req.destroy(), ok())));
        req.on("error", () => ok());
        req.end();
      });
    for (let batch = 0; batch < 100; batch++) await Promise.all(Array.from({ length: 20 }, abortOne));
    await until(() => openDescriptors() <= before + 10, 10_000).catch(() => {});
    expect(openDescriptors()).toBeLessThanOrEqual(before + 10);
    // Files are still served whole, with validators.
    const res = await fetch(`${server.origin}/files/sub/ok.txt`);
    expect(await res.text()).toBe("fine");
    expect(res.headers.get("etag")).toBeTruthy();
    expect(escaped).toEqual([]);
  }, 60_000);

  it("path traversal out of a mount (.., %2e%2e, backslashes, absolute paths, NUL bytes) serves nothing outside its root", async () => {
    const server = await cluster({ mounts: { "/files/": join(root, "public") } });
    const attempts = [
      "/files/../secret.txt",
      "/files/../../secret.txt",
      "/files/%2e%2e/secret.txt",
      "/files/%2e%2e%2fsecret.txt",
      "/files/sub/..%2f..%2fsecret.txt",
      "/files/%2E%2E/public-evil/secret.txt",
      "/files/..%5csecret.txt",
      "/files/..\\secret.txt",
      "/files/sub\\..\\..\\secret.txt",
      `/files/${join(root, "secret.txt")}`,
      `/files//${join(root, "secret.txt")}`,
      `/files/${encodeURIComponent(join(root, "secret.txt"))}`,
      "/files/secret.txt%00",
      "/files/sub/ok.txt%00.png",
      "/files/%00../secret.txt",
      "/files/../public-evil/secret.txt",
      "/files/%2e%2e/public-evil/secret.txt",
      "/files/%252e%252e/secret.txt",
      "//etc/passwd",
      "/../../../../etc/passwd",
      "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    ];
    for (const target of attempts) {
      const response = await rawTcp(server.port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
      expect(response, target).not.toMatch(/SECRET|root:/);
      expect([400, 404], target).toContain(statusOf(response));
    }
    const fine = await rawTcp(server.port, "GET /files/sub/./ok.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    expect(statusOf(fine)).toBe(200);
    expect(fine).toMatch(/fine$/);
    await alive(server);
  });
});

describe("5. guest tokens on a cluster with --token", () => {
  it("a guest worker never receives the owner's trusted_work, and a guest token cannot drive tasks", async () => {
    const server = await cluster({ token: "owner" });
    const { token: guest } = (await (await fetch(`${server.origin}${HttpPath.guestToken}`, { method: "POST" })).json()) as {
      token: string;
    };
    await expect(RawSocket.open(`${wsBase(server)}${SocketPath.client}?token=${guest}`, null)).rejects.toThrow(/403/);

    const { s: g, topic: gt } = await rawWorker(server, guest);
    await g.call(gt, WorkerEvent.inputRequest, { tid: "guest-slot" }, "o");
    const { s: d, topic: dt } = await rawDriver(server, "owner");
    await d.call(dt, ClientEvent.task, { body: body(["secret"]), type: "trusted_work", ref: "trusted" }, "t1");
    await d.call(dt, ClientEvent.task, { body: body(["public"]), type: "work", ref: "public" }, "t2");
    // The work task overtakes the trusted one, which waits for a trusted worker.
    const input = await g.next((m) => m.event === WorkerEvent.input);
    expect(input.payload).toMatchObject({ tid: "guest-slot", type: "work", body: { params: ["public"] } });
    await g.call(gt, WorkerEvent.inputRequest, { tid: "guest-slot-2" }, "o2");
    await g.call(PHOENIX_TOPIC, PhxEvent.heartbeat, {}, "hb");
    expect(g.received.filter((m) => m.event === WorkerEvent.input)).toEqual([]);
    expect(server.stats()).toMatchObject({ queued: 1, running: 1 });

    // A forged answer is only possible for what it was given.
    const forged = {
      tid: "guest-slot-2",
      type: "response",
      body: encodeResultBody({ data: "forged" }),
      stdout: null,
      stderr: null,
    };
    expect((await g.call(gt, WorkerEvent.result, forged, "r")).payload.response).toEqual({ delivered: false });

    const { s: o, topic: ot } = await rawWorker(server, "owner");
    await o.call(ot, WorkerEvent.inputRequest, { tid: "owner-slot" }, "o");
    expect((await o.next((m) => m.event === WorkerEvent.input)).payload).toMatchObject({
      type: "trusted_work",
      body: { params: ["secret"] },
    });
    for (const s of [g, d, o]) s.close();
  });

  it("without a token (developer mode) a guest worker is trusted, as before", async () => {
    const server = await cluster();
    const { token: guest } = (await (await fetch(`${server.origin}${HttpPath.guestToken}`, { method: "POST" })).json()) as {
      token: string;
    };
    const { s: g, topic: gt } = await rawWorker(server, guest);
    await g.call(gt, WorkerEvent.inputRequest, { tid: "slot" }, "o");
    const { s: d, topic: dt } = await rawDriver(server, guest);
    d.send(dt, ClientEvent.task, { body: body([1]), type: "trusted_work", ref: "t" }, "t");
    expect((await g.next((m) => m.event === WorkerEvent.input)).payload.type).toBe("trusted_work");
    g.close();
    d.close();
  });
});

describe("6. pages of other origins", () => {
  it("a page of a foreign origin can neither join as a worker nor read the API; the cluster's own and allowed origins can", async () => {
    const lines: string[] = [];
    const server = await cluster({ log: (l) => lines.push(l) });
    const worker = `${wsBase(server)}${SocketPath.worker}?token=w`;
    await expect(openWs(worker, "http://evil.localhost:8080")).rejects.toThrow(/403/);
    await expect(openWs(`${wsBase(server)}${SocketPath.client}?token=d`, "http://localhost:5173")).rejects.toThrow(/403/);
    await expect(openWs(worker, "null")).rejects.toThrow(/403/);
    expect(lines.join("\n")).toMatch(
      /refused a worker socket from the page at "http:\/\/evil.localhost:8080".*--allow-origin "http:\/\/evil.localhost:8080"/,
    );
    for (const origin of [
      undefined,
      `http://localhost:${server.port}`,
      `http://127.0.0.1:${server.port}`,
      `http://[::1]:${server.port}`,
    ]) {
      (await openWs(worker, origin)).close();
    }

    // HTTP: the origin is echoed to allowed pages only, never `*`; a foreign page gets 403 from the API,
    // readable by it (only the refusal), naming the flag that would admit it.
    const stats = `${server.origin}/api/loopback/stats`;
    const foreign = await get(stats, { origin: "http://evil.localhost:8080" });
    expect(foreign.status).toBe(403);
    expect(foreign.headers["access-control-allow-origin"]).toBe("http://evil.localhost:8080");
    expect(JSON.parse(foreign.body).error).toMatch(/start the cluster with --allow-origin http:\/\/evil.localhost:8080 /);
    expect((await get(`${server.origin}${HttpPath.guestToken}`, { origin: "http://evil.localhost:8080" }, "POST")).status).toBe(
      403,
    );
    expect((await get(stats, { origin: "http://evil.localhost:8080" }, "OPTIONS")).status).toBe(403);
    const own = await get(stats, { origin: `http://localhost:${server.port}` });
    expect(own.headers["access-control-allow-origin"]).toBe(`http://localhost:${server.port}`);
    const program = await get(stats, {});
    expect(program.status).toBe(200);
    expect(program.headers["access-control-allow-origin"]).toBeUndefined();
    expect(
      (await get(`${server.origin}/`, { origin: "http://evil.localhost:8080" })).headers["access-control-allow-origin"],
    ).toBeUndefined();

    const allowing = await cluster({ allowOrigins: ["http://localhost:5173"] });
    (await openWs(`${wsBase(allowing)}${SocketPath.worker}?token=w`, "http://localhost:5173")).close();
    const allowed = await get(`${allowing.origin}/api/loopback/stats`, { origin: "http://localhost:5173" });
    expect(allowed.status).toBe(200);
    expect(allowed.headers["access-control-allow-origin"]).toBe("http://localhost:5173");
    await expect(openWs(`${wsBase(allowing)}${SocketPath.worker}?token=w`, "http://localhost:5174")).rejects.toThrow(/403/);
  });
});

describe("7. a worker that offers 50 slots and holds its tasks", () => {
  it("gets at most 16 slots, tasks go to the least-loaded worker, and a held task is aborted there and re-queued after its lease", async () => {
    const server = await cluster({ leaseMs: 400 });
    const { s: greedy, topic: gt } = await rawWorker(server, "greedy");
    for (let i = 0; i < 50; i++) greedy.send(gt, WorkerEvent.inputRequest, { tid: `g${i}` }, `o${i}`);
    await greedy.reply("o49");
    expect(server.stats().offered_slots).toBe(16);
    const honest = await PhoenixWorker.start({ origin: server.origin, slots: 2, handle: ({ body }) => ({ data: body.params }) });
    await until(() => server.stats().offered_slots === 18);

    const { s: d, topic: dt } = await rawDriver(server);
    const total = 20;
    for (let i = 0; i < total; i++) d.send(dt, ClientEvent.task, { body: body([i]), type: "work", ref: `r${i}` }, `t${i}`);
    const results: Msg[] = [];
    for (let i = 0; i < total; i++) results.push(await resultFor(d, `r${i}`, 15_000));

    const greedyInputs = greedy.received.filter((m) => m.event === WorkerEvent.input);
    expect(greedyInputs.length).toBeGreaterThan(0);
    expect(greedyInputs.length).toBeLessThanOrEqual(16);
    // Every task the greedy worker held was taken back from it.
    const aborted = greedy.received.filter((m) => m.event === WorkerEvent.abortTask).map((m) => m.payload.tid);
    expect(aborted.sort()).toEqual(greedyInputs.map((m) => m.payload.tid).sort());
    const answered = results.map((m) => decodeResultBody(m.payload.body));
    const data = answered.filter((c) => "data" in c);
    expect(data.length).toBeGreaterThanOrEqual(total - Math.floor(16 / 3));
    for (const c of answered) if (!("data" in c)) expect(c.error).toMatch(/lost by 3 workers/);
    expect(honest.inputs.length).toBeGreaterThanOrEqual(data.length);
    honest.kill();
    greedy.close();
    d.close();
  });
});

describe("8. 20,000 slot offers from one socket", () => {
  // The flooding client runs in a worker thread, so that the main thread's event loop, which the
  // server runs on, only carries the server's own work.
  const FLOODER = `
    const { parentPort, workerData } = require("node:worker_threads");
    const WebSocket = require(workerData.ws);
    const ws = new WebSocket(workerData.url);
    let replies = 0;
    ws.on("open", () => ws.send(workerData.join));
    ws.on("message", () => {
      replies++;
      if (replies === 1) {
        for (const frame of workerData.frames) ws.send(frame);
        parentPort.postMessage("flooded");
      } else if (replies - 1 === 5000) parentPort.postMessage("5000 answered");
      else if (replies - 1 === workerData.frames.length) parentPort.postMessage("all answered"), ws.close();
    });`;

  it("leave the event loop free: another socket's heartbeat is answered within 1 s, all offers within 5 s", async () => {
    const server = await cluster();
    const other = await RawSocket.open(`${wsBase(server)}${SocketPath.client}?token=d`, "2.0.0");
    const topic = Topic.worker(await uuidOf(server.origin, "flood"), crypto.randomUUID());
    const frame = (ref: string, event: string, payload: unknown) =>
      encodeFrame({ joinRef: null, ref, topic, event, payload }, "1.0.0");
    // 2 MB of frames, written at once.
    const frames = Array.from({ length: 20_000 }, (_, i) =>
      frame(`o${i}`, WorkerEvent.inputRequest, { tid: `slot-${i}-${"x".repeat(40)}` }),
    );
    const flooder = new Worker(FLOODER, {
      eval: true,
      workerData: {
        ws: createRequire(import.meta.url).resolve("ws"),
        url: `${wsBase(server)}${SocketPath.worker}?token=flood&vsn=1.0.0`,
        join: frame("join", PhxEvent.join, {}),
        frames,
      },
    });
    const said = (what: string) => new Promise<void>((ok) => flooder.on("message", (m) => m === what && ok()));
    const flooded = said("flooded");
    const fiveThousand = said("5000 answered");
    const all = said("all answered");
    const heartbeat = async (ref: string) => {
      const sent = Date.now();
      await other.call(PHOENIX_TOPIC, PhxEvent.heartbeat, {}, ref);
      return Date.now() - sent;
    };
    try {
      await flooded;
      const started = Date.now();
      expect(await heartbeat("hb1")).toBeLessThan(1000);
      await fiveThousand;
      expect(await heartbeat("hb2")).toBeLessThan(1000);
      await Promise.race([
        all,
        new Promise((_, fail) => setTimeout(() => fail(new Error("the 20,000 offers were not all answered within 5 s")), 5000)),
      ]);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(server.stats().offered_slots).toBe(16);
    } finally {
      await flooder.terminate();
      other.close();
    }
  });
});

describe("9. a driver queuing without bound", () => {
  it("is refused past maxQueuedTasks and maxQueuedBytes, and its driver gets an error result for each refused ref (raw V1 client)", async () => {
    const byCount = await cluster({ maxQueuedTasks: 3 });
    const { s, topic } = await rawDriver(byCount);
    for (let i = 0; i < 3; i++)
      expect(
        (await s.call(topic, ClientEvent.task, { body: body([i]), type: "work", ref: `r${i}` }, `t${i}`)).payload.status,
      ).toBe("ok");
    const refused = await s.call(topic, ClientEvent.task, { body: body([3]), type: "work", ref: "r3" }, "t3");
    expect(refused.payload).toMatchObject({
      status: "error",
      response: { reason: expect.stringMatching(/holds 3 tasks \(maxQueuedTasks 3\)/) },
    });
    const result = await resultFor(s, "r3");
    expect(result.payload).toMatchObject({ type: "response", ref: "r3", stdout: null, stderr: expect.any(String) });
    expect(decodeResultBody(result.payload.body)).toEqual({
      error: expect.stringMatching(/maxQueuedTasks/),
      error_code: ErrorCode.refused,
    });
    expect(byCount.stats()).toMatchObject({ queued: 3, refused: 1 });
    s.close();

    const byBytes = await cluster({ maxQueuedBytes: 256 * 1024 });
    const { s: s2, topic: t2 } = await rawDriver(byBytes);
    const big = (n: number) => ({ body: { ...body([]), wasm: "A".repeat(n) }, type: "work", ref: `big${n}` });
    expect((await s2.call(t2, ClientEvent.task, big(200_000), "b1")).payload.status).toBe("ok");
    expect((await s2.call(t2, ClientEvent.task, big(100_000), "b2")).payload.response.reason).toMatch(/maxQueuedBytes/);
    expect(decodeResultBody((await resultFor(s2, "big100000")).payload.body)).toMatchObject({
      error: expect.stringMatching(/takes at most 256 KiB \(maxQueuedBytes\)/),
      error_code: ErrorCode.refused,
    });
    // Room comes back when a task leaves: the driver's channel closes, its tasks are dropped.
    s2.close();
    await until(() => byBytes.stats().queued === 0);
    const { s: s3, topic: t3 } = await rawDriver(byBytes);
    expect((await s3.call(t3, ClientEvent.task, big(100_000), "b3")).payload.status).toBe("ok");
    s3.close();
  });

  it("the limits' defaults are what the docs say", async () => {
    // The limits table of docs/loopback.md, `| flag | option | default | what it bounds |`, read as the
    // options it names and the values it says: changing a default without the docs fails here.
    const { readFile } = await import("node:fs/promises");
    const docs = await readFile(new URL("../../docs/loopback.md", import.meta.url), "utf8");
    const section = docs.split(/^## /m).find((s) => s.startsWith("Limits and their defaults"));
    expect(section, 'docs/loopback.md has a section "Limits and their defaults"').toBeDefined();
    const units: Record<string, number> = {
      "": 1,
      KiB: 1024,
      MiB: 1024 ** 2,
      GiB: 1024 ** 3,
      ms: 1,
      s: 1000,
      min: 60_000,
      h: 3_600_000,
    };
    const documented: Record<string, number> = {};
    const flags: [flag: string, option: string, perUnit: number][] = [];
    // The rows below the table's `|---|` rule.
    const rows = section!
      .split(/^\|(?:-+\|)+$/m)[1]!
      .split("\n")
      .filter((line) => line.startsWith("|"));
    for (const row of rows) {
      const cells = row
        .split("|")
        .slice(1, -1)
        .map((c) => c.trim().replace(/`/g, ""));
      const [, option, value] = cells as [string, string, string];
      const m = /^([\d,]+(?:\.\d+)?)\s*([A-Za-z]*)$/.exec(value);
      expect(m && m[2]! in units, `docs/loopback.md: the default of ${option}, "${value}", is a number and a unit`).toBe(true);
      // A time or a size needs its unit; a count has none.
      expect(m![2] === "", `docs/loopback.md: ${option} "${value}"`).toBe(!/(Ms|Bytes)$/.test(option));
      documented[option] = Number(m![1]!.replace(/,/g, "")) * units[m![2]!]!;
      // `--lease SECONDS`, `--max-frame-mib N`: the flag's own unit.
      const [flag, arg] = cells[0]!.split(/\s+/);
      if (flag!.startsWith("--")) flags.push([flag!, option, arg === "SECONDS" ? 1000 : flag!.endsWith("-mib") ? 1024 ** 2 : 1]);
    }
    const server = await cluster();
    expect(documented).toEqual(server.limits);
    // Each documented flag is the command's, and sets the option the table names.
    for (const [flag, option, perUnit] of flags) {
      const quiet = () => {};
      const running = await startCli(["--port", "0", "--quiet", flag, "2"], quiet, quiet);
      try {
        expect(running!.server.limits[option as keyof typeof server.limits], flag).toBe(2 * perUnit);
      } finally {
        await running?.stop();
      }
    }
    await expect(startLoopback({ port: 0, maxAttempts: 0 })).rejects.toThrow(/maxAttempts takes a whole number above 0/);
  });
});

describe("10. a second socket with the same token on the same topic", () => {
  it("cannot answer the first socket's task: slots belong to the channel, not the topic string", async () => {
    const server = await cluster();
    const { s: a, topic } = await rawWorker(server, "w");
    const { s: b } = await rawWorker(server, "w", topic);
    await a.call(topic, WorkerEvent.inputRequest, { tid: "slot-1" }, "o");
    const { s: d, topic: dt } = await rawDriver(server);
    d.send(dt, ClientEvent.task, { body: body(["real"]), type: "work", ref: "r" }, "t");
    await a.next((m) => m.event === WorkerEvent.input);
    const answer = (data: string) => ({
      tid: "slot-1",
      type: "response",
      body: encodeResultBody({ data }),
      stdout: null,
      stderr: null,
    });
    expect((await b.call(topic, WorkerEvent.result, answer("forged"), "x")).payload.response).toEqual({ delivered: false });
    expect((await a.call(topic, WorkerEvent.result, answer("real"), "y")).payload.response).toEqual({ delivered: true });
    expect(decodeResultBody((await resultFor(d, "r")).payload.body)).toEqual({ data: "real" });
    for (const s of [a, b, d]) s.close();
  });
});

describe("11. a task whose workers die", () => {
  it("is handed to at most 3 workers, then its driver is told it was lost by 3 workers", async () => {
    const lines: string[] = [];
    const server = await cluster({ log: (l) => lines.push(l) });
    const { s: d, topic: dt } = await rawDriver(server);
    d.send(dt, ClientEvent.task, { body: body(["crashes tabs"]), type: "work", ref: "doomed" }, "t");
    for (let i = 0; i < 3; i++) {
      const worker = await PhoenixWorker.start({ origin: server.origin, handle: () => ({ data: "never" }) });
      worker.answering = false;
      await until(() => worker.inputs.length === 1);
      worker.kill();
    }
    const result = await resultFor(d, "doomed", 5000);
    expect(decodeResultBody(result.payload.body)).toEqual({
      error: expect.stringMatching(/lost by 3 workers/),
      error_code: ErrorCode.crash,
    });
    expect(server.stats()).toMatchObject({ queued: 0, running: 0, requeued: 2, lost: 1 });
    // A fourth worker gets nothing.
    const fourth = await PhoenixWorker.start({ origin: server.origin, handle: () => ({ data: "never" }) });
    await until(() => server.stats().offered_slots === 1);
    expect(fourth.inputs).toEqual([]);
    expect(lines.join("\n")).toMatch(/task 1 answered with an error: the task was lost by 3 workers/);
    fourth.kill();
    d.close();
  });
});

describe("12. guest tokens", () => {
  it("are stateless and signed (guest.<random>.<hmac>): a forged, altered or another server's token is refused", async () => {
    const a = await cluster({ token: "owner" });
    const b = await cluster({ token: "owner" });
    const mint = async (server: LoopbackServer) =>
      ((await (await fetch(`${server.origin}${HttpPath.guestToken}`, { method: "POST" })).json()) as { token: string }).token;
    const token = await mint(a);
    expect(token).toMatch(/^guest\.[\w-]{22}\.[\w-]{43}$/);
    const user = async (server: LoopbackServer, t: string) =>
      (await fetch(`${server.origin}${HttpPath.user}`, { headers: { authorization: `Bearer ${t}` } })).status;
    expect(await user(a, token)).toBe(200);
    (await openWs(`${wsBase(a)}${SocketPath.worker}?token=${token}`)).close();
    const altered = token.slice(0, -1) + (token.endsWith("A") ? "B" : "A");
    for (const bad of [
      altered,
      `guest.${crypto.randomUUID()}`,
      token.split(".").slice(0, 2).join("."),
      `guest.x.${token.split(".")[2]}`,
    ]) {
      expect(await user(a, bad), bad).toBe(401);
      await expect(openWs(`${wsBase(a)}${SocketPath.worker}?token=${bad}`)).rejects.toThrow(/403/);
    }
    expect(await user(b, token)).toBe(401);
    // Thousands issued, none kept: the server holds no state per token.
    const tokens = await Promise.all(Array.from({ length: 200 }, () => mint(a)));
    expect(new Set(tokens).size).toBe(200);
    expect(await user(a, tokens[123]!)).toBe(200);
  });
});

describe("13. the headless pages' token", () => {
  it("--token never appears in the headless page's URL nor in the log, and still reaches the page", async () => {
    const secret = `s3cret-${crypto.randomUUID()}`;
    const printed: string[] = [];
    const running = await startCli(
      ["--port", "0", "--token", secret, "--headless", "1", "--threads", "1"],
      (l) => printed.push(l),
      (l) => printed.push(l),
    );
    try {
      expect(running).not.toBeNull();
      const server = running!.server;
      await until(() => server.stats().offered_slots === 1, 45_000);
      const log = printed.join("\n");
      expect(log).toMatch(/browser 1 opened http:\/\/127\.0\.0\.1:\d+\/worker\.html\?autostart=1/);
      // Trusted: it connected with the token, not as a guest.
      expect(log).toMatch(/worker \w+ joined, trusted/);
      expect(log).not.toContain(secret);
      expect(log).not.toContain(encodeURIComponent(secret));
    } finally {
      await running?.stop();
    }
    expect(printed.join("\n")).not.toContain(secret);
  }, 90_000);
});

describe("14. the TypeScript driver", () => {
  let server: LoopbackServer;
  beforeAll(async () => {
    server = await cluster();
  });

  /** A raw worker that answers every input with `body` (base64 gzip), `times` times at most. */
  async function answeringWith(resultBody: string, times: number): Promise<{ inputs: number; close(): void }> {
    const { s, topic } = await rawWorker(server, "answering");
    const state = { inputs: 0, close: () => s.close() };
    s.ws.on("message", () => {
      for (const m of s.received.splice(0)) {
        if (m.event !== WorkerEvent.input) continue;
        state.inputs++;
        s.send(
          topic,
          WorkerEvent.result,
          { tid: m.payload.tid, type: "response", body: resultBody, stdout: null, stderr: null },
          `r${state.inputs}`,
        );
        if (state.inputs < times) s.send(topic, WorkerEvent.inputRequest, { tid: crypto.randomUUID() }, `o${state.inputs}`);
      }
    });
    s.send(topic, WorkerEvent.inputRequest, { tid: crypto.randomUUID() }, "o0");
    return state;
  }

  it("a small gzip bomb (1.3 MiB, 300 MiB inflated) from a worker rejects the task with a clear TaskError instead of exhausting the driver", async () => {
    const gzip = createGzip({ level: 1 });
    const parts: Buffer[] = [];
    gzip.on("data", (d: Buffer) => parts.push(d));
    const ended = new Promise((ok) => gzip.on("end", ok));
    gzip.write('{"data":"');
    const run = Buffer.alloc(1024 * 1024, 65);
    for (let i = 0; i < 300; i++) if (!gzip.write(run)) await new Promise((ok) => gzip.once("drain", ok));
    gzip.end('"}');
    await ended;
    const bomb = toBase64(Buffer.concat(parts));
    expect(bomb.length).toBeLessThan(2 * 1024 * 1024);
    const worker = await answeringWith(bomb, 1);
    const client = await Client.connect({ uri: server.driverUri, logDir: null });
    const before = process.memoryUsage().rss;
    const task = client.selectTask(client.callAsync({ wasm: "AA==", loader: "AA==" }));
    await expect(task).rejects.toThrow(TaskError);
    await expect(task).rejects.toThrow(/result too large.*maxResultBytes/);
    expect(process.memoryUsage().rss - before).toBeLessThan(1024 * 1024 * 1024);
    await client.close();
    worker.close();
  }, 60_000);

  it("a 110 MiB result (above ws's default 100 MiB maxPayload, under the cluster's 128 MiB frames) is received, not re-sent for ever", async () => {
    // gzip level 0 (stored) of ~84 MiB of JSON: a ~112 MiB body.
    const json = `{"data":"${randomBytes(63 * 1024 * 1024).toString("base64")}"}`;
    const resultBody = gzipSync(json, { level: 0 }).toString("base64");
    expect(resultBody.length).toBeGreaterThan(100 * 1024 * 1024);
    expect(resultBody.length).toBeLessThan(127 * 1024 * 1024);
    const worker = await answeringWith(resultBody, 5);
    const client = await Client.connect({ uri: server.driverUri, logDir: null });
    const data = (await Promise.race([
      client.selectTask(client.callAsync({ wasm: "AA==", loader: "AA==" })),
      new Promise((_, fail) => setTimeout(() => fail(new Error("no result within 30 s")), 30_000)),
    ])) as string;
    expect(data.length).toBe(json.length - '{"data":""}'.length);
    expect(worker.inputs).toBe(1);
    await client.close();
    worker.close();
  }, 90_000);

  it("a task whose result keeps closing the connection is re-sent at most 3 times, then rejected with a clear error", async () => {
    const resultBody = encodeResultBody({ data: randomBytes(1024 * 1024).toString("base64") });
    const worker = await answeringWith(resultBody, 10);
    const client = await Client.connect({ uri: server.driverUri, logDir: null, maxFrameBytes: 512 * 1024 });
    const task = client.selectTask(client.callAsync({ wasm: "AA==", loader: "AA==" }));
    await expect(task).rejects.toThrow(/sent 4 times.*maxResends 3.*maxFrameBytes/);
    expect(worker.inputs).toBe(4);
    await client.close();
    worker.close();
  }, 60_000);
});
