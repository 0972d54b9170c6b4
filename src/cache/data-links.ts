/**
 * `data_link` fetched by the host (the sandbox has no network), each URL once
 * per page while it stays among the most recently used. Concurrent tasks
 * asking for the same link share one download. Every link passes the policy
 * of link-policy.ts first, and a download stops at `maxBytes`.
 */
import { checkLink, type LinkPolicy } from "./link-policy.js";
import { LruMap } from "./lru.js";

export interface DataLinkOptions extends LinkPolicy {
  /** A larger data package is refused, whatever its server says about its length. */
  maxBytes: number;
  /** Downloads kept. */
  capacity?: number;
}

export class DataLinks {
  private readonly downloads: LruMap<string, Promise<ArrayBuffer>>;

  constructor(private readonly options: DataLinkOptions) {
    this.downloads = new LruMap(options.capacity ?? 8);
  }

  get(link: string): Promise<ArrayBuffer> {
    let download = this.downloads.get(link);
    if (!download) {
      const url = checkLink(link, this.options);
      download = url instanceof Error ? Promise.reject(url) : fetchBytes(url, this.options.maxBytes);
      download.catch(() => this.downloads.delete(link));
      this.downloads.set(link, download);
    }
    return download;
  }
}

async function fetchBytes(url: URL, maxBytes: number): Promise<ArrayBuffer> {
  let res: Response;
  try {
    // No cookies or credentials of the host site, no referrer, no redirect to somewhere the policy never saw.
    res = await fetch(url, { credentials: "omit", referrerPolicy: "no-referrer", redirect: "error", mode: "cors" });
  } catch (err) {
    throw new Error(`could not fetch data_link ${url.href}: ${(err as Error).message}`);
  }
  if (!res.ok) throw new Error(`could not fetch data_link ${url.href}: it answered ${res.status}`);
  const tooBig = () => new Error(`data_link ${url.href} is larger than the ${maxBytes} bytes a data package may have`);
  if (Number(res.headers.get("content-length")) > maxBytes) {
    await res.body?.cancel();
    throw tooBig();
  }
  // Read as bytes whatever the content type says, counting as it comes.
  const reader = res.body?.getReader();
  if (!reader) return new ArrayBuffer(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw tooBig();
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
