/**
 * Who a token belongs to, and what it may do. The loopback cluster has no
 * accounts: a token maps to a stable user uuid derived from it, so the same
 * token is the same user across restarts.
 *
 * Policy. Without a configured token (developer mode) any token is accepted
 * and every worker is trusted (PROTOCOL.md, "Loopback mode": the published
 * Python client sends `trusted_work` unless `public_cluster`). With a
 * configured token the cluster belongs to whoever holds it: that token may
 * drive and work; a guest token (minted by anyone with `POST /auth/guest`)
 * may only work, as an untrusted worker that gets `work` tasks and never
 * `trusted_work`, and is refused on the driver socket.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { GuestTokens } from "./guest-tokens.js";

export interface User {
  uuid: string;
  is_guest: boolean;
  name: string;
}

/** What a socket's token allows on this cluster. */
export interface Grant {
  user: User;
  /** May join the driver socket and send tasks. */
  drives: boolean;
  /** Gets `trusted_work` tasks as a worker (else only `work`). */
  trusted: boolean;
}

function uuidOf(token: string): string {
  const h = createHash("sha256").update(token).digest("hex");
  // Shaped like a v4 uuid so clients that validate the format accept it.
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const digest = (text: string) => createHash("sha256").update(text).digest();

export class Accounts {
  private readonly guests = new GuestTokens();
  private readonly configured: Buffer | null;

  constructor(configuredToken: string | null) {
    this.configured = configuredToken === null ? null : digest(configuredToken);
  }

  issueGuest(): string {
    return this.guests.issue();
  }

  /** The user a token authenticates, or null when it is refused. */
  userFor(token: string | null | undefined): User | null {
    return this.grantFor(token)?.user ?? null;
  }

  /** What a token may do, or null when it is refused. */
  grantFor(token: string | null | undefined): Grant | null {
    if (!token) return this.configured === null ? { user: userOf("anonymous", false), drives: true, trusted: true } : null;
    const guest = this.guests.verify(token);
    if (this.configured === null) return { user: userOf(token, guest), drives: true, trusted: true };
    if (guest) return { user: userOf(token, true), drives: false, trusted: false };
    // Compared as digests: constant time, whatever the lengths.
    if (!timingSafeEqual(digest(token), this.configured)) return null;
    return { user: userOf(token, false), drives: true, trusted: true };
  }
}

function userOf(token: string, guest: boolean): User {
  const uuid = uuidOf(token);
  return { uuid, is_guest: guest, name: guest ? `guest-${uuid.slice(0, 8)}` : "loopback" };
}
