/**
 * Bundles by reference, the driver's side (docs/protocol.md, "Bundles by reference"). Against a
 * cluster whose driver-channel join reply names a bundle store (`bundle_store`: the loopback), each
 * task's wasm and loader are hashed, each distinct file is uploaded once per connection (tasks sent
 * together share one upload), and the task carries `wasm_ref` / `loader_ref` instead of the bytes.
 * Against any other cluster (a real Waterbear one replies `{}`), or when an upload fails, the bytes
 * go inline, as the Python client sends them.
 */
import { BUNDLE_STORE, type BundleFileRef, fromBase64, type TaskBody, type TaskPush } from "motivus-protocol";
import type { DriverLogger } from "./client.js";

type Kind = "wasm" | "loader";
interface Digest {
  sha256: string;
  size: number;
}

const KINDS = ["wasm", "loader"] as const;
/**
 * Texts whose digest is remembered, found by string equality (a program's text is usually one string
 * shared by its tasks: the registry's and the disk's caches hand out the same one). Each keeps its
 * text alive, so few.
 */
const MAX_DIGESTS = 8;
/** Files remembered per connection as uploaded (or refused): forgetting one only costs an upload. */
const MAX_UPLOADS = 1024;
/**
 * Files whose base64 text is shorter go inline on every cluster: a reference is ~200 bytes of JSON and
 * costs hashing and bookkeeping on both ends, which a file of a few KiB does not repay.
 */
const MIN_REFERENCED_TEXT = 4096;
/** What the driver reads of an upload's error answer, for its warning. */
const MAX_ERROR_BYTES = 1024;

const isNode = typeof process !== "undefined" && !!process.versions?.node;

/**
 * The store's path a join reply names, or null. Only a path on the cluster's own origin: each upload
 * carries the driver's token, which must not go to a host a reply names.
 */
export function storePathOf(reply: unknown): string | null {
  const path = typeof reply === "object" && reply !== null ? (reply as Record<string, unknown>)[BUNDLE_STORE] : undefined;
  return typeof path === "string" && /^\/[A-Za-z0-9_./-]*\/$/.test(path) && !path.includes("..") ? path : null;
}

/** Lowercase hex SHA-256: node:crypto in Node, crypto.subtle in a browser. */
async function sha256Hex(bytes: Uint8Array): Promise<string> {
  if (isNode) return (await import("./node-files.js")).sha256Hex(bytes);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** PUTs `bytes`: node:http in Node (twice as fast as its fetch for a big body), fetch in a browser. */
async function put(url: string, bytes: Uint8Array, headers: Record<string, string>): Promise<{ status: number; why: string }> {
  if (isNode) return (await import("./node-files.js")).putBytes(url, bytes, headers, MAX_ERROR_BYTES);
  const res = await fetch(url, { method: "PUT", body: bytes as Uint8Array<ArrayBuffer>, headers });
  return { status: res.status, why: res.ok ? "" : await excerpt(res, MAX_ERROR_BYTES).catch(() => "") };
}

/** Sets `key` in a map used as a bounded LRU (oldest first). */
function remember<K, V>(map: Map<K, V>, key: K, value: V, max: number): V {
  map.delete(key);
  if (map.size >= max) map.delete(map.keys().next().value!);
  map.set(key, value);
  return value;
}

/** At most `max` bytes of a response's body, as text. */
async function excerpt(res: Response, max: number): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return "";
  const parts: Uint8Array[] = [];
  let size = 0;
  while (size < max) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    size += value.length;
  }
  void reader.cancel().catch(() => {});
  const all = new Uint8Array(size);
  parts.reduce((at, part) => (all.set(part, at), at + part.length), 0);
  return new TextDecoder().decode(all.subarray(0, max));
}

export class BundleUploads {
  private readonly digests = new Map<string, Promise<Digest>>();
  /** This connection's uploads by SHA-256: whether the cluster took each. */
  private uploads = new Map<string, Promise<boolean>>();
  /** The store's URL on this connection; null: send inline. */
  private store: string | null = null;
  private warned = false;

