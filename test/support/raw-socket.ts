/**
 * A bare Phoenix socket for tests, either side (worker or driver): frames
 * exactly as the test writes them, in either serializer version (the codec of
 * src/protocol/frame.ts), and a way to wait for the frame a test expects.
 */
import WebSocket from "ws";
import { PhxEvent } from "motivus-protocol";
import { decodeFrame, encodeFrame, type Ref, type Vsn } from "motivus-protocol";

export type { Vsn };

export interface Msg {
  joinRef: Ref;
  ref: Ref;
  topic: string;
  event: string;
  payload: any;
}

export class RawSocket {
  readonly received: Msg[] = [];
  private waiters: { test: (m: Msg) => boolean; ok: (m: Msg) => void }[] = [];
  closed: Promise<number>;

  private constructor(
    readonly ws: WebSocket,
    readonly vsn: Vsn,
  ) {
    ws.on("message", (data) => {
      const msg: Msg = decodeFrame(data.toString(), vsn);
      this.received.push(msg);
      const i = this.waiters.findIndex((w) => w.test(msg));
      if (i >= 0) this.waiters.splice(i, 1)[0]!.ok(msg);
    });
    this.closed = new Promise((ok) => ws.on("close", (code) => ok(code)));
  }

  static open(url: string, vsn: Vsn | null): Promise<RawSocket> {
    const full = vsn ? `${url}${url.includes("?") ? "&" : "?"}vsn=${vsn}` : url;
    const ws = new WebSocket(full, { maxPayload: 256 * 1024 * 1024 });
    return new Promise((ok, fail) => {
      ws.once("open", () => ok(new RawSocket(ws, vsn ?? "1.0.0")));
      ws.once("error", fail);
    });
  }

  send(topic: string, event: string, payload: unknown, ref: Ref = null, joinRef: Ref = null): void {
    this.ws.send(encodeFrame({ joinRef, ref, topic, event, payload }, this.vsn));
  }

  /** The first frame (already received or still to come) that passes `test`. */
  next(test: (m: Msg) => boolean, timeoutMs = 10_000): Promise<Msg> {
    const seen = this.received.findIndex(test);
    if (seen >= 0) return Promise.resolve(this.received.splice(seen, 1)[0]!);
    return new Promise((ok, fail) => {
      const timer = setTimeout(() => fail(new Error("timed out waiting for a frame")), timeoutMs);
      this.waiters.push({
        test,
        ok: (m) => {
          clearTimeout(timer);
          this.received.splice(this.received.indexOf(m), 1);
          ok(m);
        },
      });
    });
  }

  reply(ref: string | number): Promise<Msg> {
    return this.next((m) => m.event === PhxEvent.reply && m.ref === ref);
  }

  /** Send and wait for the reply to it. */
  async call(topic: string, event: string, payload: unknown, ref: string | number): Promise<Msg> {
    this.send(topic, event, payload, ref, event === PhxEvent.join ? ref : null);
    return this.reply(ref);
  }

  close(): void {
    this.ws.close();
  }
}
