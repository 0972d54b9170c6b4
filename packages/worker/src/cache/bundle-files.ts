/**
 * Bundle files sent by reference (docs/protocol.md, "Bundles by reference"): a program's wasm or
 * loader by SHA-256, size and URL. Served from memory, else from the bundle file store, else
 * downloaded from the cluster's own origin under the data_link limits, checked against its size and
 * hash, and stored. Concurrent tasks asking for the same file share one load.
 */
import type { BundleFileRef } from "motivus-protocol";
import type { BundleFileStore } from "./bundle-file-store.js";
import { download } from "./download.js";
import { checkBundleLink, type LinkPolicy } from "./link-policy.js";
import { LruMap } from "./lru.js";

export interface BundleFileOptions extends LinkPolicy {
  /** A larger file is refused, whatever its reference says. */
  maxBytes: number;
  /** SHA-256 of the bytes, as hex. */
  hash: (bytes: Uint8Array) => Promise<string>;
  /** Files kept in memory (a program is two: its wasm and its loader). */
  capacity?: number;
  /** Where files outlive the page; without one they do not. */
  store?: BundleFileStore;
}

export class BundleFiles {
  private readonly files: LruMap<string, Promise<ArrayBuffer>>;

  constructor(private readonly options: BundleFileOptions) {
    this.files = new LruMap(options.capacity ?? 4);
  }

  /** The checked bytes of `ref`: a copy of its own, to transfer. Rejects with why a file cannot be had. */
  async get(ref: BundleFileRef): Promise<ArrayBuffer> {
    let file = this.files.get(ref.sha256);
    if (!file) {
      file = this.load(ref);
      file.catch(() => this.files.delete(ref.sha256));
      this.files.set(ref.sha256, file);
    }
    return (await file).slice(0);
  }

  private async load(ref: BundleFileRef): Promise<ArrayBuffer> {
    const kept = await this.options.store?.lookup(ref.sha256);
    if (kept) return kept;
    const bytes = await this.fetch(ref);
    // Not awaited: the task need not wait for the store.
    void this.options.store?.keep(ref.sha256, bytes);
    return bytes;
  }

  /** Only a file that is exactly what its reference says passes. */
  private async fetch(ref: BundleFileRef): Promise<ArrayBuffer> {
    const { maxBytes, hash } = this.options;
    const url = checkBundleLink(ref.url, this.options);
    if (url instanceof Error) throw url;
    if (ref.size > maxBytes)
      throw new Error(`bundle file ${url.href} has ${ref.size} bytes, more than the ${maxBytes} a download may have`);
    const tooBig = () => new Error(`bundle file ${url.href} is larger than the ${ref.size} bytes its reference says`);
    const { bytes } = await download(url, { what: "bundle file", maxBytes: ref.size, tooBig });
    if (bytes.byteLength !== ref.size)
      throw new Error(`bundle file ${url.href} has ${bytes.byteLength} bytes, not the ${ref.size} its reference says`);
    if ((await hash(new Uint8Array(bytes))) !== ref.sha256)
      throw new Error(`bundle file ${url.href} does not match the SHA-256 its reference says`);
    return bytes;
  }
}
