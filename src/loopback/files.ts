/**
 * Static files of the loopback cluster: the demo page, the built bundles and
 * the algorithm registry's folder. Paths are resolved inside their root only.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { ServerResponse } from "node:http";
import { extname, join, normalize, resolve, sep } from "node:path";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".wasm": "application/wasm",
  ".zip": "application/zip",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".txt": "text/plain; charset=utf-8",
  ".ts": "text/plain; charset=utf-8",
};

/** The file under `root` that `urlPath` names, or null if it escapes the root. */
export function within(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  const base = resolve(root);
  const file = resolve(base, "." + normalize("/" + decoded));
  return file === base || file.startsWith(base + sep) ? file : null;
}

/** Serve a file; answers false when there is none, so the caller can 404. */
export async function sendFile(res: ServerResponse, file: string, head = false): Promise<boolean> {
  let target = file;
  let info = await stat(target).catch(() => null);
  if (info?.isDirectory()) {
    target = join(target, "index.html");
    info = await stat(target).catch(() => null);
  }
  if (!info?.isFile()) return false;
  res.writeHead(200, {
    "content-type": TYPES[extname(target)] ?? "application/octet-stream",
    "content-length": info.size,
    "cache-control": "no-cache",
  });
  if (head) res.end();
  else createReadStream(target).pipe(res);
  return true;
}
