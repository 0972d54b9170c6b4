/**
 * *ours*: files in binary frames (docs/protocol.md, "Files in binary frames"). Between peers that
 * both said so, a payload with files (a task's `preload_files`, a result's files) travels as one
 * binary WebSocket frame: the JSON payload without those files, then their bytes as they are, never
 * base64, so nothing on the way parses, decodes or re-encodes them. The Phoenix frame's payload is
 *
 *     u32 big-endian header length · header (UTF-8 JSON) · each file's bytes, in the header's order
 *
 * the header being `{"payload": <the payload>, "files": [[field, name, size], …]}`. In the payload,
 * each attached file's entry is present with an empty string, so it keeps its schema.
 */
import { FrameError } from "./frame.js";

/**
 * The join payload field by which a worker or a driver says it reads binary frames, and the cluster's
 * join reply field by which it says it does too: only then does either side send one. A real
 * Waterbear cluster ignores it and replies without it.
 */
export const BINARY_FILES = "binary_files";

/** The fields whose files travel attached: a task's preload files, a result's files (by virtual path). */
export const AttachedField = { preload: "preload_files", result: "result_files" } as const;

/** File bytes beside a payload: field (`preload_files`, `result_files`) → name (a virtual path) → bytes. */
export type Attachments = Record<string, Record<string, Uint8Array>>;

export interface AttachedPayload {
  payload: unknown;
  files: Attachments;
}

/** Files one frame may carry (the frame's own size limit bounds the rest: the socket's maxPayload). */
export const MAX_ATTACHED_FILES = 10_000;

/** The frame payload in pieces (header, then each file), so a sender can write them without joining them. */
export function encodeAttached(payload: unknown, files: Attachments): Uint8Array[] {
  const list: [string, string, number][] = [];
  const bodies: Uint8Array[] = [];
  for (const [field, named] of Object.entries(files)) {
    for (const [name, bytes] of Object.entries(named)) {
      list.push([field, name, bytes.byteLength]);
      bodies.push(bytes);
    }
  }
  const header = new TextEncoder().encode(JSON.stringify({ payload, files: list }));
  const head = new Uint8Array(4 + header.byteLength);
  new DataView(head.buffer).setUint32(0, header.byteLength);
  head.set(header, 4);
  return [head, ...bodies];
}

/** Pieces as one buffer of their own (what a WebSocket `send` takes whole). */
export function joinPieces(pieces: readonly Uint8Array[]): Uint8Array {
  const joined = new Uint8Array(pieces.reduce((sum, piece) => sum + piece.byteLength, 0));
  let at = 0;
  for (const piece of pieces) {
    joined.set(piece, at);
    at += piece.byteLength;
  }
  return joined;
}

/** A binary frame's payload as its JSON payload and its files (views into `bytes`, not copies). */
export function decodeAttached(bytes: Uint8Array): AttachedPayload {
  if (bytes.byteLength < 4) throw new FrameError("a binary payload starts with its header's length");
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
  if (4 + length > bytes.byteLength)
    throw new FrameError(`a binary payload's header of ${length} bytes is larger than its frame`);
  let header: { payload?: unknown; files?: unknown };
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + length))) as typeof header;
  } catch {
    throw new FrameError("a binary payload's header is not JSON");
  }
  const list = header?.files;
  if (!Array.isArray(list) || list.length > MAX_ATTACHED_FILES)
    throw new FrameError(`a binary payload's header lists its files: at most ${MAX_ATTACHED_FILES}`);
  const files: Attachments = {};
  let at = 4 + length;
  for (const entry of list) {
    const [field, name, size] = (Array.isArray(entry) ? entry : []) as unknown[];
    if (typeof field !== "string" || typeof name !== "string" || !Number.isSafeInteger(size) || (size as number) < 0)
      throw new FrameError("a binary payload's file is [field, name, size]");
    if (at + (size as number) > bytes.byteLength) throw new FrameError(`a binary payload's file ${name} runs past the frame`);
    (files[field] ??= {})[name] = bytes.subarray(at, (at += size as number));
  }
  if (at !== bytes.byteLength) throw new FrameError("a binary payload has bytes its header does not list");
  return { payload: header.payload, files };
}

/** A file's bytes in an ArrayBuffer of their own, to transfer: the view's own buffer when it is the whole of it. */
export function ownBuffer(bytes: Uint8Array): ArrayBuffer {
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  return (whole ? bytes.buffer : bytes.slice().buffer) as ArrayBuffer;
}
