/**
 * One cluster, one origin — for every worker. The loopback cluster answers on several origins at
 * once: `http://localhost:<port>`, `http://127.0.0.1:<port>`, `http://[::1]:<port>`, the `--host`
 * address (and on a wildcard address every address of this machine; origins.ts). A driver names it
 * by one of them (the banner prints `localhost`, so the registry's `data_url` says `localhost`),
 * a worker page by another (the headless page opens `127.0.0.1`; a visitor may type either; a
 * second machine uses the LAN address). The worker fetches a task's `data_link` only from https or
 * from *its* cluster's origin, exactly — the origin it reached the cluster by (link-policy.ts).
 *
 * So the loopback, which alone knows which origins are its own, hands each worker the links that
 * point at itself on the origin *that worker* reached it by (the `Host` of its socket), when that
 * is one of its own origins too. Why here and not by widening the worker's policy:
 * - the worker library (shipped to every site, run against the real Waterbear cluster) stays
 *   exactly as strict as it was: no alias rule, no origin list a cluster could hand it;
 * - it is right for every worker, also one on another machine (to which a `localhost` link means
 *   itself, not the cluster: no worker-side alias rule could make that link right);
 * - nothing else is moved: a link to any other origin — another port on this machine, the page's
 *   site, a private address, an `--allow-origin` page's server — reaches the worker as the driver
 *   wrote it, and the worker's policy judges it as before.
 */
import type { TaskBody } from "motivus-protocol";

/** Which origins are the cluster's own: the normalised origin, or null (origins.ts `OriginPolicy.ownOrigin`). */
export type OwnOrigin = (origin: string) => string | null;

/**
 * `link` as the worker that reached the cluster at `workerOrigin` fetches it: moved to
 * `workerOrigin` when it points at one of the cluster's own origins (same path, query and
 * fragment; never credentials), unchanged otherwise, and unchanged when the worker's origin is
 * not one of the cluster's own (null).
 */
export function linkFor(link: string, workerOrigin: string | null, own: OwnOrigin): string {
  if (workerOrigin === null) return link;
  let url: URL;
  try {
    url = new URL(link); // no base: a relative link stays what it was, and the worker refuses it
  } catch {
    return link;
  }
  if (url.origin === workerOrigin || own(url.origin) === null) return link;
  return `${workerOrigin}${url.pathname}${url.search}${url.hash}`;
}

/** The body a worker gets: `data_link` as `linkFor` says, the driver's body itself when nothing moves. */
export function bodyFor(body: TaskBody, workerOrigin: string | null, own: OwnOrigin): TaskBody {
  const link = body.data_link;
  if (!link) return body;
  const moved = linkFor(link, workerOrigin, own);
  // A copy: the task may be re-queued to a worker that reached the cluster by another origin.
  return moved === link ? body : { ...body, data_link: moved };
}

/**
 * The origin a request reached the cluster by, from its `Host` header, when that is one of the
 * cluster's own origins; null otherwise (no Host, a name the cluster does not answer to). For a
 * worker's socket: only that worker's own links follow it, and the worker's policy still judges them.
 */
export function originOfHost(host: string | undefined, own: OwnOrigin): string | null {
  if (!host) return null;
  try {
    const url = new URL(`http://${host}`);
    if (url.username || url.password || url.pathname !== "/" || url.search || url.hash) return null; // not just host[:port]
    return own(url.origin);
  } catch {
    return null;
  }
}
