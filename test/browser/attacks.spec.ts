// Hostile algorithms through the real pipeline: the demo page (built library, sandbox frame, Web
// Workers) as a worker of a real loopback cluster, a host page holding secrets (a cookie,
// localStorage, sessionStorage, an IndexedDB database, a Cache Storage entry), and the TypeScript
// driver sending hand-written loaders (glue-shaped wasm-bindgen no-modules, with a real wasm) that
// try to reach them, the network, the page and the tasks after them. Each returns what it reached;
// every test fails if an attack worked. Network attempts are also checked on the server: every
// request and upgrade the loopback receives is recorded, and none may carry an attack's canary.
import type { Page } from "@playwright/test";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, ErrorCode, TaskError } from "motivus-driver";
import { CHROMIUM_ARGS, chromiumPath } from "../../packages/loopback/dist/browsers.js";
import type { LoopbackServer } from "motivus-loopback";
import { expect, fixtures, test } from "./support/cluster.js";
import { algorithm, recordEvents, type PageEvent } from "./support/hostile.js";

const SECRET = "host-secret";
const MARKER = "hostile-marker";
const echo = { wasm_path: `${fixtures}/c/build/classic/echo.wasm`, loader_path: `${fixtures}/c/build/classic/echo.js` };

/**
 * Helpers every hostile loader gets, as top-level code before its glue. A probe is a function that
 * returns what it reached, or throws; `probe` turns it into "reached: ..." or "blocked: <why>" (also
 * when it does not answer within 3 s: whether a request left anyway is what the server records).
 */
const PROBES = String.raw`
const PROBE_MS = 3000;
const short = (v) => { const s = String(v); return s.length > 240 ? s.slice(0, 237) + "..." : s; };
const why = (e) => short(e && typeof e === "object" && "message" in e ? (e.name ? e.name + ": " : "") + e.message : e);
async function probe(fn) {
  let timer;
  try {
    const what = await Promise.race([
      (async () => fn())(),
      new Promise((_, no) => { timer = setTimeout(() => no(new Error("no answer within " + PROBE_MS + " ms")), PROBE_MS); }),
    ]);
    return "reached: " + short(what);
  } catch (e) {
    return "blocked: " + why(e);
  } finally {
    clearTimeout(timer);
  }
}
async function probeAll(probes) {
  const out = {};
  await Promise.all(Object.entries(probes).map(async ([name, fn]) => { out[name] = await probe(fn); }));
  return out;
}
const events = (target, ok, bad) => new Promise((resolve, reject) => {
  target["on" + ok] = (e) => resolve(e);
  for (const name of bad) target["on" + name] = (e) => { if (e && e.preventDefault) e.preventDefault(); reject(new Error(name + " event" + (e && e.message ? ": " + e.message : e && "code" in e ? " " + e.code : ""))); };
});
const network = {
  fetch: (u) => async () => "status " + (await fetch(u)).status,
  fetchNoCors: (u) => async () => "response of type " + (await fetch(u, { mode: "no-cors" })).type,
  fetchWithCredentials: (u) => async () => "status " + (await fetch(u, { credentials: "include" })).status,
  fetchKeepalive: (u) => async () => "status " + (await fetch(u, { method: "POST", body: "x", keepalive: true })).status,
  xhrSync: (u) => () => { const x = new XMLHttpRequest(); x.open("GET", u, false); x.send(); return "status " + x.status + ": " + x.responseText.slice(0, 60); },
  xhrAsync: (u) => async () => { const x = new XMLHttpRequest(); x.open("GET", u); const done = events(x, "load", ["error", "abort"]); x.send(); await done; return "status " + x.status; },
  webSocket: (u) => async () => { const ws = new WebSocket(u); try { await events(ws, "open", ["error", "close"]); return "open"; } finally { ws.close(); } },
  eventSource: (u) => async () => { if (typeof EventSource !== "function") throw new Error("EventSource is " + typeof EventSource); const es = new EventSource(u); try { await events(es, "open", ["error"]); return "open"; } finally { es.close(); } },
  sendBeacon: (u) => () => {
    if (typeof navigator.sendBeacon !== "function") throw new Error("navigator.sendBeacon is " + typeof navigator.sendBeacon);
    if (!navigator.sendBeacon(u, "x")) throw new Error("sendBeacon refused it");
    return "queued";
  },
  importScripts: (u) => () => { if (typeof importScripts !== "function") throw new Error("importScripts is " + typeof importScripts); importScripts(u); return self.hostScriptRan || "a script loaded"; },
  import: (u) => async () => { const m = await import(u); return m.ran || "a module with " + Object.keys(m).length + " exports"; },
  worker: (u) => async () => { const w = new Worker(u); try { return String((await events(w, "message", ["error", "messageerror"])).data); } finally { w.terminate(); } },
};
const attempt = (list) => probeAll(Object.fromEntries(list.map(([name, kind, url]) => [name, network[kind](url)])));
const storage = {
  document: () => { if (typeof document === "undefined") throw new Error("document is undefined"); return "a document at " + document.location; },
  "document.cookie": () => { if (typeof document === "undefined") throw new Error("document is undefined"); return JSON.stringify(document.cookie); },
  cookieStore: async () => { if (typeof cookieStore === "undefined") throw new Error("cookieStore is undefined"); return JSON.stringify(await cookieStore.getAll()); },
  localStorage: () => { const s = self.localStorage; if (!s) throw new Error("localStorage is " + typeof s); return JSON.stringify({ ...s }); },
  sessionStorage: () => { const s = self.sessionStorage; if (!s) throw new Error("sessionStorage is " + typeof s); return JSON.stringify({ ...s }); },
  "indexedDB.databases": async () => { if (!self.indexedDB) throw new Error("indexedDB is " + typeof self.indexedDB); return JSON.stringify(await indexedDB.databases()); },
  "indexedDB.open": async () => {
    const request = indexedDB.open("host-secrets");
    await events(request, "success", ["error", "blocked"]);
    const db = request.result;
    if (!db.objectStoreNames.contains("s")) { db.close(); throw new Error("got an empty database of its own (version " + db.version + "), not the host's"); }
    const get = db.transaction("s").objectStore("s").get("k");
    await events(get, "success", ["error"]);
    return String(get.result);
  },
  "caches.keys": async () => { if (!self.caches) throw new Error("caches is " + typeof self.caches); return JSON.stringify(await caches.keys()); },
  "caches.match": async () => {
    const cache = await caches.open("host-secrets");
    const [first] = await cache.keys();
    if (!first) throw new Error("got an empty cache of its own, not the host's");
    return (await cache.match(first)).text();
  },
};
const PROBES_SOURCE = ${"`"}__PROBES__${"`"};
`;

