/**
 * A bare Phoenix socket for tests, either side (worker or driver): frames
 * exactly as the test writes them, in either serializer version (the codec of
 * src/protocol/frame.ts), and a way to wait for the frame a test expects.
 */
import WebSocket from "ws";
import { PhxEvent } from "motivus-protocol";
import {
  type Attachments,
  decodeAttached,
  decodeFrame,
  encodeAttached,
  encodeFrame,
  joinPieces,
  type Ref,
  type Vsn,
} from "motivus-protocol";

export type { Vsn };

export interface Msg {
  joinRef: Ref;
  ref: Ref;
  topic: string;
  event: string;
  payload: any;
  /** The files of a binary frame (docs/protocol.md, "Files in binary frames"); absent for a text frame. */
  files?: Attachments;
}

export class RawSocket {
  readonly received: Msg[] = [];
  private waiters: { test: (m: Msg) => boolean; ok: (m: Msg) => void }[] = [];
  closed: Promise<number>;

  private constructor(
    readonly ws: WebSocket,
    readonly vsn: Vsn,
  ) {
    ws.on("message", (data, isBinary) => {
      const msg: Msg = isBinary ? decodeServerPush(data as Buffer) : decodeFrame(data.toString(), vsn);
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

  /** A binary push (Phoenix's kind 0, as phoenix.js sends it) carrying `files` beside `payload`. */
  sendBinary(
    topic: string,
    event: string,
    payload: unknown,
    files: Attachments,
    ref: string,
    joinRef: string | null = null,
  ): void {
    const text = new TextEncoder();
    const parts = [joinRef ?? "", ref, topic, event].map((s) => text.encode(s));
    const head = Buffer.from([0, ...parts.map((p) => p.byteLength)]);
    this.ws.send(Buffer.concat([head, ...parts, joinPieces(encodeAttached(payload, files))]));
  }

  /** Sends bytes as one binary frame, exactly as given. */
  sendRaw(bytes: Uint8Array): void {
    this.ws.send(bytes);
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

/** A server's binary push: `[0, join_ref size, topic size, event size]`, those three, then the payload (attachments.ts). */
export function decodeServerPush(bytes: Buffer): Msg {
  if (bytes[0] !== 0) throw new Error(`a binary frame of kind ${bytes[0]}: servers push kind 0`);
  let at = 4;
  const [joinRef, topic, event] = [bytes[1]!, bytes[2]!, bytes[3]!].map((size) => bytes.subarray(at, (at += size)).toString());
  const { payload, files } = decodeAttached(new Uint8Array(bytes.buffer, bytes.byteOffset + at, bytes.byteLength - at));
  return { joinRef: joinRef || null, ref: null, topic: topic!, event: event!, payload, files };
}
