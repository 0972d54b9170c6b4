/**
 * The reference for the cluster figures: a bare WebSocket relay (`ws`, as the
 * loopback uses) that forwards each driver frame, unparsed, to the next echo
 * worker and each echo back to the driver. The same four socket hops as a task
 * through the cluster (driver → server → worker → server → driver) with none of
 * its work: no Phoenix channels, no validation, no scheduling, no bookkeeping.
 */
import { createServer } from "node:http";
import { WebSocket, WebSocketServer } from "ws";
import { ClientEvent, Topic } from "motivus-protocol";
import { decodeFrame, encodeFrame } from "motivus-protocol";

const VSN = "2.0.0";

export async function startRelay() {
  const http = createServer((_, res) => res.writeHead(404).end());
  const sockets = new WebSocketServer({ noServer: true });
  const workers = [];
  let driver = null;
  let next = 0;
  http.on("upgrade", (req, socket, head) => {
    sockets.handleUpgrade(req, socket, head, (ws) => {
      if (req.url === "/worker") {
        workers.push(ws);
        ws.on("message", (data, binary) => driver?.send(data, { binary }));
      } else {
        driver = ws;
        ws.on("message", (data, binary) => workers[next++ % workers.length].send(data, { binary }));
      }
    });
  });
  await new Promise((ok) => http.listen(0, "127.0.0.1", ok));
  const base = `ws://127.0.0.1:${http.address().port}`;
  return {
    workerUrl: `${base}/worker`,
    driverUrl: `${base}/driver`,
    workers: () => workers.length,
    async close() {
      for (const ws of sockets.clients) ws.terminate();
      sockets.close();
      http.closeAllConnections();
      await new Promise((ok) => http.close(ok));
    },
  };
}

/** A raw driver of the relay: `call(body)` sends one task frame (as the real driver would) and resolves on its echo. */
export async function relayDriver(url) {
  const ws = new WebSocket(url);
  await new Promise((ok, fail) => {
    ws.once("open", ok);
    ws.once("error", fail);
  });
  const topic = Topic.client("relay", "reference");
  const pending = new Map();
  let ref = 0;
  ws.on("message", (text) => {
    const frame = decodeFrame(text.toString(), VSN);
    pending.get(frame.ref)?.();
    pending.delete(frame.ref);
  });
  return {
    call(body) {
      const r = String(++ref);
      const done = new Promise((ok) => pending.set(r, ok));
      ws.send(
        encodeFrame(
          {
            joinRef: "1",
            ref: r,
            topic,
            event: ClientEvent.task,
            payload: { body, type: "trusted_work", ref: r, client_id: null },
          },
          VSN,
        ),
      );
      return done;
    },
    close: () => new Promise((ok) => (ws.readyState === ws.CLOSED ? ok() : (ws.once("close", ok), ws.close()))),
  };
}
