/**
 * The loopback cluster's HTTP side: the small API a worker and a driver need
 * (guest token, user, algorithm registry, statistics, the bundle store) and the static files.
 * A page of a foreign origin gets a 403 from the API, which it may read (so
 * the page can say which `--allow-origin` would admit it) and nothing else;
 * an allowed page gets its own origin echoed, never `*` (origins.ts).
 */
import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { BUNDLE_STORE_PATH, HttpPath } from "motivus-protocol";
import type { Accounts } from "./accounts.js";
import type { BundleKind, BundleStore } from "./bundle-store.js";
import type { StaticFiles } from "./files.js";
import { bytesInWords } from "./limits.js";
import { originOfHost } from "./links.js";
import type { OriginPolicy } from "./origins.js";
import { EMPTY_LOADER_PATH, lookup } from "./registry.js";

export interface RouteContext {
  accounts: Accounts;
  origins: OriginPolicy;
  files: StaticFiles;
  bundles: BundleStore;
  /** The largest bundle file a driver may upload. */
  maxUploadBytes: number;
  algorithms: string | null;
  /** This server's origin, when a request has no Host header. */
  origin: () => string;
  stats: () => unknown;
  log: (line: string) => void;
}

/** A request's URL, or null when its request-target is not one (`GET http://[/x`). */
export function requestUrl(req: IncomingMessage): URL | null {
  try {
    return new URL(req.url ?? "/", "http://loopback");
  } catch {
    return null;
  }
}

const API = [HttpPath.guestToken, HttpPath.user, HttpPath.registry, "/api/"];

export async function route(req: IncomingMessage, res: ServerResponse, context: RouteContext): Promise<void> {
  const url = requestUrl(req);
  if (!url) return json(res, 400, { error: "the request-target is not a URL" });
  const origin = req.headers.origin;
  for (const [name, value] of Object.entries(context.origins.corsHeaders(origin))) res.setHeader(name, value);
  const path = url.pathname;
  if (!context.origins.allows(origin) && API.some((p) => path.startsWith(p))) {
    context.log(context.origins.refusal(`${req.method} ${path}`, origin!));
    // Readable by that page: the refusal is all it learns, and it tells the page's developer the flag.
    if (req.method !== "OPTIONS") res.setHeader("access-control-allow-origin", origin!).setHeader("vary", "Origin");
    const flag = `--allow-origin ${origin!.slice(0, 200)}`;
    return json(res, 403, { error: `this page's origin may not use this cluster; start the cluster with ${flag} to let it in` });
  }
  if (req.method === "OPTIONS") {
    res.writeHead(origin !== undefined && context.origins.allows(origin) ? 204 : 403, {
      "access-control-allow-methods": "GET, HEAD, POST, PUT, OPTIONS",
      "access-control-allow-headers": "authorization, content-type",
      "access-control-max-age": "600",
    });
    return void res.end();
  }
  if (req.method === "POST" && path === HttpPath.guestToken) return json(res, 200, { token: context.accounts.issueGuest() });
  if (req.method === "GET" && path === HttpPath.user) {
    const user = context.accounts.userFor(bearerOf(req));
    return user ? json(res, 200, { data: user }) : json(res, 401, { error: "unknown token" });
  }
  if (req.method === "GET" && (path === HttpPath.registry || `${path}/` === HttpPath.registry)) {
    const base = `http://${req.headers.host ?? new URL(context.origin()).host}`;
    // data_url on one of the cluster's own origins, whatever name the driver used (links.ts).
    const own = originOfHost(req.headers.host, context.origins.ownOrigin) ?? context.origin();
    return json(res, 200, await lookup(context.algorithms, url.searchParams.get("name") ?? "", base, own));
  }
  if (req.method === "GET" && path === "/api/loopback/stats") return json(res, 200, context.stats());
  if (req.method === "PUT" && path.startsWith(BUNDLE_STORE_PATH)) return receiveBundle(req, res, url, context);
  if ((req.method === "GET" || req.method === "HEAD") && path.startsWith(BUNDLE_STORE_PATH))
    return serveBundle(req, res, path, context.bundles);
  if (req.method === "GET" && path === EMPTY_LOADER_PATH) {
    res.writeHead(200, { "content-type": "text/javascript; charset=utf-8", "content-length": "0" });
    return void res.end();
  }
  if (req.method === "GET" || req.method === "HEAD") {
    // Still percent-encoded (so `%2F..` reaches `confine`); literal `..` and `%2e%2e` were already resolved by the URL parser.
    const served = await context.files.serve(req, res, url.pathname);
    if (served === "served") return;
    if (served === "refused") return json(res, 400, { error: `${path} is not a path inside this server's folders` });
  }
  json(res, 404, { error: `nothing at ${req.method} ${path}` });
}

