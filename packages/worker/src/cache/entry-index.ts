/**
 * The cache's bookkeeping, kept as one record beside the bytes: each entry's size and last use,
 * and which `data_link` URL holds which entry (with the validators its server gave). Data packages
 * and bundle files share the entries, so one cap and one use order cover both. Pure functions on a
 * plain object, so a store can change it inside one transaction.
 */

/**
 * An entry is bytes stored under their SHA-256 (hex): a data package under the bare hash, a bundle
 * file under `bundleFileKey` (a prefix no hex key has), so the two kinds never share an entry.
 */
export interface Entry {
  size: number;
  /** The index's `clock` at the last use: a counter, so clock changes and equal timestamps cannot reorder entries. */
  used: number;
}

/** A URL's bytes: their entry's key, and the HTTP validators to revalidate them with. */
export interface Link {
  key: string;
  etag: string | null;
  modified: string | null;
}

export interface Index {
  clock: number;
  entries: Record<string, Entry>;
  links: Record<string, Link>;
}

export const emptyIndex = (): Index => ({ clock: 0, entries: {}, links: {} });

const BUNDLE_FILE = "bundle:";
/** The entry key of a bundle file (a wasm or a loader) of this SHA-256. */
export const bundleFileKey = (sha256: string): string => `${BUNDLE_FILE}${sha256}`;
export const isBundleFile = (key: string): boolean => key.startsWith(BUNDLE_FILE);

/** The bytes of the entries `counted` picks (all of them by default). */
export const storedBytes = (index: Index, counted: (key: string) => boolean = () => true): number =>
  Object.entries(index.entries).reduce((sum, [key, entry]) => sum + (counted(key) ? entry.size : 0), 0);

/** Forget an entry and every link to it; the keys whose bytes the store should delete. */
export function drop(index: Index, key: string): string[] {
  delete index.entries[key];
  for (const [url, link] of Object.entries(index.links)) if (link.key === key) delete index.links[url];
  return [key];
}

/** Mark an entry as just used. */
export function touch(index: Index, key: string): void {
  const entry = index.entries[key];
  if (entry) entry.used = ++index.clock;
}

/**
 * Record that `url` now holds `link.key`, an entry of `size` bytes, as the most recent use. Returns
 * the keys whose bytes to delete: the entry the URL held before if nothing else links to it, then
 * what `admitEntry` evicts. Null (and nothing recorded) when the entry alone is larger than the cap.
 */
export function admit(index: Index, url: string, link: Link, size: number, maxBytes: number): string[] | null {
  if (size > maxBytes) return null;
  const before = index.links[url]?.key;
  index.links[url] = link;
  const gone =
    before && before !== link.key && !Object.values(index.links).some((l) => l.key === before) ? drop(index, before) : [];
  return [...gone, ...admitEntry(index, link.key, size, maxBytes)!];
}

/**
 * Record the entry `key` of `size` bytes as the most recent use, and evict the least recently used
 * other entries until the total fits `maxBytes`; the keys whose bytes to delete. Null (and nothing
 * recorded) when the entry alone is larger than the cap.
 */
export function admitEntry(index: Index, key: string, size: number, maxBytes: number): string[] | null {
  if (size > maxBytes) return null;
  index.entries[key] = { size, used: ++index.clock };
  const gone: string[] = [];
  let total = storedBytes(index);
  for (const [other, entry] of Object.entries(index.entries).sort((a, b) => a[1].used - b[1].used)) {
    if (total <= maxBytes) break;
    if (other === key) continue;
    total -= entry.size;
    gone.push(...drop(index, other));
  }
  return gone;
}