/** The probes' own text (what nested workers get as `PROBES_SOURCE`). */
const PROBES_TEXT = PROBES.split("const PROBES_SOURCE")[0]!;

/** A loader whose methods may use the probes. */
const hostile = (methods: string) =>
  algorithm(
    methods,
    PROBES.replace("`__PROBES__`", () => JSON.stringify(PROBES_TEXT)),
  );

/** The same as an ES module (wasm-bindgen `--target web` glue): imported from a blob URL in the sandbox. */
const hostileModule = (methods: string) => ({
  ...hostile(methods),
  loader: new TextEncoder().encode(
    `${PROBES.replace("`__PROBES__`", () => JSON.stringify(PROBES_TEXT))}\nconst algorithm = {\n${methods}\n};\nexport default async function __wbg_init() {}\nexport const main = (...args) => algorithm.main(...args);\n`,
  ),
});

interface Host {
  client: Client;
  events: PageEvent[];
  /** The host page's (and the cluster's) origin, and the same server as another origin. */
  origin: string;
  foreign: string;
  /** Runs a hostile task; its `data`. */
  run(methods: string, params?: unknown[], entry?: string): Promise<unknown>;
  /** The same, its loader an ES module. */
  runModule(methods: string, params?: unknown[]): Promise<unknown>;
  /** Requests and upgrades the server received carrying a canary. */
  canaries(): string[];
  /** Every request and upgrade the server received. */
  hits: string[];
  /** Messages the host page's window received that carry the marker. */
  marked(): Promise<string[]>;
  /** An ordinary task afterwards: the worker still works. */
  nextTaskRuns(): Promise<void>;
}

/** Every request and upgrade the loopback server receives (its HTTP server is private: reached for the test's eyes only). */
function serverHits(cluster: LoopbackServer): string[] {
  const hits: string[] = [];
  const http = (cluster as unknown as { http: import("node:http").Server }).http;
  http.prependListener("request", (req) => void hits.push(`${req.method} ${req.url}`));
  http.prependListener("upgrade", (req) => void hits.push(`UPGRADE ${req.url}`));
  return hits;
}

