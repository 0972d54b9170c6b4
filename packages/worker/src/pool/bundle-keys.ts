/**
 * Content keys of the algorithms seen lately, by their base64 text as it came in the task: a
 * payload seen before is neither decoded nor hashed again. A key is the SHA-256 of the bytes
 * (`crypto.subtle`, or sha256.ts where the page is not a secure context).
 */
import { LruMap } from "../cache/lru.js";
import { sha256 } from "./sha256.js";

const hex = (digest: ArrayBuffer | Uint8Array) =>
  Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");

export async function contentKey(bytes: Uint8Array): Promise<string> {
  if (globalThis.crypto?.subtle) return hex(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return hex(sha256(bytes));
}

export class BundleKeys {
  private readonly keys = new LruMap<string, Promise<string>>(16);

  /** The key of the bytes `base64` stands for; `decode` runs only the first time this text is seen. */
  of(base64: string, decode: () => Uint8Array): Promise<string> {
    let key = this.keys.get(base64);
    if (!key) {
      key = contentKey(decode());
      this.keys.set(base64, key);
    }
    return key;
  }
}
