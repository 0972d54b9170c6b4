// One cluster, one origin: the loopback answers on several origins (localhost, 127.0.0.1, [::1],
// --host), a driver names it by one and a worker page by another, and the worker fetches a task's
// data_link only from its cluster's exact origin. The loopback hands each worker its links to
// itself on the origin that worker reached it by (src/loopback/links.ts); the worker's policy
// (src/cache/link-policy.ts) stays as strict as it was for every other link.
import { mkdtemp, mkdir, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { checkLink } from "../../packages/worker/src/cache/link-policy.js";
import { bodyFor, linkFor, originOfHost } from "../../packages/loopback/src/links.js";
import { OriginPolicy } from "../../packages/loopback/src/origins.js";
import { startLoopback, type LoopbackServer } from "../../packages/loopback/src/server.js";
import { ClientEvent, HttpPath, PhxEvent, RegistryResponse, SocketPath, Topic, WorkerEvent } from "motivus-protocol";
import { decodeFrame, encodeFrame, type Frame } from "motivus-protocol";
import { uuidOf } from "../support/users.js";

const PORT = 7070;
const loopback = new OriginPolicy("127.0.0.1", PORT, ["http://localhost:5173"]);
const own = loopback.ownOrigin;
const pkg = "/algorithms/datapkg/1.0.0/datapkg.data.zip";

/** What a worker that reached the cluster at `worker` does with `link` the driver sent: the URL it fetches, or why not. */
function fetched(link: string, worker: string, page = worker): string {
  const handed = linkFor(link, originOfHost(new URL(worker).host, own), own);
  const url = checkLink(handed, { clusterOrigin: worker, pageOrigin: page });
  return url instanceof Error ? url.message : url.href;
}

describe("the data_link a worker gets from a loopback cluster", () => {
  it("a link on any loopback name of the cluster's port is fetched by a worker on any other", () => {
    const names = ["localhost", "127.0.0.1", "[::1]"];
    for (const driver of names) {
      for (const worker of names) {
        expect(fetched(`http://${driver}:${PORT}${pkg}`, `http://${worker}:${PORT}`), `${driver} → ${worker}`).toBe(
          `http://${worker}:${PORT}${pkg}`,
        );
      }
    }
    // Spellings of the same origin, a query and a fragment; credentials are not handed on.
    expect(fetched(`HTTP://LocalHost:${PORT}${pkg}?v=2#x`, `http://127.0.0.1:${PORT}`)).toBe(
      `http://127.0.0.1:${PORT}${pkg}?v=2#x`,
    );
    expect(fetched(`http://user:secret@localhost:${PORT}${pkg}`, `http://127.0.0.1:${PORT}`)).toBe(
      `http://127.0.0.1:${PORT}${pkg}`,
    );
  });

  it("the --host address is one of the cluster's own: a worker on another machine gets links the driver made on localhost", () => {
    const lan = new OriginPolicy("192.168.1.5", PORT, []);
    const worker = originOfHost(`192.168.1.5:${PORT}`, lan.ownOrigin);
    expect(worker).toBe(`http://192.168.1.5:${PORT}`);
    expect(linkFor(`http://localhost:${PORT}${pkg}`, worker, lan.ownOrigin)).toBe(`http://192.168.1.5:${PORT}${pkg}`);
    // and the other way round: a worker on this machine, a driver that used the LAN address
    expect(linkFor(`http://192.168.1.5:${PORT}${pkg}`, `http://localhost:${PORT}`, lan.ownOrigin)).toBe(
      `http://localhost:${PORT}${pkg}`,
    );
  });

  it("links to other origins reach the worker unchanged and its policy refuses them as before", () => {
    const worker = `http://127.0.0.1:${PORT}`;
    // another port of this machine, even on a loopback name
    expect(fetched(`http://localhost:${PORT + 1}${pkg}`, worker)).toMatch(/only https/);
    expect(fetched(`http://127.0.0.1:${PORT + 1}${pkg}`, worker)).toMatch(/only https/);
    // an address of this machine the cluster does not listen on (default --host 127.0.0.1), another loopback address
    expect(fetched(`http://192.168.1.5:${PORT}${pkg}`, worker)).toMatch(/only https/);
    expect(fetched(`http://127.0.0.2:${PORT}${pkg}`, worker)).toMatch(/only https/);
    expect(fetched(`http://localhost.evil.example:${PORT}${pkg}`, worker)).toMatch(/only https/);
    // an --allow-origin page's server is allowed to use the cluster, not one of its origins
    expect(fetched(`http://localhost:5173${pkg}`, worker)).toMatch(/only https/);
    // https links, the page's own site and private addresses: judged by the worker exactly as before
    expect(fetched("https://cdn.example/x.data.zip", worker)).toBe("https://cdn.example/x.data.zip");
    expect(fetched("https://news.example/account", worker, "https://news.example")).toMatch(/host page's own site/);
    expect(fetched("https://192.168.1.1/router", worker, "https://news.example")).toMatch(/private or local/);
    expect(fetched("/relative.data.zip", worker)).toMatch(/not an absolute URL/);
    expect(fetched("file:///etc/passwd", worker)).toMatch(/only https/);
  });

  it("the worker's own policy does not take an alias for its cluster (nor does a real cluster's worker)", () => {
    const loopbackWorker = { clusterOrigin: `http://127.0.0.1:${PORT}`, pageOrigin: `http://127.0.0.1:${PORT}` };
    expect(checkLink(`http://localhost:${PORT}${pkg}`, loopbackWorker)).toBeInstanceOf(Error);
    expect(checkLink(`http://[::1]:${PORT}${pkg}`, loopbackWorker)).toBeInstanceOf(Error);
    const waterbear = { clusterOrigin: "https://waterbear.example", pageOrigin: "https://news.example" };
    expect(checkLink(`http://localhost:${PORT}${pkg}`, waterbear)).toBeInstanceOf(Error);
    expect(checkLink("http://waterbear.example/x.data.zip", waterbear)).toBeInstanceOf(Error);
  });

  it("the worker's origin comes from its Host only when that is one of the cluster's own", () => {
    expect(originOfHost(`localhost:${PORT}`, own)).toBe(`http://localhost:${PORT}`);
    expect(originOfHost(`LOCALHOST:${PORT}`, own)).toBe(`http://localhost:${PORT}`);
    expect(originOfHost(`[::1]:${PORT}`, own)).toBe(`http://[::1]:${PORT}`);
    for (const host of [
      undefined,
      "",
      `localhost:${PORT + 1}`,
      "localhost",
      `evil.example:${PORT}`,
      `localhost:5173`,
      `a@localhost:${PORT}`,
      `localhost:${PORT}/x`,
      `localhost:${PORT}?x`,
      "[::1",
    ]) {
      expect(originOfHost(host, own), String(host)).toBeNull();
    }
    // a worker whose origin is unknown gets the driver's link as it is
    expect(linkFor(`http://localhost:${PORT}${pkg}`, null, own)).toBe(`http://localhost:${PORT}${pkg}`);
  });

  it("bodyFor copies the body when the link moves, so a re-queued task goes to the next worker as the driver sent it", () => {
    const body = { wasm: "AA==", loader: "AA==", data_link: `http://localhost:${PORT}${pkg}` };
    const moved = bodyFor(body, `http://127.0.0.1:${PORT}`, own);
    expect(moved).toEqual({ ...body, data_link: `http://127.0.0.1:${PORT}${pkg}` });
    expect(body.data_link).toBe(`http://localhost:${PORT}${pkg}`);
    expect(bodyFor(body, `http://localhost:${PORT}`, own)).toBe(body);
    const none = { wasm: "AA==", loader: "AA==", data_link: null };
    expect(bodyFor(none, `http://127.0.0.1:${PORT}`, own)).toBe(none);
  });
});

describe("pages the loopback's socket and HTTP API admit", () => {
  it("pages opened as localhost, 127.0.0.1 or [::1] on its port, whatever --host says; no other port", () => {
    for (const host of ["127.0.0.1", "localhost", "::1", "0.0.0.0", "::", "192.168.1.5"]) {
      const policy = new OriginPolicy(host, PORT, []);
      for (const name of ["localhost", "127.0.0.1", "[::1]", "LOCALHOST"]) {
        expect(policy.allows(`http://${name}:${PORT}`), `${host}: ${name}`).toBe(true);
        expect(policy.corsHeaders(`http://${name}:${PORT}`)["access-control-allow-origin"]).toBe(`http://${name}:${PORT}`);
        expect(policy.allows(`http://${name}:${PORT + 1}`), `${host}: ${name}, other port`).toBe(false);
        expect(policy.allows(`https://${name}:${PORT}`), `${host}: https ${name}`).toBe(false);
      }
    }
    expect(new OriginPolicy("192.168.1.5", PORT, []).allows(`http://192.168.1.5:${PORT}`)).toBe(true);
    expect(loopback.allows("http://evil.localhost:7070")).toBe(false);
  });
});

describe("over the wire", () => {
  let server: LoopbackServer;
  let registry: string;
  beforeAll(async () => {
    registry = await mkdtemp(join(tmpdir(), "motivus-links-"));
    const version = join(registry, "pkg", "1.0.0");
    await mkdir(version, { recursive: true });
    for (const file of ["pkg.wasm", "pkg.js", "pkg.data.zip"]) await writeFile(join(version, file), "x");
    server = await startLoopback({ port: 0, algorithms: registry });
  });
  afterAll(() => server.close());

  /** GET the registry's listing of `pkg` with `host` as the Host header. */
  async function listing(host: string) {
    const text = await new Promise<string>((ok, fail) => {
      const req = request(
        { host: "127.0.0.1", port: server.port, path: `${HttpPath.registry}?name=pkg`, headers: { host } },
        (res) => {
          let body = "";
          res.on("data", (chunk) => (body += chunk));
          res.on("end", () => ok(body));
        },
      );
      req.on("error", fail).end();
    });
    return RegistryResponse.parse(JSON.parse(text)).data[0]!.versions[0]!;
  }

  it("the registry's data_url is on one of the cluster's own origins, whatever name the driver used", async () => {
    const port = server.port;
    const asLocalhost = await listing(`localhost:${port}`);
    expect(asLocalhost.data_url).toBe(`http://localhost:${port}/algorithms/pkg/1.0.0/pkg.data.zip`);
    expect(asLocalhost.wasm_url).toBe(`http://localhost:${port}/algorithms/pkg/1.0.0/pkg.wasm`);
    // A name the cluster does not know as its own (the machine's name, a tunnel): the driver gets
    // its wasm and loader where it asked; the data package is named on the cluster's own origin.
    const asName = await listing(`build-box:${port}`);
    expect(asName.wasm_url).toBe(`http://build-box:${port}/algorithms/pkg/1.0.0/pkg.wasm`);
    expect(asName.data_url).toBe(`${server.origin}/algorithms/pkg/1.0.0/pkg.data.zip`);
  });

  /** A worker socket that reached the cluster as `host`, joined and offering one slot. */
  async function worker(token: string, host: string) {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}${SocketPath.worker}?token=${token}&vsn=2.0.0`, { headers: { host } });
    const frames: Frame[] = [];
    const waiters: (() => void)[] = [];
    ws.on("message", (data) => {
      frames.push(decodeFrame(data.toString(), "2.0.0"));
      waiters.splice(0).forEach((w) => w());
    });
    await new Promise((ok, fail) => ws.once("open", ok).once("error", fail));
    const send = (topic: string, event: string, payload: unknown, ref: string) =>
      ws.send(encodeFrame({ joinRef: "j", ref, topic, event, payload }, "2.0.0"));
    const next = (test: (f: Frame) => boolean) =>
      new Promise<Frame>((ok) => {
        const check = () => {
          const hit = frames.find(test);
          if (hit) ok(hit);
          else waiters.push(check);
        };
        check();
      });
    const topic = Topic.worker(await uuidOf(server.origin, token), crypto.randomUUID());
    send(topic, PhxEvent.join, {}, "join");
    await next((f) => f.ref === "join");
    return { ws, send, next, topic };
  }

  it("each worker gets a link to the cluster on the origin it reached the cluster by; other links as the driver wrote them", async () => {
    const port = server.port;
    const driver = new WebSocket(`ws://127.0.0.1:${port}${SocketPath.client}?token=links-driver&vsn=2.0.0`);
    await new Promise((ok, fail) => driver.once("open", ok).once("error", fail));
    const driverTopic = Topic.client(await uuidOf(server.origin, "links-driver"), "links");
    driver.send(encodeFrame({ joinRef: "j", ref: "join", topic: driverTopic, event: PhxEvent.join, payload: {} }, "2.0.0"));

    const cases: [host: string, link: string, expected: string][] = [
      [`127.0.0.1:${port}`, `http://localhost:${port}${pkg}`, `http://127.0.0.1:${port}${pkg}`],
      [`localhost:${port}`, `http://127.0.0.1:${port}${pkg}`, `http://localhost:${port}${pkg}`],
      [`[::1]:${port}`, `http://localhost:${port}${pkg}`, `http://[::1]:${port}${pkg}`],
      [`127.0.0.1:${port}`, `http://localhost:${port + 1}${pkg}`, `http://localhost:${port + 1}${pkg}`],
      [`127.0.0.1:${port}`, "https://cdn.example/x.data.zip", "https://cdn.example/x.data.zip"],
      // a socket that named the cluster otherwise (not one of its origins): the link as it was
      [`build-box:${port}`, `http://localhost:${port}${pkg}`, `http://localhost:${port}${pkg}`],
    ];
    let n = 0;
    for (const [host, link, expected] of cases) {
      const w = await worker(`links-worker-${n}`, host);
      w.send(w.topic, WorkerEvent.inputRequest, { tid: "slot" }, "offer");
      await w.next((f) => f.ref === "offer");
      driver.send(
        encodeFrame(
          {
            joinRef: "j",
            ref: `t${n}`,
            topic: driverTopic,
            event: ClientEvent.task,
            payload: { body: { wasm: "AA==", loader: "AA==", data_link: link }, type: "work", ref: `r${n}` },
          },
          "2.0.0",
        ),
      );
      const input = await w.next((f) => f.event === WorkerEvent.input);
      expect((input.payload as { body: { data_link: string } }).body.data_link, `${host} ← ${link}`).toBe(expected);
      // Done with it (a worker that left holding it would hand it to the next one).
      w.send(
        w.topic,
        WorkerEvent.result,
        { tid: "slot", type: "response", body: "H4sIAAAAAAAAA6uuBQBDv6ajAgAAAA==", stdout: null, stderr: null },
        "result",
      );
      await w.next((f) => f.ref === "result");
      w.ws.close();
      n++;
    }
    driver.close();
  });
});
