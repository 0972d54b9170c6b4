// The loopback cluster's Phoenix transport, frame by frame, in both serializer
// versions on both endpoints, over real sockets.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLoopback, type LoopbackServer } from "../../packages/loopback/src/server.js";
import { ClientEvent, HttpPath, PHOENIX_TOPIC, PhxEvent, SocketPath, Topic, WorkerEvent } from "motivus-protocol";
import { RawSocket, type Vsn } from "../support/raw-socket.js";
import { uuidOf as lookUp } from "../support/users.js";

let server: LoopbackServer;
let ws: string;
const uuidOf = (token: string) => lookUp(server.origin, token);

beforeAll(async () => {
  server = await startLoopback({ port: 0, idleTimeoutMs: 1500 });
  ws = server.origin.replace("http", "ws");
});
afterAll(() => server.close());

describe.each<[string, Vsn | null]>([
  ["V1 (no vsn)", null],
  ["V1 (vsn=1.0.0)", "1.0.0"],
  ["V2 (vsn=2.0.0)", "2.0.0"],
])("serializer %s", (_name, vsn) => {
  it("answers a heartbeat in kind, keeping an integer ref", async () => {
    const s = await RawSocket.open(`${ws}${SocketPath.client}?token=t`, vsn);
    const reply = await s.call(PHOENIX_TOPIC, PhxEvent.heartbeat, {}, 0);
    expect(reply).toMatchObject({ topic: PHOENIX_TOPIC, event: PhxEvent.reply, ref: 0, payload: { status: "ok" } });
    s.close();
  });

  it("driver endpoint: lobby join gives the user uuid, leave is answered, then a task is accepted", async () => {
    const s = await RawSocket.open(`${ws}${SocketPath.client}?token=driver-a`, vsn);
    const joined = await s.call(Topic.clientLobby, PhxEvent.join, {}, "uuid");
    expect(joined.payload).toEqual({ status: "ok", response: { uuid: await uuidOf("driver-a") } });
    const left = await s.call(Topic.clientLobby, PhxEvent.leave, {}, "leave");
    expect(left.payload.status).toBe("ok");
    const topic = Topic.client(joined.payload.response.uuid, crypto.randomUUID());
    expect((await s.call(topic, PhxEvent.join, {}, "j")).payload.status).toBe("ok");
    const queued = await s.call(
      topic,
      ClientEvent.task,
      { body: { wasm: "AA==", loader: "AA==" }, type: "work", ref: "r1", client_id: "c" },
      "t1",
    );
    expect(queued.payload).toMatchObject({ status: "ok", response: { task_id: expect.any(Number) } });
    const graded = await s.call(
      topic,
      ClientEvent.setValidation,
      { is_valid: true, task_id: queued.payload.response.task_id, client_id: "c" },
      "v1",
    );
    expect(graded.payload.status).toBe("ok");
    expect((await s.call(topic, ClientEvent.setValidation, { is_valid: "yes" }, "v2")).payload.response.reason).toMatch(
      /is_valid/,
    );
    s.close();
  });

  it("driver endpoint: joining another user's channel is unauthorized", async () => {
    const s = await RawSocket.open(`${ws}${SocketPath.client}?token=driver-b`, vsn);
    const other = await uuidOf("someone-else");
    const reply = await s.call(Topic.client(other, crypto.randomUUID()), PhxEvent.join, {}, "j");
    expect(reply.payload).toEqual({ status: "error", response: { reason: "unauthorized" } });
    s.close();
  });

  it("worker endpoint: joins its own room, offers a slot, and refuses another user's room", async () => {
    const s = await RawSocket.open(`${ws}${SocketPath.worker}?token=worker-a`, vsn);
    const me = await uuidOf("worker-a");
    expect((await s.call(Topic.worker(me, crypto.randomUUID()), PhxEvent.join, {}, "1")).payload.status).toBe("ok");
    const other = await uuidOf("nobody");
    expect((await s.call(Topic.worker(other, "x"), PhxEvent.join, {}, "2")).payload.response).toEqual({ reason: "unauthorized" });
    s.close();
  });

  it("rejects malformed payloads with a reason and keeps the socket open", async () => {
    const s = await RawSocket.open(`${ws}${SocketPath.worker}?token=worker-b`, vsn);
    const topic = Topic.worker(await uuidOf("worker-b"), crypto.randomUUID());
    await s.call(topic, PhxEvent.join, {}, "1");
    const bad = await s.call(topic, WorkerEvent.inputRequest, { tid: 42 }, "2");
    expect(bad.payload.status).toBe("error");
    expect(bad.payload.response.reason).toMatch(/tid/);
    s.ws.send("this is not json");
    expect((await s.call(topic, WorkerEvent.result, { tid: "x" }, "3")).payload.response.reason).toMatch(/body/);
    expect((await s.call("room:elsewhere", "ping", {}, "4")).payload.response).toEqual({ reason: "unmatched topic" });
    expect((await s.call(PHOENIX_TOPIC, PhxEvent.heartbeat, {}, "5")).payload.status).toBe("ok");
    s.close();
  });
});