const BUNDLE_FILE = new RegExp(`^${BUNDLE_STORE_PATH}([0-9a-f]{64})$`);
const BUNDLE_TYPES: Record<BundleKind, string> = {
  wasm: "application/wasm", // a browser compiles it while it downloads
  loader: "text/javascript; charset=utf-8",
};

/** Whether an If-None-Match header names `etag` (or `*`); weak tags compare equal here, as for any GET. */
function namesTag(header: string | undefined, etag: string): boolean {
  return header !== undefined && header.split(",").some((tag) => ["*", etag].includes(tag.trim().replace(/^W\//, "")));
}

/** `GET <BUNDLE_STORE_PATH><sha256>`: a stored bundle file, named by its content, so cached for good. */
function serveBundle(req: IncomingMessage, res: ServerResponse, path: string, bundles: BundleStore): void {
  const sha256 = BUNDLE_FILE.exec(path)?.[1];
  const missing = () =>
    json(res, 404, {
      error: `no bundle file here: the store holds files by the lowercase hex SHA-256 of their bytes, and not this one`,
    });
  if (sha256 === undefined || !bundles.knows(sha256)) return missing();
  const etag = `"${sha256}"`;
  const cached = { etag, "cache-control": "public, max-age=31536000, immutable" };
  if (namesTag(req.headers["if-none-match"], etag)) return void res.writeHead(304, cached).end();
  const file = bundles.file(sha256);
  if (!file) return missing();
  // Bytes a driver sent, on the cluster's origin: never sniffed as anything else, never a document.
  const inert = { "x-content-type-options": "nosniff", "content-security-policy": "default-src 'none'; sandbox" };
  res.writeHead(200, { ...cached, ...inert, "content-type": BUNDLE_TYPES[file.kind], "content-length": file.bytes.length });
  res.end(req.method === "HEAD" ? undefined : file.bytes);
}

const bearerOf = (req: IncomingMessage) => /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? "")?.[1] ?? null;

/**
 * `PUT <BUNDLE_STORE_PATH><sha256>?kind=wasm|loader`: a driver uploads a bundle file once, then sends
 * tasks that name it (`wasm_ref`, `loader_ref`). Only a token that may drive may; the bytes must be
 * what the path names, and at most `maxUploadBytes`.
 */
async function receiveBundle(req: IncomingMessage, res: ServerResponse, url: URL, context: RouteContext): Promise<void> {
  const sha256 = BUNDLE_FILE.exec(url.pathname)?.[1];
  const kind = url.searchParams.get("kind");
  // Node discards an unread body after the answer, as on every route; one read past the limit ends the connection.
  const refuse = (status: number, error: string) => json(res, status, { error });
  if (sha256 === undefined) return refuse(404, `upload to ${BUNDLE_STORE_PATH}<the lowercase hex SHA-256 of the bytes>`);
  if (kind !== "wasm" && kind !== "loader") return refuse(400, "say what the file is: ?kind=wasm or ?kind=loader");
  const grant = context.accounts.grantFor(bearerOf(req));
  if (!grant?.drives)
    return refuse(grant ? 403 : 401, "only a token that may drive may upload bundle files (Authorization: Bearer <token>)");
  const limit = context.maxUploadBytes;
  const tooLarge = `a bundle file takes at most ${bytesInWords(limit)} here (the smaller of maxStoredBundleBytes and maxFrameBytes)`;
  if (Number(req.headers["content-length"] ?? 0) > limit) return refuse(413, tooLarge);
  const bytes = await readWithin(req, limit);
  if (!bytes) {
    res.setHeader("connection", "close");
    return refuse(413, tooLarge);
  }
  const actual = createHash("sha256").update(bytes).digest("hex");
  if (actual !== sha256) return refuse(400, `the bytes' SHA-256 is ${actual}, not the ${sha256} the path names`);
  if (!context.bundles.upload(sha256, kind, bytes))
    return refuse(507, "the bundle store has no room for this file beside the files queued tasks hold; send it inline");
  json(res, 201, { sha256, size: bytes.length });
}

/** A request's body, or null as soon as it passes `limit` bytes (then it is no longer read). */
function readWithin(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((ok, fail) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      req.removeAllListeners("data").pause();
      ok(null);
    });
    req.on("end", () => ok(Buffer.concat(chunks, size)));
    req.on("error", fail);
  });
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