/** The demo page as a worker, holding the host's secrets in every store it has; a driver. */
async function hostPage(page: Page, cluster: LoopbackServer, query = ""): Promise<Host> {
  const hits = serverHits(cluster);
  await page.goto(`${cluster.origin}/worker.html?autostart=1&threads=1${query}`);
  await expect.poll(() => cluster.stats().offered_slots).toBe(1);
  const events = await recordEvents(page);
  const held = await page.evaluate(async (secret) => {
    document.cookie = `session=${secret}-cookie; path=/`;
    localStorage.setItem("token", `${secret}-local`);
    sessionStorage.setItem("token", `${secret}-session`);
    await new Promise<void>((ok, fail) => {
      const open = indexedDB.open("host-secrets", 1);
      open.onupgradeneeded = () => open.result.createObjectStore("s");
      open.onerror = () => fail(open.error);
      open.onsuccess = () => {
        const tx = open.result.transaction("s", "readwrite");
        tx.objectStore("s").put(`${secret}-idb`, "k");
        tx.oncomplete = () => ok();
        tx.onerror = () => fail(tx.error);
      };
    });
    await (await caches.open("host-secrets")).put("/secret", new Response(`${secret}-cache`));
    const w = window as unknown as { hostMessages: string[] };
    w.hostMessages = [];
    addEventListener("message", (e) => void w.hostMessages.push(String(JSON.stringify(e.data)).slice(0, 300)));
    return [
      document.cookie,
      localStorage.getItem("token"),
      sessionStorage.getItem("token"),
      await (await caches.match("/secret"))!.text(),
    ];
  }, SECRET);
  expect(held).toEqual([`session=${SECRET}-cookie`, `${SECRET}-local`, `${SECRET}-session`, `${SECRET}-cache`]);
  const client = await Client.connect({ uri: cluster.driverUri, logDir: null });
  return {
    client,
    events,
    origin: cluster.origin,
    foreign: cluster.origin.replace("127.0.0.1", "localhost"),
    run: (methods, params = [], entry) =>
      client.selectTask(client.callAsync({ ...hostile(methods), params, ...(entry ? { entry } : {}) })),
    runModule: (methods, params = []) => client.selectTask(client.callAsync({ ...hostileModule(methods), params })),
    canaries: () => hits.filter((hit) => hit.includes("canary")),
    hits,
    marked: async () =>
      (await page.evaluate(() => (window as unknown as { hostMessages: string[] }).hostMessages)).filter((m) =>
        m.includes(MARKER),
      ),
    nextTaskRuns: async () =>
      expect(await client.selectTask(client.callAsync({ ...echo, arguments: ["still", "working"] }))).toBe(0),
  };
}

/** Each probe's outcome is "blocked: ...", and none holds a secret. */
function expectNothingReached(outcomes: unknown): void {
  const all = outcomes as Record<string, string>;
  test.info().annotations.push({ type: "outcomes", description: JSON.stringify(all) });
  expect(Object.keys(all).length).toBeGreaterThan(0);
  for (const [name, outcome] of Object.entries(all)) expect(outcome, name).toMatch(/^blocked: /);
  expect(JSON.stringify(all)).not.toContain(SECRET);
}

/** The attempts of one kind at the host's origin and at the foreign one: [name, kind, url]. */
function targets(host: Host, kind: string, what: (origin: string, canary: string) => string): [string, string, string][] {
  return (["host", "foreign"] as const).map((where) => {
    const name = `${kind}@${where}`;
    return [name, kind, what(where === "host" ? host.origin : host.foreign, `canary=${encodeURIComponent(name)}`)];
  });
}
const script = (origin: string, canary: string) => `${origin}/fixtures/hostile/beacon.js?${canary}`;

// The probes themselves, checked: run by an ordinary worker of the host page (same origin, no
// sandbox), the same code reaches the host's data and the network, and the server records each
// attempt. So "blocked" in the tests below is the sandbox's doing, not a probe that cannot work.
test("control: the same probes in an ordinary worker of the host page reach its data and the network", async ({
  page,
  cluster,
}) => {
  const host = await hostPage(page, cluster);
  const canary = (name: string) => `canary=control-${encodeURIComponent(name)}`;
  const ws = (origin: string) => origin.replace("http", "ws");
  const list: [string, string, string][] = [];
  for (const [where, origin] of [
    ["host", host.origin],
    ["foreign", host.foreign],
  ] as const) {
    // (A worker's script must be of the page's own origin: `new Worker` of the foreign one throws before any request.)
    for (const kind of [
      "fetch",
      "fetchNoCors",
      "fetchWithCredentials",
      "fetchKeepalive",
      "xhrSync",
      "xhrAsync",
      "eventSource",
      "importScripts",
      ...(where === "host" ? ["worker"] : []),
    ]) {
      list.push([`${kind}@${where}`, kind, `${origin}/fixtures/hostile/beacon.js?${canary(`${kind}@${where}`)}`]);
    }
    list.push([`webSocket@${where}`, "webSocket", `${ws(origin)}/socket/websocket?vsn=2.0.0&${canary(`webSocket@${where}`)}`]);
    list.push([`import@${where}`, "import", `${origin}/fixtures/hostile/beacon.mjs?${canary(`import@${where}`)}`]);
  }
  const reached = await page.evaluate(
    ([probes, attempts]) =>
      new Promise<Record<string, string>>((ok) => {
        const source = `${probes}\nonmessage = async (e) => postMessage({ ...(await attempt(e.data)), ...(await probeAll(storage)) });`;
        const worker = new Worker(URL.createObjectURL(new Blob([source])));
        // (beacon.js, once imported, posts a line of its own: the probes' answer is the object.)
        worker.onmessage = (e) => void (typeof e.data === "object" && ok(e.data));
        worker.postMessage(attempts);
      }),
    [PROBES_TEXT, list] as const,
  );
  const beacon = await page.evaluate(
    (url) => navigator.sendBeacon(url, "x"),
    `${host.origin}/fixtures/hostile/beacon.js?${canary("sendBeacon@host")}`,
  );
  test.info().annotations.push({ type: "outcomes", description: JSON.stringify(reached) });
  expect(reached).toMatchObject({
    "fetch@host": "reached: status 200",
    "fetchNoCors@host": "reached: response of type basic",
    "fetchWithCredentials@host": "reached: status 200",
    "xhrSync@host": expect.stringMatching(/^reached: status 200: \/\/ A script of the host site/),
    "xhrAsync@host": "reached: status 200",
    "webSocket@host": "reached: open",
    "importScripts@host": "reached: the host's beacon.js ran",
    "worker@host": "reached: the host's beacon.js ran",
    "import@host": "reached: the host's beacon.mjs ran",
    "indexedDB.open": `reached: ${SECRET}-idb`,
    "caches.match": `reached: ${SECRET}-cache`,
  });
  expect(reached["fetchKeepalive@host"]).toMatch(/^reached: status \d+$/);
  expect(beacon).toBe(true);
  // Every attempt left the browser, at both origins (EventSource too, though a .js file is no event stream).
  await expect
    .poll(() =>
      [...list.map(([name]) => name), "sendBeacon@host"].filter(
        (name) => !host.canaries().some((hit) => hit.includes(canary(name))),
      ),
    )
    .toEqual([]);
  await host.client.close();
});

