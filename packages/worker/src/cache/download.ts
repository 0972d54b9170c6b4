/**
 * One download for a task (a data_link, a bundle file): no credentials of the host site, no referrer,
 * no redirect to somewhere the link policy never saw, and never more than its byte limit, whatever
 * the server says about the length.
 */

/** The server could not be reached, or the connection broke mid-download: no answer came, good or bad. */
export class Unreachable extends Error {
  override name = "Unreachable";
}

export interface Download {
  bytes: ArrayBuffer;
  etag: string | null;
  modified: string | null;
}

export interface DownloadLimit {
  /** What is fetched, for messages ("data_link", "bundle file"). */
  what: string;
  maxBytes: number;
  /** The error for a download past `maxBytes`. */
  tooBig: () => Error;
}

/** The bytes at `url` and their validators, or `kept` itself when the server says (304) it is still current. */
export async function download<K extends Download>(url: URL, limit: DownloadLimit, kept?: K): Promise<Download | K> {
  const headers: Record<string, string> = {};
  if (kept?.etag) headers["if-none-match"] = kept.etag;
  if (kept?.modified) headers["if-modified-since"] = kept.modified;
  let res: Response;
  try {
    // No cookies or credentials of the host site, no referrer, no redirect to somewhere the policy never saw.
    // "no-store": the cache database is the cache, the HTTP cache need not hold a second copy.
    res = await fetch(url, {
      credentials: "omit",
      referrerPolicy: "no-referrer",
      redirect: "error",
      mode: "cors",
      cache: "no-store",
      headers,
    });
  } catch (err) {
    throw new Unreachable(`could not fetch ${limit.what} ${url.href}: ${(err as Error).message}`, { cause: err });
  }
  if (kept && res.status === 304) return kept;
  if (!res.ok) throw new Error(`could not fetch ${limit.what} ${url.href}: it answered ${res.status}`);
  if (Number(res.headers.get("content-length")) > limit.maxBytes) {
    await res.body?.cancel();
    throw limit.tooBig();
  }
  // Read as bytes whatever the content type says, counting as it comes.
  const bytes = await readAll(res.body, limit).catch((err: Error) => {
    throw err instanceof TypeError ? new Unreachable(`${limit.what} ${url.href} broke off: ${err.message}`, { cause: err }) : err;
  });
  return { bytes, etag: res.headers.get("etag"), modified: res.headers.get("last-modified") };
}

async function readAll(body: ReadableStream<Uint8Array> | null, limit: DownloadLimit): Promise<ArrayBuffer> {
  const reader = body?.getReader();
  if (!reader) return new ArrayBuffer(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit.maxBytes) {
      await reader.cancel();
      throw limit.tooBig();
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes.buffer;
}
