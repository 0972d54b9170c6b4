/** The driver's disk side, Node only: bundles in, result files and logs out; and hashing them. */
import { createHash } from "node:crypto";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { gunzipSync } from "node:zlib";
import { fromBase64, type ResultContent } from "motivus-protocol";
import { tooLarge } from "./result-body.js";

const encoded = new Map<string, { version: string; base64: Promise<string> }>();

/** A bundle file as base64, read and encoded once while it stays unchanged on disk. */
export async function readBase64(path: string): Promise<string> {
  const info = await stat(path);
  const version = `${info.mtimeMs}:${info.size}`;
  const known = encoded.get(path);
  if (known?.version === version) return known.base64;
  const base64 = readFile(path).then((bytes) => bytes.toString("base64"));
  base64.catch(() => encoded.delete(path));
  encoded.set(path, { version, base64 });
  return base64;
}

/** Lowercase hex SHA-256 of a bundle file (bundle-uploads.ts). */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** A large result body through Node's zlib (fflate's streaming inflate took ~0.5 s for 20 MiB); it stops at `maxBytes`. */
export function gunzipWithin(compressed: Uint8Array, maxBytes: number): Uint8Array {
  try {
    return gunzipSync(compressed, { maxOutputLength: Math.max(1, maxBytes) });
  } catch (err) {
    if ((err as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") throw tooLarge(maxBytes);
    throw err;
  }
}

/** Write each `result_files` entry (virtual path → local path) from the result map, or from the files that came as bytes. */
export async function writeResultFiles(
  resultFiles: Record<string, string>,
  content: ResultContent,
  attached: Record<string, Uint8Array> = {},
): Promise<void> {
  for (const [virtual, local] of Object.entries(resultFiles)) {
    const value = content[virtual];
    const bytes = attached[virtual] ?? (typeof value === "string" ? fromBase64(value) : null);
    if (!bytes) continue; // the algorithm did not produce it; the error says why
    await mkdir(dirname(local), { recursive: true });
    await writeFile(local, bytes);
  }
}

/** Keep stdout and stderr of a task under the log folder, as the Python client does. */
export async function keepLogs(dir: string | null, id: number, stdout: string, stderr: string): Promise<void> {
  if (!dir) return;
  await mkdir(dir, { recursive: true });
  await Promise.all([
    writeFile(join(dir, `task-${id}.stdout.log`), stdout),
    writeFile(join(dir, `task-${id}.stderr.log`), stderr),
  ]);
}

/** PUTs `bytes` to `url`; its status, and at most `maxWhy` bytes of a refusal's body. */
export function putBytes(
  url: string,
  bytes: Uint8Array,
  headers: Record<string, string>,
  maxWhy: number,
): Promise<{ status: number; why: string }> {
  const send = url.startsWith("https:") ? httpsRequest : httpRequest;
  return new Promise((ok, fail) => {
    const req = send(url, { method: "PUT", headers: { ...headers, "content-length": String(bytes.byteLength) } }, (res) => {
      const status = res.statusCode ?? 0;
      let why = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => void (status >= 300 && why.length < maxWhy && (why += chunk)));
      res.on("end", () => ok({ status, why: why.slice(0, maxWhy) }));
      res.on("error", fail);
    });
    req.on("error", fail);
    req.end(bytes);
  });
}
