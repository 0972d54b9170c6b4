/**
 * `data_link` fetched by the host (the sandbox has no network): each URL once per page while it
 * stays among the most recently used, and across page loads from the data package store (IndexedDB),
 * revalidated then if its server gave an ETag or Last-Modified. Concurrent tasks asking for the
 * same link share one download. Every link passes the policy of link-policy.ts first, and every
 * download stops at `maxBytes`.
 */
import type { DataPackageStore } from "./data-package-store.js";
import { download } from "./download.js";
import { checkLink, type LinkPolicy } from "./link-policy.js";
import { LruMap } from "./lru.js";

export interface DataLinkOptions extends LinkPolicy {
  /** A larger data package is refused, whatever its server says about its length. */
  maxBytes: number;
  /** Downloads kept in memory. */
  capacity?: number;
  /** Where data packages outlive the page; without one they do not. */
  cache?: DataPackageStore;
}

/** `createWorker(…).cacheStats()`: whether data packages are kept across page loads (else why not), and how well it serves. */
export interface CacheStats {
  persistent: boolean;
  reason: string | null;
  /** data_link requests served without downloading the bytes (from memory, the store, or a 304). */
  hits: number;
  misses: number;
  /** What the store holds now: data packages, */
  bytes: number;
  entries: number;
  /** and bundle files (programs sent by reference), under the same cap. */
  bundleBytes: number;
  bundleFiles: number;
}

export class DataLinks {
  private readonly downloads: LruMap<string, Promise<ArrayBuffer>>;
  private hits = 0;
  private misses = 0;

  constructor(private readonly options: DataLinkOptions) {
    this.downloads = new LruMap(options.capacity ?? 8);
  }

  get(link: string): Promise<ArrayBuffer> {
    let download = this.downloads.get(link);
    if (download) this.hits++;
    else {
      const url = checkLink(link, this.options);
      download = url instanceof Error ? Promise.reject(url) : this.load(url);
      download.catch(() => this.downloads.delete(link));
      this.downloads.set(link, download);
    }
    return download;
  }

  async stats(): Promise<CacheStats> {
    const status = (await this.options.cache?.status()) ?? {
      persistent: false,
      reason: "no cache was given",
      bytes: 0,
      entries: 0,
      bundleBytes: 0,
      bundleFiles: 0,
    };
    return { ...status, hits: this.hits, misses: this.misses };
  }

  private async load(url: URL): Promise<ArrayBuffer> {
    const { cache, maxBytes } = this.options;
    const href = url.href;
    const tooBig = () => new Error(`data_link ${href} is larger than the ${maxBytes} bytes a data package may have`);
    const kept = await cache?.lookup(href);
    // A kept copy is revalidated if its server gave validators (once per page life: then `downloads`
    // holds it); offline, refused or failing, the server leaves it standing.
    const got =
      kept && kept.etag === null && kept.modified === null
        ? kept
        : await download(url, { what: "data_link", maxBytes, tooBig }, kept).catch((err: Error) => kept ?? Promise.reject(err));
    if (got === kept) this.hits++;
    else {
      this.misses++;
      // Not awaited: the task need not wait for the store.
      void cache?.keep(href, got.bytes, { etag: got.etag, modified: got.modified });
    }
    return got.bytes;
  }
}
