/**
 * The driver's reading of a result body (base64 of gzip of a JSON object),
 * like protocol/body.ts `decodeResultBody` but bounded: a worker chooses what
 * it sends, and a few hundred KiB of gzip can inflate to gigabytes. A large
 * body is inflated in small steps (fflate's streaming `Gunzip`) and given up
 * as soon as it passes `maxBytes`, before it is turned into text or parsed.
 */
import { Gunzip, gunzipSync } from "fflate";
import { ErrorCode, fromBase64, MotivusError, parseResultContent, type ResultContent } from "motivus-protocol";

/** A result body that inflates past the driver's `maxResultBytes`. */
export class ResultTooLargeError extends MotivusError {
  override name = "ResultTooLargeError";
  readonly code = ErrorCode.resultTooLarge;
}

/** Compressed bytes pushed per step: one step inflates to at most ~1,000 times this. */
const STEP = 16 * 1024;

/** Gunzip that stops at `maxBytes` (throwing ResultTooLargeError); Node passes its native zlib (node-files.ts). */
export type BoundedGunzip = (compressed: Uint8Array, maxBytes: number) => Uint8Array;

export function decodeResultBodyWithin(
  body: string,
  maxBytes: number,
  gunzipLarge: BoundedGunzip = inflateInSteps,
): ResultContent {
  const compressed = fromBase64(body);
  return parseResultContent(compressed.length <= STEP ? inflateSmall(compressed, maxBytes) : gunzipLarge(compressed, maxBytes));
}

export const tooLarge = (maxBytes: number) =>
  new ResultTooLargeError(
    `the result body inflates to more than ${maxBytes} bytes (maxResultBytes); it was not read. Raise maxResultBytes if the algorithm really returns that much`,
  );

/**
 * Most results: one step of gzip, which cannot inflate past ~16 MiB, so the size its trailer
 * declares (ISIZE) is exact unless it lies; inflated into a buffer of that size, so a liar gets a
 * cut, unreadable body and never more memory. (Streaming costs a window and buffer growth per body.)
 */
function inflateSmall(compressed: Uint8Array, maxBytes: number): Uint8Array {
  if (compressed.length < 18) throw new Error("the result body is not gzip data");
  const at = compressed.length - 4;
  const declared =
    (compressed[at]! | (compressed[at + 1]! << 8) | (compressed[at + 2]! << 16) | (compressed[at + 3]! << 24)) >>> 0;
  if (declared > maxBytes) throw tooLarge(maxBytes);
  return gunzipSync(compressed, { out: new Uint8Array(declared) });
}

function inflateInSteps(compressed: Uint8Array, maxBytes: number): Uint8Array {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const gunzip = new Gunzip((chunk) => {
    size += chunk.length;
    if (size <= maxBytes) chunks.push(chunk);
  });
  for (let at = 0; at < compressed.length; at += STEP) {
    gunzip.push(compressed.subarray(at, at + STEP), at + STEP >= compressed.length);
    if (size > maxBytes) throw tooLarge(maxBytes);
  }
  const text = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) text.set(chunk, (offset += chunk.length) - chunk.length);
  return text;
}