test.describe("the host page's data", () => {
  test("document, window, parent, top, opener and frameElement: a worker has none, and none leads to a document", async ({
    page,
    cluster,
  }) => {
    const host = await hostPage(page, cluster);
    const reached = await host.run(`main() {
      const out = {};
      for (const name of ["document", "window", "parent", "top", "opener", "frameElement", "frames", "self.parent", "globalThis.top"]) {
        out[name] = (() => {
          try {
            const v = name.includes(".") ? self[name.split(".")[1]] : self[name];
            if (v === undefined || v === null) return "blocked: " + name + " is " + v;
            if (v === self) return "blocked: " + name + " is the worker's own global";
            return "reached: " + (v.document ? "a document at " + v.document.location : typeof v);
          } catch (e) { return "blocked: " + why(e); }
        })();
      }
      return out;
    }`);
    expectNothingReached(reached);
    await host.nextTaskRuns();
    await host.client.close();
  });

  test("cookies: document.cookie and cookieStore", async ({ page, cluster }) => {
    const host = await hostPage(page, cluster);
    const reached = await host.run(
      `main() { return probeAll({ "document.cookie": storage["document.cookie"], cookieStore: storage.cookieStore }); }`,
    );
    expectNothingReached(reached);
    await host.client.close();
  });

  test("localStorage and sessionStorage", async ({ page, cluster }) => {
    const host = await hostPage(page, cluster);
    expectNothingReached(
      await host.run(
        `main() { return probeAll({ localStorage: storage.localStorage, sessionStorage: storage.sessionStorage }); }`,
      ),
    );
    await host.client.close();
  });

  test("IndexedDB: the host's database is neither listed nor opened", async ({ page, cluster }) => {
    const host = await hostPage(page, cluster);
    expectNothingReached(
      await host.run(
        `main() { return probeAll({ "indexedDB.databases": storage["indexedDB.databases"], "indexedDB.open": storage["indexedDB.open"] }); }`,
      ),
    );
    await host.client.close();
  });

  test("Cache Storage: the host's cache is neither listed nor read", async ({ page, cluster }) => {
    const host = await hostPage(page, cluster);
    expectNothingReached(
      await host.run(
        `main() { return probeAll({ "caches.keys": storage["caches.keys"], "caches.match": storage["caches.match"] }); }`,
      ),
    );
    await host.client.close();
  });
});

test.describe("the network, at the host's origin and at a foreign one (localhost vs 127.0.0.1)", () => {
  const cases: [string, string[], (origin: string, canary: string) => string][] = [
    [
      "fetch (plain, no-cors, with credentials, keepalive POST)",
      ["fetch", "fetchNoCors", "fetchWithCredentials", "fetchKeepalive"],
      script,
    ],
    ["XMLHttpRequest (sync and async)", ["xhrSync", "xhrAsync"], script],
    [
      "WebSocket (the cluster's own worker and driver sockets)",
      ["webSocket"],
      (origin, canary) => `${origin.replace("http", "ws")}/socket/websocket?vsn=2.0.0&${canary}`,
    ],
    ["EventSource", ["eventSource"], script],
    ["navigator.sendBeacon", ["sendBeacon"], script],
    ["importScripts of a host script", ["importScripts"], script],
    ["dynamic import() of a host module", ["import"], (origin, canary) => `${origin}/fixtures/hostile/beacon.mjs?${canary}`],
  ];
  for (const [title, kinds, url] of cases) {
    test(title, async ({ page, cluster }) => {
      const host = await hostPage(page, cluster);
      const list = kinds.flatMap((kind) => targets(host, kind, url));
      if (kinds.includes("webSocket"))
        list.push([
          "webSocket@host-driver",
          "webSocket",
          `${host.origin.replace("http", "ws")}/client_socket/websocket?vsn=2.0.0&canary=driver`,
        ]);
      if (kinds.includes("import"))
        list.push(["import@data", "import", `data:text/javascript,export const ran = "a data: module ran"; // canary`]);
      const reached = await host.run(`main(list) { return attempt(list); }`, [list]);
      expect(Object.keys(reached as object).sort()).toEqual(list.map(([name]) => name).sort());
      expectNothingReached(reached);
      await host.nextTaskRuns(); // also time for a late request (a beacon, a keepalive fetch) to arrive
      expect(host.canaries()).toEqual([]);
      await host.client.close();
    });
  }
});

