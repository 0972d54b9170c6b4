/**
 * The loopback cluster's HTTP side: the small API a worker and a driver need
 * (guest token, user, algorithm registry, statistics) and the static files.
 * A page of a foreign origin gets a 403 from the API, which it may read (so
 * the page can say which `--allow-origin` would admit it) and nothing else;
 * an allowed page gets its own origin echoed, never `*` (origins.ts).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { HttpPath } from "motivus-protocol";
import type { Accounts } from "./accounts.js";
import type { StaticFiles } from "./files.js";
import { originOfHost } from "./links.js";
import type { OriginPolicy } from "./origins.js";
import { EMPTY_LOADER_PATH, lookup } from "./registry.js";

export interface RouteContext {
  accounts: Accounts;
  origins: OriginPolicy;
  files: StaticFiles;
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
      "access-control-allow-methods": "GET, POST, OPTIONS",
      "access-control-allow-headers": "authorization, content-type",
      "access-control-max-age": "600",
    });
    return void res.end();
  }
  if (req.method === "POST" && path === HttpPath.guestToken) return json(res, 200, { token: context.accounts.issueGuest() });
  if (req.method === "GET" && path === HttpPath.user) {
    const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? "")?.[1];
    const user = context.accounts.userFor(bearer ?? null);
    return user ? json(res, 200, { data: user }) : json(res, 401, { error: "unknown token" });
  }
  if (req.method === "GET" && (path === HttpPath.registry || `${path}/` === HttpPath.registry)) {
    const base = `http://${req.headers.host ?? new URL(context.origin()).host}`;
    // data_url on one of the cluster's own origins, whatever name the driver used (links.ts).
    const own = originOfHost(req.headers.host, context.origins.ownOrigin) ?? context.origin();
    return json(res, 200, await lookup(context.algorithms, url.searchParams.get("name") ?? "", base, own));
  }
  if (req.method === "GET" && path === "/api/loopback/stats") return json(res, 200, context.stats());
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

export function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
