/**
 * The IndexedDB side of the cache, on `idb-keyval`: one object store holding each entry's bytes
 * under its SHA-256 and the index record under "index". It lives in the host page's origin (the
 * sandbox frame is an opaque origin with no storage, and only ever gets bytes).
 */
import { createStore, get, promisifyRequest, type UseStore } from "idb-keyval";
import { emptyIndex, type Index } from "./entry-index.js";

const INDEX = "index";

/**
 * The data packages' database. Lazy, like every idb-keyval store: nothing is opened before the first
 * read. Its object store is still named "bundles": renaming it would orphan what browsers already keep.
 */
export const dataPackageDb = (): UseStore => createStore("motivus-worker-cache", "bundles");

/** A record this code did not write (another version's, or damaged) counts as none. */
const valid = (index?: Index): Index | undefined => (index?.entries && index.links && index.clock >= 0 ? index : undefined);

export async function readIndex(store: UseStore): Promise<Index> {
  return valid(await get<Index>(INDEX, store)) ?? emptyIndex();
}

/** An entry's bytes, if the store has them. */
export async function readEntry(key: string, store: UseStore): Promise<ArrayBuffer | undefined> {
  const bytes = await get<unknown>(key, store);
  return bytes instanceof ArrayBuffer ? bytes : undefined;
}

export interface Change {
  /** Keys whose bytes go. */
  drop: string[];
  put?: [key: string, bytes: ArrayBuffer];
}

/**
 * Read the index, let `change` edit it, and write it back with the bytes it names, in one
 * transaction: another tab of this site may be caching too, and a half-written change (say, a
 * QuotaExceededError on the bytes) leaves the index as it was. `change` returns null to write nothing.
 */
export function commit(store: UseStore, change: (index: Index) => Change | null): Promise<void> {
  return store("readwrite", (objects) => {
    const read = objects.get(INDEX);
    // Edited in the request's own callback: a transaction closes once it has nothing left to do.
    read.onsuccess = () => {
      let index = valid(read.result);
      // Without a usable index, bytes in the store are nobody's: start afresh.
      if (!index) objects.clear();
      const done = change((index ??= emptyIndex()));
      if (!done) return;
      for (const key of done.drop) objects.delete(key);
      if (done.put) objects.put(done.put[1], done.put[0]);
      objects.put(index, INDEX);
    };
    return promisifyRequest(objects.transaction);
  });
}
