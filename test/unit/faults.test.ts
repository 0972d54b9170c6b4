// Faults at the loopback cluster: drivers and workers that go away, results
// that come late or twice, huge frames, and 1,000 tasks under random worker
// drops. Real server, real sockets.
import { randomBytes } from "node:crypto";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { decodeResultBody, encodeResultBody, toBase64 } from "motivus-protocol";
import { Client } from "../../packages/driver/src/client.js";
import { startLoopback, type LoopbackServer } from "../../packages/loopback/src/server.js";
import { PhoenixWorker } from "../support/phoenix-worker.js";
import { ClientEvent, PHOENIX_TOPIC, PhxEvent, SocketPath, Topic, WorkerEvent } from "motivus-protocol";
import { RawSocket, type Msg } from "../support/raw-socket.js";
import { uuidOf } from "../support/users.js";
import { until } from "../support/until.js";

let server: LoopbackServer;
let ws: string;
beforeEach(async () => {
  server = await startLoopback({ port: 0 });
  ws = server.origin.replace("http", "ws");
});
afterEach(() => server.close());

const echo = (input: { body: { params?: unknown[] | null } }) => ({ data: input.body.params });
const body = (params: unknown[]) => ({ wasm: "AA==", loader: "AA==", params });

/** A driver speaking V1 frame by frame, as the Python client does (to this test's cluster unless told). */
async function rawDriver(origin = ws): Promise<{ s: RawSocket; topic: string }> {
  const s = await RawSocket.open(`${origin}${SocketPath.client}?token=d`, null);
  const uuid = (await s.call(Topic.clientLobby, PhxEvent.join, {}, "uuid")).payload.response.uuid;
  await s.call(Topic.clientLobby, PhxEvent.leave, {}, "leave");
  const topic = Topic.client(uuid, crypto.randomUUID());
  await s.call(topic, PhxEvent.join, {}, "join");
  return { s, topic };
}

describe("driver goes away", () => {
  it("its running task is aborted on the worker, its queued tasks are dropped", async () => {
    const worker = await PhoenixWorker.start({ origin: server.origin, handle: echo });
    worker.answering = false;
    const { s, topic } = await rawDriver();
    s.send(topic, ClientEvent.task, { body: body([1]), type: "work", ref: "running" }, "t1");
    s.send(topic, ClientEvent.task, { body: body([2]), type: "work", ref: "queued" }, "t2");
    await until(() => worker.inputs.length === 1 && server.stats().queued === 1);
    s.close();
    await until(() => worker.aborts.length === 1);
    expect(worker.aborts).toEqual([worker.inputs[0]!.tid]);
    expect(server.stats()).toMatchObject({ queued: 0, running: 0, aborted: 2, done: 0 });
    // A late result for the aborted task is ignored, not delivered anywhere: the cluster says so.
    expect(await worker.release()).toEqual([false]);
    expect(server.stats().done).toBe(0);
    worker.kill();
  });
});

describe("the cluster closes", () => {
  it("with a task running, it lets go of the task (its lease timer kept the whole closed cluster for 15 min; found by the soak)", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    let closing: LoopbackServer | null = await startLoopback({ port: 0 });
    const worker = await PhoenixWorker.start({ origin: closing.origin, handle: echo });
    worker.answering = false;
    const { s, topic } = await rawDriver(closing.origin.replace("http", "ws"));
    s.send(topic, ClientEvent.task, { body: body([1]), type: "work", ref: "r" }, "t");
    await until(() => worker.inputs.length === 1);
    const gone = new WeakRef(closing);
    await closing.close();
    // eslint-disable-next-line no-useless-assignment -- dropping the last reference is the point: the server must be collectable
    closing = null;
    worker.kill();
    s.close();
    await until(() => {
      gc();
      return gone.deref() === undefined;
    });
  });
});

