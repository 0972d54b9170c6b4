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