test("the frame and the host page: postMessage to the frame (forged frame-protocol messages) reaches neither the host nor the pool", async ({
  page,
  cluster,
}) => {
  const host = await hostPage(page, cluster);
  const reached = await host.run(
    `main(marker) {
      // The worker's only other end is the sandbox frame's Worker object.
      const forged = [{ kind: "ready" }, { kind: "spawned", id: 1 }, { kind: "crashed", id: 1, message: marker }, { kind: "terminate", id: 1 }, marker];
      for (let id = 0; id < 8; id++) forged.push({ kind: "crashed", id, message: marker });
      for (const message of forged) self.postMessage(message);
      // A port of its own offered as a worker's, and the frame asked to spawn on it.
      const channel = new MessageChannel();
      self.postMessage({ kind: "spawn", id: 99, port: channel.port2 }, [channel.port2]);
      return new Promise((done) => {
        channel.port1.onmessage = (e) => done("reached: a runtime answered on its port: " + short(JSON.stringify(e.data)));
        channel.port1.postMessage({ id: "x", type: "GET", path: [] });
        setTimeout(() => done("blocked: nothing answered on its port"), 1000);
      });
    }`,
    [MARKER],
  );
  expect(reached).toMatch(/^blocked: /);
  await host.nextTaskRuns();
  expect(await host.marked()).toEqual([]);
  expect(host.events.filter((e) => e.kind === "taskFailed")).toEqual([]); // no forged crash reached the pool
  expect(cluster.stats()).toMatchObject({ done: 2, failed: 0, offered_slots: 1 });
  await host.client.close();
});

test("nested workers: their storage and network are blocked too, and workers of host or data: URLs do not start", async ({
  page,
  cluster,
}) => {
  const host = await hostPage(page, cluster);
  const nestedList = [
    ...targets(host, "fetch", script),
    ...targets(host, "xhrSync", script),
    ...targets(host, "webSocket", (origin, canary) => `${origin.replace("http", "ws")}/socket/websocket?vsn=2.0.0&${canary}`),
    ...targets(host, "eventSource", script),
    ...targets(host, "importScripts", script),
    ...targets(host, "import", (origin, canary) => `${origin}/fixtures/hostile/beacon.mjs?${canary}`),
  ].map(([name, kind, url]) => [`nested ${name}`, kind, url.replace("canary=", "canary=nested-")]);
  const ownList = [
    ...targets(host, "worker", script),
    ["worker@data", "worker", "data:text/javascript,postMessage('a data: worker ran')"],
  ];
  const reached = (await host.run(
    `async main(nestedList, ownList) {
      // A nested worker (blob: workers are allowed) with the same probes, and a worker of its own inside it.
      const source = PROBES_SOURCE + "const PROBES_SOURCE = " + JSON.stringify(PROBES_SOURCE) + "; " + "onmessage = async (e) => postMessage({ ...(await attempt(e.data)), ...(await probeAll(storage)), grandchild: await probe(() => new Promise((ok, no) => { const w = new Worker(URL.createObjectURL(new Blob([PROBES_SOURCE + 'attempt(' + JSON.stringify(e.data.slice(0, 2)) + ').then((r) => postMessage(r))']))); w.onmessage = (m) => { const got = Object.entries(m.data).filter(([, v]) => v.startsWith('reached')); got.length ? ok(JSON.stringify(got)) : no(new Error('its probes: ' + JSON.stringify(m.data))); }; w.onerror = (x) => no(new Error('error event')); })) });";
      const nested = new Worker(URL.createObjectURL(new Blob([source])));
      const fromNested = await new Promise((ok, no) => {
        nested.onmessage = (e) => ok(e.data);
        nested.onerror = (e) => { e.preventDefault(); no(new Error("the nested worker failed: " + e.message)); };
        nested.postMessage(nestedList);
      });
      return { ...fromNested, ...(await attempt(ownList)) };
    }`,
    [nestedList, ownList],
  )) as Record<string, string>;
  expect(Object.keys(reached)).toEqual(
    expect.arrayContaining([
      ...nestedList.map(([name]) => name!),
      "document.cookie",
      "localStorage",
      "indexedDB.open",
      "caches.match",
      "grandchild",
      "worker@host",
      "worker@foreign",
      "worker@data",
    ]),
  );
  expectNothingReached(reached);
  await host.nextTaskRuns();
  expect(host.canaries()).toEqual([]);
  await host.client.close();
});

