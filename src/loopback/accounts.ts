/**
 * Who a token belongs to. The loopback cluster has no accounts: a token maps
 * to a stable user uuid derived from it, so the same token is the same user
 * across restarts. When a token is configured, only it and the guest tokens
 * this server issued are accepted.
 */
import { createHash, randomUUID } from "node:crypto";

export interface User {
  uuid: string;
  is_guest: boolean;
  name: string;
}

const GUEST_PREFIX = "guest.";

function uuidOf(token: string): string {
  const h = createHash("sha256").update(token).digest("hex");
  // Shaped like a v4 uuid so clients that validate the format accept it.
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export class Accounts {
  private guests = new Set<string>();

  constructor(private readonly configuredToken: string | null) {}

  issueGuest(): string {
    const token = GUEST_PREFIX + randomUUID();
    this.guests.add(token);
    return token;
  }

  /** The user a token authenticates, or null when it is refused. */
  userFor(token: string | null | undefined): User | null {
    if (!token) return this.configuredToken === null ? this.describe("anonymous") : null;
    const guest = this.guests.has(token);
    if (this.configuredToken !== null && token !== this.configuredToken && !guest) return null;
    return this.describe(token, guest);
  }

  private describe(token: string, guest = false): User {
    const uuid = uuidOf(token);
    return { uuid, is_guest: guest, name: guest ? `guest-${uuid.slice(0, 8)}` : "loopback" };
  }
}
