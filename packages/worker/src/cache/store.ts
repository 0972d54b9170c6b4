/**
 * The IndexedDB side of the cache, on `idb-keyval`: one object store holding each entry's bytes
 * under its key (entry-index.ts) and the index record under "index". It lives in the host page's
 * origin (the sandbox frame is an opaque origin with no storage, and only ever gets bytes).
 */
import { createStore, get, promisifyRequest, type UseStore } from "idb-keyval";
import { consoleLogger, type Logger } from "../events.js";
import { emptyIndex, isBundleFile, storedBytes, type Index } from "./entry-index.js";

const INDEX = "index";

/**
 * The worker's cache database: data packages and bundle files. Lazy, like every idb-keyval store:
 * nothing is opened before the first read. Its object store is named "bundles" from before it held
 * any: renaming it would orphan what browsers already keep.
 */
export const workerCacheDb = (): UseStore => createStore("motivus-worker-cache", "bundles");

export interface CacheDatabaseOptions {
  /** The cap of everything stored, data packages and bundle files together; the least recently used go first. */
  maxBytes: number;
  /** SHA-256 of the bytes, as hex: every read is checked against it. */
  hash: (bytes: Uint8Array) => Promise<string>;
  store?: UseStore;
  /** Told when a copy is damaged and when the store stops persisting; the console by default. */
  logger?: Logger;
}

/** What the database keeps, by kind, and whether it keeps anything across page loads (else why not). */
export interface CacheStatus {
  persistent: boolean;
  reason: string | null;
  /** Data packages. */
  bytes: number;
  entries: number;
  /** Bundle files (wasm and loaders sent by reference). */
  bundleBytes: number;
  bundleFiles: number;
}

/**
 * The database the stores of each kind share, with its cap and hash. Whatever IndexedDB does (missing
 * in a private window, blocked, throwing, full), it stops persisting, says why once, and the worker
 * goes on with what it keeps in memory.
 */
export class CacheDatabase {
  /** Why nothing is kept across page loads, once it is not. */
  private whyNot: string | null = null;
  private readonly store: UseStore;
  readonly logger: Logger;

  constructor(readonly options: CacheDatabaseOptions) {
    this.store = options.store ?? workerCacheDb();
    this.logger = options.logger ?? consoleLogger;
  }

  /** Run `work` on the store; undefined, from now on, once IndexedDB failed. */
  async use<T>(work: (store: UseStore) => Promise<T>): Promise<T | undefined> {
    if (this.whyNot !== null) return undefined;
    try {
      return await work(this.store);
    } catch (err) {
      this.whyNot ??= whyNot(err);
      this.logger.warn(`motivus: ${this.whyNot}`);
      return undefined;
    }
  }

  async status(): Promise<CacheStatus> {
    const index = (await this.use(readIndex)) ?? emptyIndex();
    const keys = Object.keys(index.entries);
    return {
      persistent: this.whyNot === null,
      reason: this.whyNot,
      bytes: storedBytes(index, (key) => !isBundleFile(key)),
      entries: keys.filter((key) => !isBundleFile(key)).length,
      bundleBytes: storedBytes(index, isBundleFile),
      bundleFiles: keys.filter(isBundleFile).length,
    };
  }
}

function whyNot(err: unknown): string {
  // Firefox's private windows answer open() with InvalidStateError, a context with storage blocked
  // throws SecurityError from the `indexedDB` getter itself; an aborted transaction may give no error.
  const { name, message } = (err ?? {}) as DOMException;
  return `${name === "QuotaExceededError" ? "the site's storage is full" : "IndexedDB is unavailable in this context (private window?)"}: ${name}: ${message}`;
}

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