test("an ES module loader, and the module workers it starts (as ES-module -pthread programs start their threads): the host's data and the network stay out of reach", async ({
  page,
  cluster,
}) => {
  const host = await hostPage(page, cluster);
  const list = [
    ...targets(host, "fetch", script),
    ...targets(host, "xhrSync", script),
    ...targets(host, "import", (origin, canary) => `${origin}/fixtures/hostile/beacon.mjs?${canary}`),
  ];
  const threadList = list.map(([name, kind, url]) => [`thread ${name}`, kind, url.replace("canary=", "canary=thread-")]);
  const reached = (await host.runModule(
    `async main(list, threadList) {
      // A module worker from a blob URL, as an Emscripten ES-module -pthread build starts each thread.
      const source = PROBES_SOURCE + "self.onmessage = async (e) => postMessage({ ...(await attempt(e.data)), ...(await probeAll(storage)) });";
      const thread = new Worker(URL.createObjectURL(new Blob([source], { type: "text/javascript" })), { type: "module", name: "em-pthread" });
      const fromThread = await new Promise((ok, no) => {
        thread.onmessage = (e) => ok(Object.fromEntries(Object.entries(e.data).map(([k, v]) => [k.startsWith("thread ") ? k : "thread " + k, v])));
        thread.onerror = (e) => { e.preventDefault(); no(new Error("the module worker failed: " + e.message)); };
        thread.postMessage(threadList);
      });
      return { ...(await attempt(list)), ...(await probeAll(storage)), ...fromThread };
    }`,
    [list, threadList],
  )) as Record<string, string>;
  expect(Object.keys(reached)).toEqual(
    expect.arrayContaining([
      ...list.map(([name]) => name!),
      ...threadList.map(([name]) => name!),
      "document.cookie",
      "thread localStorage",
      "thread indexedDB.open",
    ]),
  );
  expectNothingReached(reached);
  await host.nextTaskRuns();
  expect(host.canaries()).toEqual([]);
  await host.client.close();
});

test("a WASI program sees only the task's own files: paths that climb out of / find nothing", async ({ page, cluster }) => {
  const host = await hostPage(page, cluster);
  // The C program of test/fixtures/wasi reads the files named in its arguments and exits 1 when one cannot be opened.
  const inputs = ["/../../../etc/passwd", "../etc/hostname", "/proc/self/environ"];
  const out = join(await mkdtemp(join(tmpdir(), "motivus-wasi-attack-")), "r.txt");
  const wordfreq = {
    wasm_path: `${fixtures}/wasi/build/wordfreq-c.wasm`,
    arguments: ["/output/r.txt", ...inputs],
    result_files: { "/output/r.txt": out },
  };
  expect(await host.client.selectTask(host.client.callAsync(wordfreq))).toBe(1);
  const readable = {
    ...wordfreq,
    arguments: ["/output/r.txt", "/input/a.txt"],
    preload_files: { "/input/a.txt": "the task's own file" },
  };
  expect(await host.client.selectTask(host.client.callAsync(readable))).toBe(0); // control: its own files it reads
  expect(await readFile(out, "utf8")).toContain("the"); // the word counts of its own file
  await host.nextTaskRuns();
  await host.client.close();
});

test.describe("floods and forged replies on the runtime's own channels", () => {
  test("a postMessage flood (20,000 to the frame, 20,000 forged replies on the runtime's port): the task is answered and the next one runs", async ({
    page,
    cluster,
  }) => {
    const host = await hostPage(page, cluster);
    const answer = await host.run(
      `main(n, marker) {
        const filler = marker + " " + "x".repeat(1000);
        for (let i = 0; i < n; i++) self.postMessage({ kind: "crashed", id: i % 16, message: filler });
        // Its answer goes out on the runtime's MessagePort: catch that port and flood it first.
        const post = MessagePort.prototype.postMessage;
        MessagePort.prototype.postMessage = function (message, ...rest) {
          MessagePort.prototype.postMessage = post;
          for (let i = 0; i < n; i++) post.call(this, { id: "forged-" + i, type: "RAW", value: { body: filler, ok: true, stdout: null, stderr: null, error: null, shape: null } });
          return post.call(this, message, ...rest);
        };
        return "answered after the flood";
      }`,
      [20_000, MARKER],
    );
    expect(answer).toBe("answered after the flood");
    await host.nextTaskRuns();
    expect(await host.marked()).toEqual([]);
    expect(host.events.filter((e) => e.kind === "taskFailed")).toEqual([]);
    await host.client.close();
  });

  test("a forged reply on the runtime's port (a Comlink proxy as its outcome) is a clear failure; the next task runs", async ({
    page,
    cluster,
  }) => {
    const host = await hostPage(page, cluster);
    const forged = host.run(`main() {
      const post = MessagePort.prototype.postMessage;
      MessagePort.prototype.postMessage = function (message, ...rest) {
        MessagePort.prototype.postMessage = post;
        // The reply to this very call, as a proxy the host would call back through.
        const { port1, port2 } = new MessageChannel();
        port1.onmessage = (e) => { self.calledBack = e.data; };
        return post.call(this, { id: message.id, type: "HANDLER", name: "proxy", value: port2 }, [port2]);
      };
      return "never seen";
    }`);
    await expect(forged).rejects.toThrow(TaskError);
    await expect(forged).rejects.toThrow(/answered something that is not a task outcome/);
    await host.nextTaskRuns();
    expect(host.events.filter((e) => e.kind === "taskFailed").map((e) => e.code)).toEqual([12]);
    await host.client.close();
  });
});

