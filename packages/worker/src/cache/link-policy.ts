/**
 * Which `data_link`s the host page may fetch for an algorithm. The link comes from a driver, so
 * fetching it is an attack surface of its own: the visitor's browser must not become the driver's
 * proxy into the host site (its cookies, its origin) or into the visitor's private network.
 *
 * Allowed: `https:` URLs, and any URL on the cluster's own origin (a loopback cluster serves its
 * registry's data packages over plain http). Refused: relative URLs, every other scheme, the host
 * page's own origin (unless it is the cluster's), and private or loopback addresses when the page
 * itself is public. The fetch never sends credentials and never follows a redirect. A bundle file
 * sent by reference is fetched only from the cluster's own origin (`checkBundleLink`).
 *
 * "The cluster's own origin" is exactly the origin this worker reached the cluster by, never an
 * alias of it (`localhost` for `127.0.0.1`, say): a loopback cluster, which answers on several
 * origins, hands each worker its links to itself on that worker's origin (loopback/links.ts), so
 * no rule here needs to guess which names mean the same server.
 */

export interface LinkPolicy {
  /** The cluster's http(s) origin: its links are trusted (it sends the tasks anyway). */
  clusterOrigin: string;
  /** The host page's origin, e.g. `location.origin`. */
  pageOrigin: string;
}

/** The URL to fetch, or an Error saying why this link is refused. */
export function checkLink(link: string, policy: LinkPolicy): URL | Error {
  const url = absolute(link, "data_link");
  if (url instanceof Error || url.origin === policy.clusterOrigin) return url;
  if (url.protocol !== "https:")
    return new Error(`data_link ${short(link)} is refused: only https: links (or the cluster's own) are fetched`);
  if (url.origin === policy.pageOrigin)
    return new Error(`data_link ${short(link)} is refused: it points at the host page's own site`);
  if (isPrivateHost(url.hostname) && !isPrivateHost(hostOf(policy.pageOrigin))) {
    return new Error(`data_link ${short(link)} is refused: a public page does not fetch from private or local addresses`);
  }
  return url;
}

/**
 * A bundle file's URL (docs/protocol.md, "Bundles by reference"): stricter than a data_link, only the
 * cluster's own origin, which sends the program inline otherwise.
 */
export function checkBundleLink(link: string, policy: LinkPolicy): URL | Error {
  // A path (`/api/...`) is on the cluster's origin: what the loopback sends, to keep references short.
  const url =
    link.startsWith("/") && !link.startsWith("//") ? new URL(link, policy.clusterOrigin) : absolute(link, "bundle file");
  if (url instanceof Error || url.origin === policy.clusterOrigin) return url;
  return new Error(
    `bundle file ${short(link)} is refused: only the cluster's own origin (${policy.clusterOrigin}) serves bundle files`,
  );
}

function absolute(link: string, what: string): URL | Error {
  try {
    return new URL(link); // no base: a relative link would resolve against the host site
  } catch {
    return new Error(`${what} "${short(link)}" is not an absolute URL`);
  }
}

function hostOf(origin: string): string {
  try {
    return new URL(origin).hostname;
  } catch {
    return "";
  }
}

const short = (text: string) => (text.length > 120 ? `${text.slice(0, 120)}…` : text);

/** Loopback, private, link-local and unique-local addresses, and names that only mean this machine or network. */
export function isPrivateHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (host === "localhost" || host.endsWith(".localhost") || host.endsWith(".local") || host.endsWith(".internal")) return true;
  const v4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(host)?.slice(1).map(Number);
  if (v4) {
    const [a, b] = v4 as [number, number];
    return (
      a === 0 ||
      a === 10 ||
      a === 127 ||
      (a === 100 && b >= 64 && b < 128) ||
      (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b < 32) ||
      (a === 192 && b === 168)
    );
  }
  if (!host.includes(":")) return false;
  if (host === "::" || host === "::1") return true;
  const mapped = /^::ffff:(.+)$/.exec(host)?.[1];
  if (mapped) return isPrivateHost(mapped.includes(".") ? mapped : hexToV4(mapped));
  return /^f[cd]/.test(host) || /^fe[89ab]/.test(host);
}

/** `::ffff:7f00:1` as the URL parser writes it → `127.0.0.1`. */
function hexToV4(hex: string): string {
  const [high = 0, low = 0] = hex.split(":").map((part) => parseInt(part, 16));
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}