  /** `origin`: the cluster's HTTP origin (its socket's, ws → http). */
  constructor(
    private readonly origin: string,
    private readonly token: string,
    private readonly logger: DriverLogger,
  ) {}

  /** Whether this connection sends references (so pushes wait for hashing and uploads). */
  get active(): boolean {
    return this.store !== null;
  }

  /** A (re)joined channel: what this cluster keeps (its join reply); nothing uploaded to it yet. */
  reset(joinReply: unknown): void {
    const path = storePathOf(joinReply);
    this.store = path === null ? null : `${this.origin}${path}`;
    this.uploads = new Map();
  }

  /** `push` as it goes on this connection: its files by reference where the cluster took them, else as it is. */
  async wire(push: TaskPush): Promise<TaskPush> {
    const { store, uploads } = this; // this connection's, should it be replaced meanwhile
    if (store === null) return push;
    const body: TaskBody = { ...push.body };
    // The wasm and the loader at once: two uploads of a new program overlap.
    const refs = await Promise.all(
      KINDS.map((kind) => {
        const text = body[kind];
        // Whatever fails here (a page without crypto.subtle: not a secure context) leaves the bytes inline.
        const worthIt = text !== null && text !== undefined && text.length >= MIN_REFERENCED_TEXT;
        return worthIt ? this.reference(store, uploads, text, kind).catch((err: Error) => this.inline(err)) : null;
      }),
    );
    KINDS.forEach((kind, i) => {
      const ref = refs[i];
      if (!ref) return;
      delete body[kind];
      body[`${kind}_ref`] = ref;
    });
    return { ...push, body };
  }

  /** Warns once per client: the same cause fails every task alike. */
  private inline(err: Error): null {
    if (this.warned) return null;
    this.warned = true;
    this.logger.warn(`motivus driver: could not send a bundle file by reference (${err.message}); it goes inline`);
    return null;
  }

  private async reference(
    store: string,
    uploads: Map<string, Promise<boolean>>,
    text: string,
    kind: Kind,
  ): Promise<BundleFileRef | null> {
    let decoded: Uint8Array | null = null; // the bytes, when this call decoded them for a new digest
    const digest = await this.digest(text, (bytes) => (decoded = bytes));
    const upload = uploads.get(digest.sha256) ?? this.upload(store, digest, decoded ?? fromBase64(text), kind);
    remember(uploads, digest.sha256, upload, MAX_UPLOADS);
    return (await upload) ? { ...digest, url: `${store}${digest.sha256}` } : null;
  }

  /** `decoded` is handed the bytes when they had to be decoded (the upload needs them too: decoded once). */
  private digest(text: string, decoded: (bytes: Uint8Array) => void): Promise<Digest> {
    const known = this.digests.get(text);
    if (known) return remember(this.digests, text, known, MAX_DIGESTS);
    const bytes = fromBase64(text);
    decoded(bytes);
    const digest = sha256Hex(bytes).then((sha256) => ({ sha256, size: bytes.length }));
    digest.catch(() => this.digests.delete(text));
    return remember(this.digests, text, digest, MAX_DIGESTS);
  }

  /** PUTs the file; false (and a warning) when the cluster did not take it: its tasks send it inline. */
  private async upload(store: string, digest: Digest, bytes: Uint8Array, kind: Kind): Promise<boolean> {
    const what = `the upload of a ${kind} (${digest.size} bytes, sha256 ${digest.sha256})`;
    try {
      const url = `${store}${digest.sha256}?kind=${kind}`;
      const headers = {
        "content-type": "application/octet-stream",
        ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
      };
      const { status, why } = await put(url, bytes, headers);
      if (status >= 200 && status < 300) return true;
      this.logger.warn(`motivus driver: the cluster refused ${what} (${status} ${why}); its tasks send it inline`);
    } catch (err) {
      this.logger.warn(`motivus driver: ${what} failed (${(err as Error).message}); its tasks send it inline`);
    }
    return false;
  }
}