describe("heartbeats", () => {
  it("a socket that heartbeats stays open past the idle timeout; a silent one is closed", async () => {
    const beating = await RawSocket.open(`${ws}${SocketPath.client}?token=t`, "2.0.0");
    const silent = await RawSocket.open(`${ws}${SocketPath.client}?token=t`, "2.0.0");
    let ref = 0;
    const beat = setInterval(() => beating.send(PHOENIX_TOPIC, PhxEvent.heartbeat, {}, ref++), 300);
    await silent.closed;
    expect(beating.ws.readyState).toBe(beating.ws.OPEN);
    clearInterval(beat);
    beating.close();
  });
});

describe("tokens", () => {
  it("with a configured token, refuses other tokens but accepts guest tokens it issued on the worker socket", async () => {
    const locked = await startLoopback({ port: 0, token: "secret" });
    const base = locked.origin.replace("http", "ws");
    await expect(RawSocket.open(`${base}${SocketPath.client}?token=wrong`, null)).rejects.toThrow(/403/);
    const ok = await RawSocket.open(`${base}${SocketPath.client}?token=secret`, null);
    const { token } = (await (await fetch(`${locked.origin}${HttpPath.guestToken}`, { method: "POST" })).json()) as {
      token: string;
    };
    const user = await (
      await fetch(`${locked.origin}${HttpPath.user}`, { headers: { authorization: `Bearer ${token}` } })
    ).json();
    expect(user.data.is_guest).toBe(true);
    const guest = await RawSocket.open(`${base}${SocketPath.worker}?token=${token}`, "2.0.0");
    ok.close();
    guest.close();
    await locked.close();
  });
});

describe("stats", () => {
  it("a busy worker hears the cluster's stats at most once a second, and the latest counts arrive", async () => {
    const worker = await RawSocket.open(`${ws}${SocketPath.worker}?token=stats-worker`, "2.0.0");
    const topic = Topic.worker(await uuidOf("stats-worker"), "s");
    await worker.call(topic, PhxEvent.join, {}, "join");
    const driver = await RawSocket.open(`${ws}${SocketPath.client}?token=stats-driver`, null);
    const driverTopic = Topic.client(await uuidOf("stats-driver"), "s");
    await driver.call(driverTopic, PhxEvent.join, {}, "join");
    const { done } = server.stats();
    const tasks = 20;
    for (let i = 0; i < tasks; i++) {
      await worker.call(topic, WorkerEvent.inputRequest, { tid: `slot-${i}` }, `offer-${i}`);
      driver.send(driverTopic, ClientEvent.task, { body: { wasm: "AA==", loader: "AA==" }, type: "work", ref: `r${i}` });
      const input = await worker.next((m) => m.event === WorkerEvent.input);
      await worker.call(
        topic,
        WorkerEvent.result,
        { tid: input.payload.tid, type: "response", body: "H4sIAAAAAAAAA6uuBQBDv6ajAgAAAA==", stdout: null, stderr: null },
        `result-${i}`,
      );
    }
    // The trailing push carries the counts after the last result.
    const last = await worker.next((m) => m.event === WorkerEvent.stats && m.payload.body.done === done + tasks, 3000);
    expect(last.payload).toMatchObject({ type: "stats", body: { done: done + tasks } });
    expect(worker.received.filter((m) => m.event === WorkerEvent.stats).length).toBeLessThanOrEqual(2);
    worker.close();
    driver.close();
  });
});
