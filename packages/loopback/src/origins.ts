/**
 * Which web pages may use the loopback cluster from a browser. A request or
 * socket without an `Origin` header comes from a program (the Python and TS
 * drivers in Node, the tests), not a page, and is let through. A page may
 * connect when its origin is one of the cluster's own (`http://localhost:<port>`,
 * `http://127.0.0.1:<port>`, `http://[::1]:<port>`, the address it listens on;
 * on a wildcard address, every address of this machine) or one the operator
 * allowed (`--allow-origin`, `allowOrigins`). Any other page is refused:
 * without this, a page of another local site could join as a worker and read
 * a developer's tasks (or drive the workers). The Host header is not trusted
 * for this: a DNS-rebinding page controls it.
 */
import { networkInterfaces } from "node:os";

/** `http://Example.com:80/` → `http://example.com`; null when it is no origin. */
function normalise(origin: string): string | null {
  if (origin === "null") return origin; // opaque origins (sandboxed frames, file:) say "null"
  try {
    const url = new URL(origin);
    return url.origin === "null" ? null : url.origin;
  } catch {
    return null;
  }
}

const bracketed = (address: string) => (address.includes(":") ? `[${address}]` : address);

function localAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flatMap((list) => list ?? [])
    .map((entry) => entry.address.replace(/%.*$/, ""));
}

export class OriginPolicy {
  private readonly own = new Set<string>();
  private readonly extra = new Set<string>();

  constructor(host: string, port: number, allowOrigins: readonly string[]) {
    const wildcard = host === "0.0.0.0" || host === "::" || host === "";
    const names = ["localhost", "127.0.0.1", "::1", ...(wildcard ? localAddresses() : [host])];
    for (const name of names) {
      const origin = normalise(`http://${bracketed(name)}:${port}`);
      if (origin) this.own.add(origin);
    }
    for (const origin of OriginPolicy.check(allowOrigins)) this.extra.add(origin);
  }

  /** The given origins, normalised; throws, naming it, on one that is no origin. */
  static check(allowOrigins: readonly string[]): string[] {
    return allowOrigins.map((given) => {
      const origin = normalise(given);
      if (!origin)
        throw new Error(`allowOrigins: "${given}" is not an origin (scheme://host[:port], e.g. http://localhost:5173)`);
      return origin;
    });
  }

  /**
   * `origin` normalised when it is one of the cluster's own (its loopback names and listening
   * address on its port; not the `--allow-origin` pages' origins), else null. Which links the
   * cluster moves to the origin a worker reached it by (links.ts).
   */
  readonly ownOrigin = (origin: string): string | null => {
    const normal = normalise(origin);
    return normal !== null && this.own.has(normal) ? normal : null;
  };

  /** Whether a request with this `Origin` header may go on (no header: not a page, yes). */
  allows(origin: string | undefined): boolean {
    if (origin === undefined) return true;
    const normal = normalise(origin);
    return normal !== null && (this.own.has(normal) || this.extra.has(normal));
  }

  /** The CORS headers for a page of `origin`: its own origin echoed when allowed, nothing otherwise (never `*`). */
  corsHeaders(origin: string | undefined): Record<string, string> {
    if (origin === undefined || !this.allows(origin)) return {};
    return { "access-control-allow-origin": origin, vary: "Origin" };
  }

  /** The log line for a refused page: what happened and how to allow it. */
  refusal(what: string, origin: string): string {
    const shown = JSON.stringify(origin.slice(0, 200));
    return `refused ${what} from the page at ${shown}: not one of this cluster's origins; to let that page in, start the cluster with --allow-origin ${shown} (option allowOrigins)`;
  }
}