test.describe("resources", () => {
  test("an endless loop is ended at the deadline (?deadline=2000); the next task runs", async ({ page, cluster }) => {
    const host = await hostPage(page, cluster, "&deadline=2000");
    await expect(host.run(`main() { for (;;) {} }`)).rejects.toThrow(/deadline of 2 s/);
    await host.nextTaskRuns();
    await host.client.close();
  });

  test("an endless microtask loop is ended at the deadline (?deadline=2000); the next task runs", async ({ page, cluster }) => {
    const host = await hostPage(page, cluster, "&deadline=2000");
    await expect(host.run(`async main() { for (;;) await null; }`)).rejects.toThrow(/deadline of 2 s/);
    await host.nextTaskRuns();
    await host.client.close();
  });

  test("WebAssembly memory grown until it fails: an error result; the next task runs", async ({ page, cluster }) => {
    const host = await hostPage(page, cluster);
    // Address space, not RAM: grown pages are not touched. One memory to its 4 GiB maximum, then new ones until refused.
    const failed = host.run(`main() {
      const one = new WebAssembly.Memory({ initial: 1, maximum: 65536 });
      let grown = 0;
      try { for (;;) { one.grow(4096); grown++; } } catch (e) { self.firstLimit = why(e); }
      const more = [one];
      for (;;) more.push(new WebAssembly.Memory({ initial: 65536, maximum: 65536 }));
    }`);
    await expect(failed).rejects.toThrow(TaskError);
    // The algorithm's own failure (4), the RangeError its allocation threw; not a crash of its worker (12).
    await expect(failed).rejects.toMatchObject({ code: ErrorCode.algorithmFailed });
    await expect(failed).rejects.toThrow(/main\(\) threw: RangeError: WebAssembly.Memory\(\): could not allocate memory/);
    await host.nextTaskRuns();
    await host.client.close();
  });
});

