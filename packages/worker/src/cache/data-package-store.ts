/**
 * Data packages kept across page loads, by the SHA-256 of their bytes, under a size cap with
 * least-recently-used eviction. Whatever IndexedDB does (missing in a private window, blocked,
 * throwing, full), the store stops persisting, says why, and the worker goes on with what it keeps
 * in memory. Every read is checked against its key: damaged bytes are dropped, never run.
 */
import type { UseStore } from "idb-keyval";
import { consoleLogger, type Logger } from "../events.js";
import { admit, drop, emptyIndex, storedBytes, touch, type Link } from "./entry-index.js";
import { commit, dataPackageDb, readEntry, readIndex } from "./store.js";

export interface DataPackageStoreOptions {
  /** The store's cap; the least recently used entries go first. */
  maxBytes: number;
  /** SHA-256 of the bytes, as hex. */
  hash: (bytes: Uint8Array) => Promise<string>;
  store?: UseStore;
  /** Told when a copy is damaged and when the store stops persisting; the console by default. */
  logger?: Logger;
}

/** What the store keeps for a URL: its bytes, checked, and the validators to revalidate them with. */
export interface Kept extends Link {
  bytes: ArrayBuffer;
}

export class DataPackageStore {
  /** Why the store keeps nothing across page loads, once it does not. */
  private reason: string | null = null;
  private readonly store: UseStore;
  private readonly logger: Logger;

  constructor(private readonly options: DataPackageStoreOptions) {
    this.store = options.store ?? dataPackageDb();
    this.logger = options.logger ?? consoleLogger;
  }

  /** The checked bytes stored for `url`, marked as used; undefined when there are none (or they were damaged). */
  lookup(url: string): Promise<Kept | undefined> {
    return this.use(async (store) => {
      const link = (await readIndex(store)).links[url];
      if (!link) return undefined;
      const bytes = await readEntry(link.key, store);
      const intact = bytes && (await this.options.hash(new Uint8Array(bytes))) === link.key;
      await commit(store, (index) => {
        if (!intact) return { drop: drop(index, link.key) };
        touch(index, link.key);
        return { drop: [] };
      });
      if (intact) return { ...link, bytes };
      this.logger.warn(`motivus: the cached copy of ${url} is damaged or gone; fetching it again`);
      return undefined;
    });
  }

  /** Store `url`'s bytes (evicting what no longer fits); nothing happens to a failure but the store going memory-only. */
  async keep(url: string, bytes: ArrayBuffer, validators: Omit<Link, "key">): Promise<void> {
    await this.use(async (store) => {
      const key = await this.options.hash(new Uint8Array(bytes));
      await commit(store, (index) => {
        const gone = admit(index, url, { key, ...validators }, bytes.byteLength, this.options.maxBytes);
        return gone && { drop: gone, put: [key, bytes] };
      });
    });
  }

  /** Whether the store persists (else why not), and the bytes and entries it holds. */
  async status(): Promise<{ persistent: boolean; reason: string | null; bytes: number; entries: number }> {
    const index = (await this.use(readIndex)) ?? emptyIndex();
    return {
      persistent: this.reason === null,
      reason: this.reason,
      bytes: storedBytes(index),
      entries: Object.keys(index.entries).length,
    };
  }

  private async use<T>(work: (store: UseStore) => Promise<T>): Promise<T | undefined> {
    if (this.reason !== null) return undefined;
    try {
      return await work(this.store);
    } catch (err) {
      this.reason ??= whyNot(err);
      this.logger.warn(`motivus: ${this.reason}`);
      return undefined;
    }
  }
}

function whyNot(err: unknown): string {
  // Firefox's private windows answer open() with InvalidStateError, a context with storage blocked
  // throws SecurityError from the `indexedDB` getter itself; an aborted transaction may give no error.
  const { name, message } = (err ?? {}) as DOMException;
  return `${name === "QuotaExceededError" ? "the site's storage is full" : "IndexedDB is unavailable in this context (private window?)"}: ${name}: ${message}`;
}
