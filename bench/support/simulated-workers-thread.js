/**
 * Runs in a worker thread (support/simulated-workers.js starts it), so that the
 * cluster and the driver keep the bench's main thread to themselves.
 *
 * mode "phoenix": `workers` raw worker sockets of the loopback cluster, each
 * offering `slots` slots and answering every task at once with a fixed body
 * (exit status 0). Frames, events, topics and paths come from dist/protocol.
 *
 * mode "echo": `workers` plain sockets to the reference relay
 * (support/relay.js), each sending every message straight back.
 */
import { randomUUID } from "node:crypto";
import { parentPort, workerData } from "node:worker_threads";
import { WebSocket } from "ws";
import { encodeResultBody } from "motivus-protocol";
import { HttpPath, PHOENIX_TOPIC, PhxEvent, SocketPath, Topic, WorkerEvent } from "motivus-protocol";
import { decodeFrame, encodeFrame } from "motivus-protocol";

const VSN = "2.0.0";
const { mode, url, workers, slots } = workerData;
const errors = [];
const sockets = [];
let answered = 0;

function open(address) {
  const ws = new WebSocket(address);
  sockets.push(ws);
  return new Promise((ok, fail) => {
    ws.once("open", () => ok(ws));
    ws.once("error", fail);
  });
}

async function phoenixWorker(index) {
  const token = `bench-worker-${index}`;
  const res = await fetch(`${url}${HttpPath.user}`, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`GET ${HttpPath.user} answered ${res.status}`);
  const { data } = await res.json();
  const topic = Topic.worker(data.uuid, randomUUID());
  const ws = await open(`${url.replace(/^http/, "ws")}${SocketPath.worker}?token=${encodeURIComponent(token)}&vsn=${VSN}`);
  const body = encodeResultBody({ data: 0 });
  const joinRef = "1";
  let ref = 1;
  let nextTid = 0;
  const send = (event, payload) => ws.send(encodeFrame({ joinRef, ref: String(++ref), topic, event, payload }, VSN));
  const offer = () => send(WorkerEvent.inputRequest, { tid: `w${index}-${nextTid++}` });
  const joined = new Promise((ok, fail) => {
    ws.on("message", (text) => {
      const frame = decodeFrame(text.toString(), VSN);
      if (frame.event === WorkerEvent.input) {
        send(WorkerEvent.result, { tid: frame.payload.tid, type: "response", body, stdout: null, stderr: null });
        answered++;
        offer();
      } else if (frame.event === PhxEvent.reply) {
        const { status, response } = frame.payload;
        if (frame.ref === joinRef) return status === "ok" ? ok() : fail(new Error(`join refused: ${JSON.stringify(response)}`));
        if (status !== "ok") errors.push(`the cluster answered ${JSON.stringify(response)}`);
      }
    });
  });
  ws.send(encodeFrame({ joinRef, ref: joinRef, topic, event: PhxEvent.join, payload: {} }, VSN));
  await joined;
  for (let i = 0; i < slots; i++) offer();
  const heartbeat = setInterval(
    () =>
      ws.send(
        encodeFrame({ joinRef: null, ref: String(++ref), topic: PHOENIX_TOPIC, event: PhxEvent.heartbeat, payload: {} }, VSN),
      ),
    10_000,
  );
  ws.on("close", () => clearInterval(heartbeat));
}

async function echoWorker() {
  const ws = await open(url);
  ws.on("message", (data, isBinary) => {
    answered++;
    ws.send(data, { binary: isBinary });
  });
}

try {
  await Promise.all(Array.from({ length: workers }, (_, i) => (mode === "phoenix" ? phoenixWorker(i) : echoWorker())));
  parentPort.postMessage({ kind: "ready" });
} catch (err) {
  parentPort.postMessage({ kind: "ready", error: err.message });
}

parentPort.on("message", async (message) => {
  if (message.kind !== "stop") return;
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise((ok) => {
          if (ws.readyState === ws.CLOSED) return ok();
          ws.once("close", ok);
          ws.close(1000, "bench done");
        }),
    ),
  );
  parentPort.postMessage({ kind: "stopped", answered, errors });
});
