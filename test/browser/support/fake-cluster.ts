/**
 * A bare V2 Phoenix cluster for tests of a misbehaving cluster (the cluster is outside the code
 * under test): it acks every frame, records the worker's offers and results, and pushes what a test
 * says, malformed or not.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import { HttpPath, PhxEvent, WorkerEvent } from "motivus-protocol";
import { decodeFrame, encodeFrame, type Ref } from "motivus-protocol";

export async function fakeCluster() {
  const http = createServer((req, res) => {
    res.setHeader("access-control-allow-origin", "*");
    res.setHeader("access-control-allow-headers", "authorization");
    if (req.url === HttpPath.guestToken) return res.end(JSON.stringify({ token: "guest" }));
    if (req.url === HttpPath.user) return res.end(JSON.stringify({ data: { uuid: "u-1", is_guest: true } }));
    res.end();
  });
  const wss = new WebSocketServer({ server: http });
  const offers: string[] = [];
  const results: any[] = [];
  let socket: WebSocket | null = null;
  let topic = "";
  let joinRef: Ref = null;
  wss.on("connection", (ws) => {
    socket = ws;
    ws.on("message", (raw) => {
      const frame = decodeFrame(raw.toString(), "2.0.0");
      const payload = frame.payload as any;
      if (frame.event === PhxEvent.join) [topic, joinRef] = [frame.topic, frame.joinRef];
      if (frame.event === WorkerEvent.inputRequest) offers.push(payload.tid);
      if (frame.event === WorkerEvent.result) results.push(payload);
      ws.send(encodeFrame({ ...frame, event: PhxEvent.reply, payload: { status: "ok", response: {} } }, "2.0.0"));
    });
  });
  await new Promise<void>((ok) => http.listen(0, "127.0.0.1", ok));
  return {
    origin: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    offers,
    results,
    push: (event: string, payload: unknown) => socket!.send(encodeFrame({ joinRef, ref: null, topic, event, payload }, "2.0.0")),
    raw: (text: string) => socket!.send(text),
    close: () =>
      new Promise<void>((ok) => {
        wss.clients.forEach((c) => c.terminate());
        wss.close();
        http.close(() => ok());
      }),
  };
}
