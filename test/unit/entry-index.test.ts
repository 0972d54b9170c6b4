// The data package store's bookkeeping: which entries a size cap evicts, least recently used first, and
// which links go with them. Pure functions; the IndexedDB side is tested in test/browser/cache.spec.ts.
import { describe, expect, it } from "vitest";
import { admit, drop, emptyIndex, storedBytes, touch, type Index } from "../../packages/worker/src/cache/entry-index.js";

const link = (key: string, etag: string | null = null) => ({ key, etag, modified: null });
const keys = (index: Index) => Object.keys(index.entries).sort();

describe("the cache's index", () => {
  it("evicts the least recently used entries until the total fits the cap", () => {
    const index = emptyIndex();
    expect(admit(index, "u/a", link("a"), 40, 100)).toEqual([]);
    expect(admit(index, "u/b", link("b"), 40, 100)).toEqual([]);
    touch(index, "a"); // b is now the least recently used
    expect(admit(index, "u/c", link("c"), 40, 100)).toEqual(["b"]);
    expect(keys(index)).toEqual(["a", "c"]);
    expect(index.links["u/b"]).toBeUndefined();
    expect(storedBytes(index)).toBe(80);
    // A big one pushes out everything older until it fits.
    expect(admit(index, "u/d", link("d"), 90, 100)?.sort()).toEqual(["a", "c"]);
    expect([keys(index), storedBytes(index)]).toEqual([["d"], 90]);
  });

  it("never stores an entry larger than the cap, and leaves the rest alone", () => {
    const index = emptyIndex();
    admit(index, "u/a", link("a"), 10, 100);
    expect(admit(index, "u/huge", link("huge"), 101, 100)).toBeNull();
    expect([keys(index), index.links["u/huge"]]).toEqual([["a"], undefined]);
  });

  it("a URL whose bytes changed lets go of its old entry unless another URL shares it", () => {
    const index = emptyIndex();
    admit(index, "u/a", link("same"), 10, 100);
    admit(index, "u/mirror", link("same"), 10, 100); // identical bytes: one entry, two links
    expect([keys(index), storedBytes(index)]).toEqual([["same"], 10]);
    expect(admit(index, "u/a", link("new", 'W/"2"'), 10, 100)).toEqual([]);
    expect(keys(index)).toEqual(["new", "same"]);
    expect(admit(index, "u/mirror", link("new"), 10, 100)).toEqual(["same"]);
    expect([keys(index), index.links["u/a"]]).toEqual([["new"], link("new", 'W/"2"')]);
  });

  it("dropping an entry (damaged bytes) drops every link to it", () => {
    const index = emptyIndex();
    admit(index, "u/a", link("x"), 10, 100);
    admit(index, "u/b", link("x"), 10, 100);
    admit(index, "u/c", link("y"), 10, 100);
    expect(drop(index, "x")).toEqual(["x"]);
    expect([keys(index), Object.keys(index.links)]).toEqual([["y"], ["u/c"]]);
  });

  it("use order survives being stored: it is a counter in the record, not a clock", () => {
    const index = emptyIndex();
    for (const key of ["a", "b", "c"]) admit(index, `u/${key}`, link(key), 30, 100);
    touch(index, "a");
    const reloaded: Index = structuredClone(index);
    expect(admit(reloaded, "u/d", link("d"), 30, 100)).toEqual(["b"]);
    expect(admit(reloaded, "u/e", link("e"), 30, 100)).toEqual(["c"]);
  });
});
