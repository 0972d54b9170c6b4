/**
 * Result files a worker sent as bytes (docs/protocol.md, "Files in binary frames"), put back into its
 * result body for a driver that reads no binary frames (the Python client): the body is inflated
 * (within a bound: the worker chose what it holds), the files go in as base64 entries, and it is
 * compressed again, fast (gzip level 1: it only crosses the loopback's own machine).
 */
import { gunzipSync } from "node:zlib";
import { fromBase64, inlineResultFiles, parseResultContent } from "motivus-protocol";

export function resultBodyWithFiles(
  body: string,
  files: Record<string, Uint8Array>,
  maxBytes: number,
): string | { error: string } {
  try {
    const content = parseResultContent(gunzipSync(fromBase64(body), { maxOutputLength: maxBytes }));
    return inlineResultFiles(content, files, 1);
  } catch (err) {
    return { error: `the worker's result body could not be read to add its result files: ${(err as Error).message}` };
  }
}
