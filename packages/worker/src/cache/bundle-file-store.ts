/**
 * Bundle files (a program's wasm and loader, sent by reference) kept across page loads in the cache
 * database (store.ts), beside the data packages and under the same cap and use order, as entries
 * `bundle:<sha256>`. A read is checked against its hash: a damaged file is dropped and fetched again.
 */
import { admitEntry, bundleFileKey, drop, touch } from "./entry-index.js";
import { commit, readEntry, readIndex, type CacheDatabase } from "./store.js";

export class BundleFileStore {
  constructor(private readonly db: CacheDatabase) {}

  /** The checked bytes of the file with this SHA-256 (hex), marked as used; undefined when absent or damaged. */
  lookup(sha256: string): Promise<ArrayBuffer | undefined> {
    const key = bundleFileKey(sha256);
    return this.db.use(async (store) => {
      if (!(await readIndex(store)).entries[key]) return undefined;
      const bytes = await readEntry(key, store);
      const intact = bytes && (await this.db.options.hash(new Uint8Array(bytes))) === sha256;
      await commit(store, (index) => {
        if (!intact) return { drop: drop(index, key) };
        touch(index, key);
        return { drop: [] };
      });
      if (intact) return bytes;
      this.db.logger.warn(`motivus: the stored bundle file ${sha256} is damaged or gone; fetching it again`);
      return undefined;
    });
  }

  /** Store a file's checked bytes under its SHA-256 (evicting what no longer fits); a failure only makes the store memory-only. */
  async keep(sha256: string, bytes: ArrayBuffer): Promise<void> {
    const key = bundleFileKey(sha256);
    await this.db.use((store) =>
      commit(store, (index) => {
        const gone = admitEntry(index, key, bytes.byteLength, this.db.options.maxBytes);
        return gone && { drop: gone, put: [key, bytes] };
      }),
    );
  }
}
