/**
 * `data_link` fetched by the host (the sandbox has no network), each URL once
 * per page while it stays among the most recently used. Concurrent tasks
 * asking for the same link share one download.
 */
import { LruMap } from "./lru.js";

export class DataLinks {
  private readonly downloads: LruMap<string, Promise<ArrayBuffer>>;

  constructor(capacity = 8) {
    this.downloads = new LruMap(capacity);
  }

  get(url: string): Promise<ArrayBuffer> {
    let download = this.downloads.get(url);
    if (!download) {
      download = fetchBytes(url);
      download.catch(() => this.downloads.delete(url));
      this.downloads.set(url, download);
    }
    return download;
  }
}

async function fetchBytes(url: string): Promise<ArrayBuffer> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (err) {
    throw new Error(`could not fetch data_link ${url}: ${(err as Error).message}`);
  }
  if (!res.ok) throw new Error(`could not fetch data_link ${url}: it answered ${res.status}`);
  return res.arrayBuffer();
}
