// Property-based: generated frames for the loopback cluster (fast-check), on both sockets in both
// serializer versions, joined and not: garbage, wrong shapes, the protocol's own events with wrong
// payloads. The server stays up (it answers a heartbeat after each frame) and a real task still goes
// through afterwards.
import fc from "fast-check";
import { afterAll, beforeAll, expect, it } from "vitest";
import { decodeResultBody } from "motivus-protocol";
import { ClientEvent, PHOENIX_TOPIC, PhxEvent, SocketPath, Topic, WorkerEvent } from "motivus-protocol";
import { encodeFrame, type Vsn } from "motivus-protocol";
import { startLoopback, type LoopbackServer } from "../../packages/loopback/src/server.js";
import { PhoenixWorker } from "../support/phoenix-worker.js";
import { RawSocket } from "../support/raw-socket.js";
import { uuidOf } from "../support/users.js";

let server: LoopbackServer;
beforeAll(async () => {
  server = await startLoopback({ port: 0 });
});
afterAll(() => server.close());

const events = [...Object.values(PhxEvent), ...Object.values(WorkerEvent), ...Object.values(ClientEvent)];
const ref = fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.constant(null));

/** A frame's text: anything from garbage to a well-formed frame with a wrong payload. */
function frames(topics: string[], vsn: Vsn) {
  const frame = fc.record({
    joinRef: ref,
    ref,
    topic: fc.oneof(fc.constantFrom(...topics), fc.string({ maxLength: 40 })),
    event: fc.oneof(fc.constantFrom(...events), fc.string({ maxLength: 20 })),
    payload: fc.oneof(
      fc.anything(),
      fc.record({ tid: fc.oneof(fc.string(), fc.integer()), body: fc.anything(), type: fc.anything(), ref: fc.anything() }),
    ),
  });
  return fc.oneof(
    { weight: 6, arbitrary: frame.map((f) => encodeFrame(f, vsn)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
    { weight: 1, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
  );
}

it.each<[string, "worker" | "client", Vsn]>([
  ["worker socket, V1", "worker", "1.0.0"],
  ["worker socket, V2", "worker", "2.0.0"],
  ["driver socket, V1", "client", "1.0.0"],
  ["driver socket, V2", "client", "2.0.0"],
])(
  "%s: generated frames never take the server down",
  async (_name, endpoint, vsn) => {
    const token = `fuzz-${endpoint}-${vsn}`;
    const uuid = await uuidOf(server.origin, token);
    const path = endpoint === "worker" ? SocketPath.worker : SocketPath.client;
    const socket = await RawSocket.open(`${server.origin.replace("http", "ws")}${path}?token=${token}`, vsn);
    const joined = endpoint === "worker" ? Topic.worker(uuid, "fuzz") : Topic.client(uuid, "fuzz");
    await socket.call(joined, PhxEvent.join, {}, "join");
    let beat = 0;
    await fc.assert(
      fc.asyncProperty(frames([joined, Topic.clientLobby, PHOENIX_TOPIC], vsn), async (text) => {
        socket.ws.send(text);
        const reply = await socket.call(PHOENIX_TOPIC, PhxEvent.heartbeat, {}, `beat-${beat++}`);
        expect(reply.payload.status).toBe("ok");
      }),
      { numRuns: 150, seed: 20261125 },
    );
    socket.close();
  },
  60_000,
);

it("after the fuzzing a real task still goes from a driver to a worker and back", async () => {
  const worker = await PhoenixWorker.start({ origin: server.origin, handle: (input) => ({ data: input.body.params }) });
  const driver = await RawSocket.open(`${server.origin.replace("http", "ws")}${SocketPath.client}?token=after`, null);
  const uuid = (await driver.call(Topic.clientLobby, PhxEvent.join, {}, "uuid")).payload.response.uuid;
  const topic = Topic.client(uuid, "after");
  await driver.call(topic, PhxEvent.join, {}, "join");
  driver.send(
    topic,
    ClientEvent.task,
    { body: { wasm: "AA==", loader: "AA==", params: ["ok"] }, type: "work", ref: "after" },
    "t",
  );
  const result = await driver.next((m) => m.event === ClientEvent.result && m.payload.ref === "after");
  expect(decodeResultBody(result.payload.body).data).toEqual(["ok"]);
  worker.kill();
  driver.close();
});
