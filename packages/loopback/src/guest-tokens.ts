/**
 * Guest tokens without storage: `guest.<random>.<mac>`, where `mac` is an
 * HMAC-SHA256 of `guest.<random>` under a key drawn when the server starts.
 * Issuing one costs the server nothing it has to keep, and a token from
 * another run (another key) or with a changed part is refused.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

export const GUEST_PREFIX = "guest.";

export class GuestTokens {
  private readonly key = randomBytes(32);

  issue(): string {
    const claim = GUEST_PREFIX + randomBytes(16).toString("base64url");
    return `${claim}.${this.mac(claim)}`;
  }

  /** Whether this server issued `token`, in constant time over the signature. */
  verify(token: string): boolean {
    if (!token.startsWith(GUEST_PREFIX)) return false;
    const dot = token.lastIndexOf(".");
    if (dot <= GUEST_PREFIX.length) return false;
    const given = Buffer.from(token.slice(dot + 1));
    const expected = Buffer.from(this.mac(token.slice(0, dot)));
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private mac(claim: string): string {
    return createHmac("sha256", this.key).update(claim).digest("base64url");
  }
}
