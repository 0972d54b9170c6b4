/**
 * Static files of the loopback cluster (the demo page, the built bundles, the
 * algorithm registry's folder, extra mounts), served by `sirv` (what Vite's
 * preview uses: MIME types, ETag and Last-Modified, ranges, index.html).
 *
 * Kept here, on top of it: the root confinement. A request path is decoded
 * once and refused when it holds a `..` segment, a backslash or a NUL byte;
 * sirv then only ever sees a clean path below its root. And a download that
 * ends early (the client went away) closes its file: sirv pipes a read
 * stream into the response and never destroys it, which leaks a descriptor
 * per aborted download.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, resolve, sep } from "node:path";
import type { Readable } from "node:stream";
import sirv from "sirv";

type Handler = ReturnType<typeof sirv>;

/** Text files as UTF-8 (sirv's types carry no charset), and `.ts` as text, not an MPEG stream. */
const TEXT_TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".ts": "text/plain; charset=utf-8",
};

/**
 * The path below a mount's root that `encodedPath` (still percent-encoded, already without the
 * mount's prefix) names, as clean segments joined by `/`; null when it is malformed or tries to
 * leave the root.
 */
export function confine(encodedPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(encodedPath);
  } catch {
    return null;
  }
  if (decoded.includes("\0") || decoded.includes("\\")) return null;
  const segments = decoded.split("/").filter((s) => s !== "" && s !== ".");
  if (segments.includes("..")) return null;
  return segments.join("/");
}

/**
 * Every page the loopback serves is cross-origin isolated, so -pthread programs (SharedArrayBuffer)
 * run in local testing; its files may still be embedded by other origins' pages (`cross-origin`).
 */
export const ISOLATION_HEADERS = {
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-embedder-policy": "require-corp",
  "cross-origin-resource-policy": "cross-origin",
} as const;

/** Percent-encode a clean path so that sirv's `decodeURI` gives it back unchanged. */
const forSirv = (path: string) => "/" + encodeURI(path).replace(/\?/g, "%3F").replace(/#/g, "%23");

export type Served = "served" | "missing" | "refused";

export class StaticFiles {
  private readonly mounts: { prefix: string; root: string; serve: Handler }[];

  /** `mounts`: URL prefix (ending in `/`) → folder. The longest matching prefix serves a path. */
  constructor(mounts: Record<string, string>) {
    this.mounts = Object.entries(mounts)
      .sort((a, b) => b[0].length - a[0].length)
      .map(([prefix, dir]) => ({
        prefix,
        root: resolve(dir),
        serve: sirv(dir, {
          dev: true, // look files up on each request: bundles are rebuilt while it runs
          etag: true,
          setHeaders: (res, pathname) => {
            const type = TEXT_TYPES[extname(pathname)];
            if (type) res.setHeader("content-type", type);
            for (const [name, value] of Object.entries(ISOLATION_HEADERS)) res.setHeader(name, value);
          },
        }),
      }));
  }

  /** Serve the file `pathname` (as the request URL has it, percent-encoded) names. */
  serve(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<Served> {
    const mount = this.mounts.find((m) => pathname.startsWith(m.prefix));
    if (!mount) return Promise.resolve("missing");
    const path = confine(pathname.slice(mount.prefix.length));
    if (path === null) return Promise.resolve("refused");
    // Belt and braces: the clean path resolves inside the root.
    const file = resolve(mount.root, path);
    if (file !== mount.root && !file.startsWith(mount.root + sep)) return Promise.resolve("refused");
    return new Promise<Served>((ok) => {
      res.once("pipe", (source: Readable) => {
        // HEAD: headers only, and no file to keep open.
        if (req.method === "HEAD") {
          source.destroy();
          res.end();
        } else res.once("close", () => source.destroy());
      });
      const url = req.url;
      req.url = forSirv(path);
      try {
        mount.serve(req, res, () => ok("missing"));
      } finally {
        req.url = url;
      }
      if (res.headersSent || res.writableEnded) ok("served");
    });
  }
}