test.describe("the JS heap exhausted", () => {
  // V8's out-of-memory kills the sandbox frame's renderer process (the frame is an out-of-process
  // iframe). Nothing tells the host page: no worker error, no `crashed` message, the iframe element
  // stays in the document. While a task runs the host pings the frame; a frame that stops answering
  // is replaced and its tasks end as crashes.
  test("an algorithm that exhausts the JS heap kills the sandbox frame's process: the task fails as a crash (12) at once, not at its deadline, and the next task runs", async ({
    playwright,
    cluster,
  }) => {
    test.setTimeout(120_000);
    // A browser of its own whose V8 heap limit is 256 MiB instead of gigabytes: the same ending, in seconds, without the RAM.
    const browser = await playwright.chromium.launch({
      executablePath: chromiumPath(),
      args: [...CHROMIUM_ARGS, "--js-flags=--max-old-space-size=256"],
      headless: true,
    });
    try {
      const host = await hostPage(await browser.newPage(), cluster, "&deadline=60000");
      const sent = Date.now();
      const failed = host.run(
        `main() { const keep = []; for (let i = 0;; i++) keep.push({ i, s: "x" + i, list: [i, i + 1, i + 2] }); }`,
      );
      await expect(failed).rejects.toThrow(TaskError);
      // A crash (12, "the algorithm's worker crashed (...)"), not the deadline (11). Playwright counts the page as
      // crashed once its frame's process is gone, so the page's own events no longer reach the test: the driver's error tells.
      await expect(failed).rejects.toThrow(/worker crashed \(the sandbox frame stopped answering/);
      // The heap fills in seconds; the host notices within a few more: nowhere near the 60 s deadline.
      const took = Date.now() - sent;
      test.info().annotations.push({ type: "observed", description: `the task failed ${took} ms after it was sent` });
      expect(took).toBeLessThan(30_000);
      await host.nextTaskRuns();
      await host.client.close();
    } finally {
      await browser.close();
    }
  });
});

test.describe("work an algorithm leaves running after its answer", () => {
  // The runtime ends nested workers, timers, message ports and scheduled tasks when a task ends
  // (runtime.spec.ts). Each loop below is started by a task that answers once the loop is running;
  // the same algorithm's next task (warm: the same worker) counts how far the loop got in 300 ms.
  // Anything above zero is the visitor's CPU spent after the task was over, while the page shows the
  // slot idle.
  const nested = (source: string) => `new Worker(URL.createObjectURL(new Blob([${JSON.stringify(source)}])))`;
  const loops: [string, string][] = [
    [
      "an interval set through WorkerGlobalScope.prototype.setInterval",
      `WorkerGlobalScope.prototype.setInterval.call(self, () => self.ticks++, 5);`,
    ],
    [
      "a requestAnimationFrame loop",
      `const frame = () => { self.ticks++; requestAnimationFrame(frame); }; requestAnimationFrame(frame);`,
    ],
    [
      "a MessageChannel ping-pong",
      `const c = new MessageChannel(); c.port1.onmessage = () => { self.ticks++; c.port2.postMessage(0); }; c.port2.postMessage(0);`,
    ],
    ["a scheduler.postTask loop", `const loop = () => { self.ticks++; scheduler.postTask(loop, { delay: 5 }); }; loop();`],
    // In the background: at a task's own priority its continuations would starve the timer it answers by.
    [
      "a scheduler.yield loop",
      `scheduler.postTask(async () => { for (;;) { await scheduler.yield(); self.ticks++; } }, { priority: "background" });`,
    ],
    [
      "a BroadcastChannel ping-pong",
      `const a = new BroadcastChannel("loop"), b = new BroadcastChannel("loop"); a.onmessage = () => { self.ticks++; b.postMessage(0); }; b.postMessage(0);`,
    ],
    [
      // Ports no MessageChannel constructor of this worker made: both ends handed over by a nested worker (which is then ended).
      "a ping-pong on both ports of a channel a nested worker made and handed over",
      `const w = ${nested("const c = new MessageChannel(); postMessage(0, [c.port1, c.port2]);")};
       w.onmessage = (e) => { const [p, q] = e.ports; p.onmessage = () => { self.ticks++; q.postMessage(0); }; q.postMessage(0); };`,
    ],
    [
      "a nested worker's messages, after Worker.prototype.terminate, Reflect.apply and Set.prototype.add were replaced",
      `Worker.prototype.terminate = function () {}; Reflect.apply = () => {}; const add = Set.prototype.add; Set.prototype.add = function (v) { return v instanceof Worker ? this : add.call(this, v); };
       const w = ${nested("setInterval(() => postMessage(0), 5);")}; w.onmessage = () => self.ticks++;`,
    ],
  ];
  for (const [what, start] of loops) {
    test(`${what} is stopped with its task`, async ({ page, cluster }) => {
      const host = await hostPage(page, cluster);
      const methods = `
        main() {
          self.ticks = 0; ${start}
          const until = Date.now() + 5000;
          return new Promise((done) => { const running = () => (self.ticks > 0 || Date.now() > until ? done(self.ticks > 0) : setTimeout(running, 10)); running(); });
        },
        async count() { const before = self.ticks; await new Promise((wait) => setTimeout(wait, 300)); return self.ticks - before; },`;
      expect(await host.run(methods)).toBe(true); // it was running before the answer
      expect(await host.run(methods, [], "count")).toBe(0);
      expect(host.events.filter((e) => e.kind === "taskFailed")).toEqual([]);
      await host.client.close();
    });
  }

  test("a microtask loop left spinning after the answer: its worker is replaced, and the same algorithm's next task runs at once, not at its deadline", async ({
    page,
    cluster,
  }) => {
    const host = await hostPage(page, cluster, "&deadline=3000");
    const methods = `
      main() { Promise.resolve().then(function spin() { return Promise.resolve().then(spin); }); return "answered"; },
      again() { return "answered again"; },`;
    expect(await host.run(methods)).toBe("answered");
    const asked = Date.now();
    expect(await host.run(methods, [], "again")).toBe("answered again");
    // The spinning worker never sends its idle note after the task, and is replaced within a second.
    expect(Date.now() - asked).toBeLessThan(2_500);
    expect(host.events.filter((e) => e.kind === "taskFailed")).toEqual([]);
    await host.client.close();
  });
});

test("globals: the same algorithm's next task reads what the first left (its warm worker); another algorithm reads none of it", async ({
  page,
  cluster,
}) => {
  const host = await hostPage(page, cluster);
  const reader = (tag: string) => `
    main(secret) { self.leftBehind = secret; Object.prototype.polluted = secret; return "left"; },
    read() { return [self.leftBehind ?? null, ({}).polluted ?? null, ${JSON.stringify(tag)}]; },`;
  expect(await host.run(reader("A"), [`${MARKER}-globals`])).toBe("left");
  // Same algorithm (same wasm and loader), one thread: the warm worker, which keeps its own leftovers. The
  // control: the leftovers are there to be read, so the nulls another algorithm reads below are the fresh worker's.
  expect(await host.run(reader("A"), [], "read")).toEqual([`${MARKER}-globals`, `${MARKER}-globals`, "A"]);
  // Another algorithm (another loader): a fresh worker.
  expect(await host.run(reader("B"), [], "read")).toEqual([null, null, "B"]);
  await host.client.close();
});