describe("worker goes away", () => {
  it("its running task is re-queued to another worker and answered once", async () => {
    const first = await PhoenixWorker.start({ origin: server.origin, handle: echo });
    first.answering = false;
    const { s, topic } = await rawDriver();
    s.send(topic, ClientEvent.task, { body: body(["x"]), type: "trusted_work", ref: "r" }, "t");
    await until(() => first.inputs.length === 1);
    first.kill();
    await until(() => server.stats().requeued === 1 && server.stats().queued === 1);
    const second = await PhoenixWorker.start({ origin: server.origin, handle: echo });
    const result = await s.next((m) => m.event === ClientEvent.result);
    expect(result.payload).toMatchObject({ ref: "r", type: "response", task_id: expect.any(Number) });
    expect(decodeResultBody(result.payload.body)).toEqual({ data: ["x"] });
    expect(second.inputs).toHaveLength(1);
    expect(server.stats()).toMatchObject({ done: 1, requeued: 1, running: 0 });
    second.kill();
    s.close();
  });

  it("a repeated result or one for an unknown tid is ignored (V1 worker, frame by frame)", async () => {
    const { s: driver, topic: driverTopic } = await rawDriver();
    const w = await RawSocket.open(`${ws}${SocketPath.worker}?token=w`, "1.0.0");
    const uuid = await uuidOf(server.origin, "w");
    const topic = Topic.worker(uuid, crypto.randomUUID());
    await w.call(topic, PhxEvent.join, {}, "1");
    await w.call(topic, WorkerEvent.inputRequest, { tid: "slot-1" }, "2");
    driver.send(driverTopic, ClientEvent.task, { body: body([7]), type: "work", ref: "once" }, "t");
    const input = await w.next((m) => m.event === WorkerEvent.input);
    expect(input.payload).toMatchObject({ tid: "slot-1", type: "work", body: { params: [7] } });
    const result = { tid: "slot-1", type: "response", body: encodeResultBody({ data: 7 }), stdout: null, stderr: null };
    expect((await w.call(topic, WorkerEvent.result, result, "3")).payload.response).toEqual({ delivered: true });
    expect((await w.call(topic, WorkerEvent.result, result, "4")).payload.response).toEqual({ delivered: false });
    expect((await w.call(topic, WorkerEvent.result, { ...result, tid: "never-offered" }, "5")).payload.response).toEqual({
      delivered: false,
    });
    await driver.next((m) => m.event === ClientEvent.result);
    await driver.call(PHOENIX_TOPIC, PhxEvent.heartbeat, {}, 0);
    expect(driver.received.filter((m) => m.event === ClientEvent.result)).toHaveLength(0);
    w.close();
    driver.close();
  });
});

it("carries a 20 MiB task frame from driver to worker and back", async () => {
  const worker = await PhoenixWorker.start({ origin: server.origin, handle: (input) => ({ data: input.body.wasm?.length }) });
  const client = await Client.connect({ uri: server.driverUri, logDir: null });
  const wasm = randomBytes(20 * 1024 * 1024);
  const length = await client.selectTask(client.callAsync({ wasm, loader: "AA==" }));
  expect(length).toBe(toBase64(wasm).length);
  expect(worker.inputs[0]!.body.wasm).toBe(toBase64(wasm));
  await client.close();
  worker.kill();
});

it("answers each of 1,000 tasks exactly once while workers drop at random", async () => {
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const handle = async (input: { body: { params?: unknown[] | null } }) => {
    await new Promise((r) => setTimeout(r, random() * 4));
    return echo(input);
  };
  const workers = await Promise.all([1, 2, 3, 4].map(() => PhoenixWorker.start({ origin: server.origin, slots: 2, handle })));
  const { s, topic } = await rawDriver();
  const total = 1000;
  for (let i = 0; i < total; i++) s.send(topic, ClientEvent.task, { body: body([i]), type: "work", ref: `r${i}` }, `t${i}`);

  const results: Msg[] = [];
  const collect = setInterval(() => results.push(...s.received.splice(0).filter((m) => m.event === ClientEvent.result)), 5);
  let killed = 0;
  while (results.length < total) {
    await new Promise((r) => setTimeout(r, 25));
    if (killed < 30 && random() < 0.5) {
      const i = Math.floor(random() * workers.length);
      workers[i]!.kill();
      killed++;
      workers[i] = await PhoenixWorker.start({ origin: server.origin, slots: 2, handle });
    }
  }
  // A duplicate would have been sent before the server counted its last result; frames on one socket
  // keep their order, so once a heartbeat's reply is back every result frame is in.
  await until(() => server.stats().done >= total && server.stats().running === 0);
  await s.call(PHOENIX_TOPIC, PhxEvent.heartbeat, {}, 1);
  clearInterval(collect);
  results.push(...s.received.splice(0).filter((m) => m.event === ClientEvent.result));

  const refs = results.map((m) => m.payload.ref as string);
  expect(new Set(refs).size).toBe(total);
  expect(refs).toHaveLength(total);
  for (const m of results) expect(decodeResultBody(m.payload.body).data).toEqual([Number(m.payload.ref.slice(1))]);
  expect(killed).toBeGreaterThan(5);
  expect(server.stats()).toMatchObject({ done: total, queued: 0, running: 0 });
  expect(server.stats().requeued).toBeGreaterThan(0);
  workers.forEach((w) => w.kill());
  s.close();
});

it("closing the cluster fails no task: a running task is neither re-queued to closing workers nor given up", async () => {
  const workers = await Promise.all([1, 2, 3].map(() => PhoenixWorker.start({ origin: server.origin, handle: echo })));
  for (const worker of workers) worker.answering = false;
  const { s, topic } = await rawDriver();
  s.send(topic, ClientEvent.task, { body: body([1]), type: "work", ref: "closing" }, "t");
  await until(() => workers.some((w) => w.inputs.length === 1));
  const events: string[] = [];
  server.scheduler.on("event", (event) => events.push(event.kind));
  await server.close();
  expect(events).toEqual([]);
  expect(s.received.filter((m) => m.event === ClientEvent.result)).toHaveLength(0);
  for (const worker of workers) worker.kill();
  server = await startLoopback({ port: 0 }); // afterEach closes it
});
