/**
 * `data_link` fetched by the host (the sandbox has no network), each URL once
 * per page while it stays among the most recently used. Concurrent tasks
 * asking for the same link share one download.
 */
export class DataLinks {
  private entries = new Map<string, Promise<ArrayBuffer>>();

  constructor(private readonly capacity = 8) {}

  get(url: string): Promise<ArrayBuffer> {
    let entry = this.entries.get(url);
    if (entry) {
      this.entries.delete(url); // re-insert: most recently used last
    } else {
      entry = download(url);
      entry.catch(() => this.entries.delete(url));
    }
    this.entries.set(url, entry);
    for (const old of this.entries.keys()) {
      if (this.entries.size <= this.capacity) break;
      this.entries.delete(old);
    }
    return entry;
  }
}

async function download(url: string): Promise<ArrayBuffer> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (err) {
    throw new Error(`could not fetch data_link ${url}: ${(err as Error).message}`);
  }
  if (!res.ok) throw new Error(`could not fetch data_link ${url}: it answered ${res.status}`);
  return res.arrayBuffer();
}
