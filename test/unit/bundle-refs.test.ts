// Bundles by reference, the worker's side (docs/protocol.md): a task whose wasm and loader come as
// references is prepared from bytes fetched from the cluster's own origin, checked against their size
// and SHA-256, once however many tasks ask at the same time; a warm worker gets the key alone. The
// files are served by a real local HTTP server that counts requests; IndexedDB (absent in Node) is
// tested in test/browser/bundle-refs.spec.ts.
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type BundleFileRef, ErrorCode, type Input, toBase64 } from "motivus-protocol";
import { BundleFileStore } from "../../packages/worker/src/cache/bundle-file-store.js";
import { BundleFiles } from "../../packages/worker/src/cache/bundle-files.js";
import { DataLinks } from "../../packages/worker/src/cache/data-links.js";
import {
  admit,
  admitEntry,
  bundleFileKey,
  emptyIndex,
  isBundleFile,
  storedBytes,
} from "../../packages/worker/src/cache/entry-index.js";
import { checkBundleLink } from "../../packages/worker/src/cache/link-policy.js";
import { CacheDatabase } from "../../packages/worker/src/cache/store.js";
import { BundleKeys, contentKey } from "../../packages/worker/src/pool/bundle-keys.js";
import { prepareTask, type PrepareContext, TaskRefused } from "../../packages/worker/src/pool/prepare.js";

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const wasm = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...Array.from({ length: 2000 }, (_, i) => i & 0xff)]);
const loader = new TextEncoder().encode("var wasm_bindgen = function () {};");

/** A cluster's bundle store: files by SHA-256 at /bundles/<sha256>, plus whatever `served` says for other paths. */
let server: Server;
let origin: string;
const requests: string[] = [];
const served = new Map<string, Uint8Array>();

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(req.url ?? "");
    const bytes = served.get(req.url ?? "");
    if (!bytes) return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": "application/wasm" });
    res.end(bytes);
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => server.close());
beforeEach(() => {
  requests.length = 0;
  served.clear();
});

/** Serve `bytes` at /bundles/<their sha256> (or at `path`); their reference. */
function publish(bytes: Uint8Array, path = `/bundles/${sha256(bytes)}`): BundleFileRef {
  served.set(path, bytes);
  return { sha256: sha256(bytes), size: bytes.byteLength, url: `${origin}${path}` };
}

const bundleFiles = (maxBytes = 1 << 20) =>
  new BundleFiles({ clusterOrigin: origin, pageOrigin: "http://page.test", maxBytes, hash: contentKey });

function contextOf(files: BundleFiles | undefined, warm: string | null = null): PrepareContext {
  const dataLinks = new DataLinks({ clusterOrigin: origin, pageOrigin: "http://page.test", maxBytes: 1024 });
  return { dataLinks, bundleFiles: files, keys: new BundleKeys(), warm, startupMs: 1000 };
}

const task = (body: Input["body"]): Input => ({ tid: "t", type: "work", body: { params: [], ...body } });

/** What `act` rejects with. */
async function refusal(act: Promise<unknown>): Promise<TaskRefused> {
  const err = await act.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TaskRefused);
  expect((err as TaskRefused).code).toBe(ErrorCode.refused);
  return err as TaskRefused;
}

