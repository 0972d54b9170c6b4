// The one eviction policy behind the data_link, compiled-module and loader caches.
import { expect, it } from "vitest";
import { LruMap } from "../../packages/worker/src/cache/lru.js";

it("keeps the most recently used entries up to its capacity", () => {
  const lru = new LruMap<string, number>(2);
  lru.set("a", 1);
  lru.set("b", 2);
  expect(lru.get("a")).toBe(1); // a is now the most recent
  lru.set("c", 3); // evicts b, the least recently used
  expect([lru.get("a"), lru.get("b"), lru.get("c"), lru.size]).toEqual([1, undefined, 3, 2]);
  lru.set("c", 4); // replacing does not grow it
  lru.delete("a");
  expect([lru.size, lru.get("c")]).toEqual([1, 4]);
});
