// The SHA-256 used for bundle keys where a page has no crypto.subtle, against Node's.
import { createHash, randomBytes } from "node:crypto";
import { expect, it } from "vitest";
import { sha256 } from "../../packages/worker/src/pool/sha256.js";

it("equals node:crypto's SHA-256 at every padding boundary and on a large input", () => {
  const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
  for (const length of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000, 1 << 20]) {
    const data = randomBytes(length);
    expect(hex(sha256(data)), `${length} bytes`).toBe(createHash("sha256").update(data).digest("hex"));
  }
  expect(hex(sha256(new TextEncoder().encode("abc")))).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
});