describe("a task with its program by reference", () => {
  it("runs the fetched bytes under the same content key as the same program inline", async () => {
    const body = { wasm_ref: publish(wasm), loader_ref: publish(loader), arguments: "a b" };
    const { task: byRef, bundle, transfer } = await prepareTask(task(body), contextOf(bundleFiles()));
    const inline = await prepareTask(task({ wasm: toBase64(wasm), loader: toBase64(loader) }), contextOf(undefined));
    expect(bundle).toBe(`${sha256(wasm)}/${sha256(loader)}`);
    expect(bundle).toBe(inline.bundle);
    expect(new Uint8Array(byRef.bundle.wasm!)).toEqual(wasm);
    expect(byRef.bundle.loader).toBe("var wasm_bindgen = function () {};");
    expect(transfer).toContain(byRef.bundle.wasm);
    expect(byRef.args).toEqual(["a", "b"]);
    // The legacy adapter gets the body as the original worker posted it: no references.
    expect(Object.keys(byRef.legacyBody).sort()).toEqual(["arguments", "params"]);
  });

  it("either file may come by reference, the other inline; an empty loader (WASI) stays inline", async () => {
    const files = bundleFiles();
    const wasi = await prepareTask(task({ wasm_ref: publish(wasm), loader: "" }), contextOf(files));
    expect(wasi.bundle).toBe(`${sha256(wasm)}/${sha256(new Uint8Array())}`);
    expect(wasi.task.bundle.loader).toBe("");
    const mixed = await prepareTask(task({ wasm: toBase64(wasm), loader_ref: publish(loader) }), contextOf(files));
    expect(mixed.bundle).toBe(`${sha256(wasm)}/${sha256(loader)}`);
    expect(new Uint8Array(mixed.task.bundle.wasm!)).toEqual(wasm);
  });

  it("a worker that already runs the program gets the key alone: nothing is fetched", async () => {
    const body = { wasm_ref: publish(wasm), loader_ref: publish(loader) };
    const key = `${sha256(wasm)}/${sha256(loader)}`;
    const { task: warm, transfer } = await prepareTask(task(body), contextOf(bundleFiles(), key));
    expect(warm.bundle).toEqual({ key, wasm: null, loader: null });
    expect(transfer).toEqual([]);
    expect(requests).toEqual([]);
  });

  it("concurrent tasks needing the same files fetch each once, and each task gets bytes of its own to transfer", async () => {
    const files = bundleFiles();
    const body = { wasm_ref: publish(wasm), loader_ref: publish(loader) };
    const prepared = await Promise.all([1, 2, 3, 4].map(() => prepareTask(task(body), contextOf(files))));
    expect(requests.sort()).toEqual([`/bundles/${sha256(loader)}`, `/bundles/${sha256(wasm)}`].sort());
    const buffers = new Set(prepared.map((p) => p.task.bundle.wasm));
    expect(buffers.size).toBe(4);
    // A later task is served from memory too.
    await prepareTask(task(body), contextOf(files));
    expect(requests).toHaveLength(2);
  });

  it("bytes that do not hash to the reference's SHA-256 are refused, and the next task fetches again", async () => {
    const files = bundleFiles();
    const other = wasm.slice();
    other[100] = other[100]! ^ 1; // same size, one bit off
    const ref = { ...publish(other, `/bundles/${sha256(wasm)}`), sha256: sha256(wasm) };
    const err = await refusal(prepareTask(task({ wasm_ref: ref, loader: "" }), contextOf(files)));
    expect(err.message).toMatch(/the task's wasm: bundle file .* does not match the SHA-256 its reference says/);
    served.set(`/bundles/${sha256(wasm)}`, wasm); // the cluster's store repaired
    const { task: ok } = await prepareTask(task({ wasm_ref: ref, loader: "" }), contextOf(files));
    expect(new Uint8Array(ok.bundle.wasm!)).toEqual(wasm);
    expect(requests).toHaveLength(2);
  });

  it("a file of another size than its reference says is refused; reading stops at that size", async () => {
    const ref = publish(wasm);
    const short = await refusal(prepareTask(task({ wasm_ref: { ...ref, size: ref.size + 1 } }), contextOf(bundleFiles())));
    expect(short.message).toMatch(/has 2008 bytes, not the 2009 its reference says/);
    const long = await refusal(prepareTask(task({ wasm_ref: { ...ref, size: 10 } }), contextOf(bundleFiles())));
    expect(long.message).toMatch(/is larger than the 10 bytes its reference says/);
  });

  it("a file over the download limit is refused before anything is fetched", async () => {
    const err = await refusal(prepareTask(task({ wasm_ref: publish(wasm) }), contextOf(bundleFiles(1000))));
    expect(err.message).toMatch(/has 2008 bytes, more than the 1000 a download may have/);
    expect(requests).toEqual([]);
  });

  it("a reference off the cluster's origin is refused without a request; a missing file is refused with its status", async () => {
    const elsewhere = { ...publish(wasm), url: `https://cdn.example/bundles/${sha256(wasm)}` };
    const err = await refusal(prepareTask(task({ wasm_ref: elsewhere }), contextOf(bundleFiles())));
    expect(err.message).toMatch(/only the cluster's own origin .* serves bundle files/);
    const gone = { ...publish(wasm), url: `${origin}/bundles/nothing-here` };
    expect((await refusal(prepareTask(task({ wasm_ref: gone }), contextOf(bundleFiles())))).message).toMatch(/answered 404/);
    expect(requests).toEqual(["/bundles/nothing-here"]);
  });

  it("a pool without a bundle file source refuses a task by reference; a task with neither wasm nor wasm_ref is refused", async () => {
    const err = await refusal(prepareTask(task({ wasm_ref: publish(wasm) }), contextOf(undefined)));
    expect(err.message).toMatch(/sends its wasm by reference, and this worker fetches none/);
    expect((await refusal(prepareTask(task({ loader_ref: publish(loader) }), contextOf(bundleFiles())))).message).toBe(
      "the task has no wasm",
    );
  });

  it("without IndexedDB (Node has none) the store goes memory-only and says why; tasks still run", async () => {
    const warnings: string[] = [];
    const logger = { warn: (line: string) => void warnings.push(line), error: () => {} };
    const db = new CacheDatabase({ maxBytes: 1 << 20, hash: contentKey, logger });
    const files = new BundleFiles({
      clusterOrigin: origin,
      pageOrigin: "http://page.test",
      maxBytes: 1 << 20,
      hash: contentKey,
      store: new BundleFileStore(db),
    });
    const { task: ran } = await prepareTask(task({ wasm_ref: publish(wasm) }), contextOf(files));
    expect(new Uint8Array(ran.bundle.wasm!)).toEqual(wasm);
    expect(await db.status()).toMatchObject({ persistent: false, bundleFiles: 0, bundleBytes: 0 });
    expect(warnings.join("\n")).toMatch(/IndexedDB is unavailable/);
  });
});

describe("bundle files in the cache's index", () => {
  it("share the cap and the use order with data packages, under keys of their own", () => {
    const index = emptyIndex();
    const file = bundleFileKey("ab".repeat(32));
    expect(isBundleFile(file)).toBe(true);
    expect(isBundleFile("ab".repeat(32))).toBe(false);
    expect(admit(index, "u/a", { key: "a", etag: null, modified: null }, 40, 100)).toEqual([]);
    expect(admitEntry(index, file, 40, 100)).toEqual([]);
    // A third entry pushes out the least recently used, whatever its kind.
    expect(admitEntry(index, bundleFileKey("cd".repeat(32)), 40, 100)).toEqual(["a"]);
    expect(index.links).toEqual({});
    expect(admit(index, "u/b", { key: "b", etag: null, modified: null }, 40, 100)).toEqual([file]);
    expect([storedBytes(index), storedBytes(index, isBundleFile)]).toEqual([80, 40]);
    expect(admitEntry(index, bundleFileKey("ef".repeat(32)), 101, 100)).toBeNull();
  });

  it("are fetched only from the cluster's own origin (a path: on it), not from the places a data_link may be", () => {
    const policy = { clusterOrigin: "https://waterbear.example", pageOrigin: "https://news.example" };
    expect(checkBundleLink("https://waterbear.example/api/loopback/bundles/x", policy)).toBeInstanceOf(URL);
    for (const link of ["https://cdn.example/x", "http://waterbear.example/x", "https://news.example/x"])
      expect(String(checkBundleLink(link, policy)), link).toMatch(/only the cluster's own origin/);
    expect(String(checkBundleLink("/api/loopback/bundles/x", policy))).toBe("https://waterbear.example/api/loopback/bundles/x");
    // A scheme-relative link is not a path: it names another host.
    expect(String(checkBundleLink("//cdn.example/x", policy))).toMatch(/not an absolute URL/);
  });
});
