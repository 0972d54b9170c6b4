/**
 * Phoenix frames in both serializer versions. V1 (`vsn=1.0.0` or none) is a
 * JSON object, V2 (`vsn=2.0.0`) a JSON array; a reply goes out in the version
 * its request came in, so each socket remembers its own. The loopback, the
 * tests' raw clients and the benchmark all encode and decode frames here.
 */
import { z } from "zod/mini";
import { ErrorCode, MotivusError } from "./errors.js";

export type Vsn = "1.0.0" | "2.0.0";

/** Refs are strings in the JS client and may be integers in the Python one. */
const Ref = z.nullable(z.union([z.string(), z.number()]));
export type Ref = z.infer<typeof Ref>;

export interface Frame {
  joinRef: Ref;
  ref: Ref;
  topic: string;
  event: string;
  payload: unknown;
}

const V1Frame = z.object({
  topic: z.string(),
  event: z.string(),
  payload: z.unknown(),
  ref: z.optional(Ref),
  join_ref: z.optional(Ref),
});

const V2Frame = z.tuple([Ref, Ref, z.string(), z.string(), z.unknown()]);

export function vsnOf(query: URLSearchParams): Vsn | null {
  const vsn = query.get("vsn");
  if (vsn === null || vsn === "1.0.0") return "1.0.0";
  if (vsn === "2.0.0") return "2.0.0";
  return null;
}

/** A frame that is not JSON, or not the shape of the serializer version it came in. */
export class FrameError extends MotivusError {
  override name = "FrameError";
  readonly code = ErrorCode.badFrame;
}

export function decodeFrame(text: string, vsn: Vsn): Frame {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new FrameError(`not JSON: ${text.slice(0, 80)}`);
  }
  if (vsn === "2.0.0") {
    const parsed = V2Frame.safeParse(json);
    if (!parsed.success) throw new FrameError("a vsn=2.0.0 frame is [join_ref, ref, topic, event, payload]");
    const [joinRef, ref, topic, event, payload] = parsed.data;
    return { joinRef, ref, topic, event, payload };
  }
  const parsed = V1Frame.safeParse(json);
  if (!parsed.success) throw new FrameError('a vsn=1.0.0 frame is {"topic", "event", "payload", "ref"}');
  const { topic, event, payload, ref = null, join_ref = null } = parsed.data;
  return { joinRef: join_ref, ref, topic, event, payload };
}

export function encodeFrame(frame: Frame, vsn: Vsn): string {
  if (vsn === "2.0.0") return JSON.stringify([frame.joinRef, frame.ref, frame.topic, frame.event, frame.payload]);
  const v1: Record<string, unknown> = { topic: frame.topic, event: frame.event, payload: frame.payload, ref: frame.ref };
  if (frame.joinRef !== null) v1.join_ref = frame.joinRef;
  return JSON.stringify(v1);
}

/**
 * Phoenix's binary frame (serializer V2, kind 0, "push") as a client sends it:
 * `[0, join_ref size, ref size, topic size, event size]`, those four as UTF-8, then the payload (a view, not a copy).
 */
export function decodeBinaryPush(bytes: Uint8Array): Frame & { payload: Uint8Array } {
  if (bytes.byteLength < 5 || bytes[0] !== 0) throw new FrameError("a binary frame from a client is a push (kind 0)");
  const text = new TextDecoder();
  let at = 5;
  const field = (size: number) => {
    if (at + size > bytes.byteLength) throw new FrameError("a binary frame is shorter than its header says");
    return text.decode(bytes.subarray(at, (at += size)));
  };
  const [joinRef, ref, topic, event] = [bytes[1]!, bytes[2]!, bytes[3]!, bytes[4]!].map(field) as [
    string,
    string,
    string,
    string,
  ];
  return { joinRef: joinRef || null, ref: ref || null, topic, event, payload: bytes.subarray(at) };
}

/**
 * The binary push a server sends (kind 0, no ref: `[0, join_ref size, topic size, event size]`, those
 * three, then the payload), as its head; the payload's pieces follow it on the wire.
 */
export function binaryPushHead(joinRef: Ref, topic: string, event: string): Uint8Array {
  const parts = [String(joinRef ?? ""), topic, event].map((s) => new TextEncoder().encode(s));
  if (parts.some((part) => part.byteLength > 255))
    throw new FrameError("a binary frame's join_ref, topic and event are at most 255 bytes each");
  const head = new Uint8Array(4 + parts.reduce((sum, part) => sum + part.byteLength, 0));
  head.set([0, ...parts.map((part) => part.byteLength)]);
  let at = 4;
  for (const part of parts) head.set(part, (at += part.byteLength) - part.byteLength);
  return head;
}
