/** Base64 and result-body coding of the wire protocol, identical in Node, browsers and workers. */
import { gunzipSync, gzipSync, strFromU8, strToU8 } from "fflate";
import type { ResultContent, TaskBody } from "./cluster.js";
import type { ErrorCode } from "./errors.js";

// Native base64 where it exists (Chromium 140+: Uint8Array.prototype.toBase64; Node: Buffer); the
// portable fallback is far slower and only serves older browsers.
type NativeBase64 = { toBase64?: () => string };
type NativeFromBase64 = { fromBase64?: (text: string) => Uint8Array };
// Node's Buffer, typed here by the little we use so this file compiles for the worker too.
interface NodeBufferLike {
  from(data: ArrayBufferLike, offset: number, length: number): { toString(encoding: "base64"): string };
  from(text: string, encoding: "base64"): Uint8Array;
}
const NodeBuffer = (globalThis as { Buffer?: NodeBufferLike }).Buffer;

export function toBase64(bytes: Uint8Array): string {
  const native = (bytes as NativeBase64).toBase64;
  if (native) return native.call(bytes);
  if (NodeBuffer) return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x2000)
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x2000) as unknown as number[]);
  return btoa(binary);
}

/** Throws on text that is not base64 (in browsers; Node's Buffer skips stray characters). */
export function fromBase64(text: string): Uint8Array {
  const native = (Uint8Array as NativeFromBase64).fromBase64;
  if (native) return native(text);
  if (NodeBuffer) return new Uint8Array(NodeBuffer.from(text, "base64"));
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** A string is taken as UTF-8 text, bytes as they are. */
export function base64Of(contents: string | Uint8Array): string {
  return toBase64(typeof contents === "string" ? strToU8(contents) : contents);
}

/** What the Python driver does: json.loads(gzip.decompress(base64.b64decode(body))). */
export function decodeResultBody(body: string): ResultContent {
  return parseResultContent(gunzipSync(fromBase64(body)));
}

/** A result body's inflated bytes as its JSON object. */
export function parseResultContent(json: Uint8Array): ResultContent {
  const value: unknown = JSON.parse(strFromU8(json));
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new Error("result body is not a JSON object");
  }
  return value as ResultContent;
}

/** `level`: gzip's (fflate's default 6 keeps a volunteer's upload small; 1 for a body re-encoded on the cluster's side). */
export function encodeResultBody(content: ResultContent, level: 1 | 6 = 6): string {
  return toBase64(gzipSync(strToU8(JSON.stringify(content)), { level }));
}

/** Preload files that came attached (attachments.ts) as base64 in the body: for a peer that reads no binary frames. */
export function inlinePreloadFiles(body: TaskBody, files: Record<string, Uint8Array>): TaskBody {
  const preload = { ...body.preload_files };
  for (const [path, bytes] of Object.entries(files)) preload[path] = toBase64(bytes);
  return { ...body, preload_files: preload };
}

/**
 * Result files that came attached (attachments.ts) put back into the result as base64 entries: the
 * body a peer that reads no binary frames gets (the Python client).
 */
export function inlineResultFiles(content: ResultContent, files: Record<string, Uint8Array>, level: 1 | 6 = 6): string {
  const merged: ResultContent = { ...content };
  for (const [path, bytes] of Object.entries(files)) merged[path] = toBase64(bytes);
  return encodeResultBody(merged, level);
}

export function textOf(base64: string | null | undefined): string {
  return base64 ? strFromU8(fromBase64(base64)) : "";
}

/** The body and stderr of an answer for a task that did not run to its end: `{"error", "error_code"}`, the reason in stderr. */
export function failureAnswer(error: string, code: ErrorCode): { body: string; stderr: string } {
  return { body: encodeResultBody({ error, error_code: code }), stderr: base64Of(`${error}\n`) };
}
