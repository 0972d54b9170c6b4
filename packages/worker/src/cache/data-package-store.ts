/**
 * Data packages kept across page loads, by the SHA-256 of their bytes, in the cache database
 * (store.ts) under its size cap with least-recently-used eviction. Every read is checked against
 * its key: damaged bytes are dropped, never run.
 */
import { admit, drop, touch, type Link } from "./entry-index.js";
import { commit, readEntry, readIndex, type CacheDatabase, type CacheStatus } from "./store.js";

/** What the store keeps for a URL: its bytes, checked, and the validators to revalidate them with. */
export interface Kept extends Link {
  bytes: ArrayBuffer;
}

export class DataPackageStore {
  constructor(private readonly db: CacheDatabase) {}

  /** The checked bytes stored for `url`, marked as used; undefined when there are none (or they were damaged). */
  lookup(url: string): Promise<Kept | undefined> {
    return this.db.use(async (store) => {
      const link = (await readIndex(store)).links[url];
      if (!link) return undefined;
      const bytes = await readEntry(link.key, store);
      const intact = bytes && (await this.db.options.hash(new Uint8Array(bytes))) === link.key;
      await commit(store, (index) => {
        if (!intact) return { drop: drop(index, link.key) };
        touch(index, link.key);
        return { drop: [] };
      });
      if (intact) return { ...link, bytes };
      this.db.logger.warn(`motivus: the cached copy of ${url} is damaged or gone; fetching it again`);
      return undefined;
    });
  }

  /** Store `url`'s bytes (evicting what no longer fits); nothing happens to a failure but the store going memory-only. */
  async keep(url: string, bytes: ArrayBuffer, validators: Omit<Link, "key">): Promise<void> {
    await this.db.use(async (store) => {
      const key = await this.db.options.hash(new Uint8Array(bytes));
      await commit(store, (index) => {
        const gone = admit(index, url, { key, ...validators }, bytes.byteLength, this.db.options.maxBytes);
        return gone && { drop: gone, put: [key, bytes] };
      });
    });
  }

  /** Whether the database persists (else why not), and what it holds of each kind. */
  status(): Promise<CacheStatus> {
    return this.db.status();
  }
}
