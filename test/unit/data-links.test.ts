// data_link as an attack surface: which links the host page fetches for an algorithm, and how much
// it reads. The policy is a pure function; the downloads go to a real local HTTP server.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DataLinks } from "../../packages/worker/src/cache/data-links.js";
import { checkLink, isPrivateHost } from "../../packages/worker/src/cache/link-policy.js";

const publicPage = { clusterOrigin: "https://waterbear.example", pageOrigin: "https://news.example" };
const refused = (link: string, policy = publicPage) => {
  const result = checkLink(link, policy);
  return result instanceof Error ? result.message : null;
};

describe("which data_links are fetched", () => {
  it("https links and the cluster's own origin are fetched", () => {
    expect(refused("https://cdn.example/kmeans.data.zip")).toBeNull();
    expect(refused("https://waterbear.example/a.data.zip")).toBeNull();
    expect(
      refused("http://localhost:7070/algorithms/x.data.zip", {
        clusterOrigin: "http://localhost:7070",
        pageOrigin: "http://localhost:7070",
      }),
    ).toBeNull();
  });

  it("relative links, other schemes and plain http elsewhere are refused", () => {
    expect(refused("/private")).toMatch(/not an absolute URL/);
    expect(refused("account/settings")).toMatch(/not an absolute URL/);
    for (const link of [
      "http://cdn.example/a.zip",
      "file:///etc/passwd",
      "data:text/plain,hi",
      "blob:https://news.example/1",
      "javascript:alert(1)",
      "ftp://cdn.example/a",
    ]) {
      expect(refused(link), link).toMatch(/only https/);
    }
  });

  it("the host page's own site is refused, even over https", () => {
    expect(refused("https://news.example/account")).toMatch(/host page's own site/);
  });

  it("a public page never reaches private or local addresses; a local page may", () => {
    for (const link of [
      "https://127.0.0.1/x",
      "https://10.1.2.3/x",
      "https://172.20.0.1/x",
      "https://192.168.1.1/router",
      "https://169.254.169.254/latest/meta-data",
      "https://[::1]/x",
      "https://[fd00::1]/x",
      "https://[::ffff:7f00:1]/x",
      "https://localhost/x",
      "https://printer.local/x",
      "https://0.0.0.0/x",
    ]) {
      expect(refused(link), link).toMatch(/private or local/);
    }
    const localPage = { clusterOrigin: "http://localhost:7070", pageOrigin: "http://localhost:8080" };
    expect(refused("https://192.168.1.10/x", localPage)).toBeNull();
  });

  it("tells private hosts from public ones", () => {
    expect(isPrivateHost("100.64.0.1")).toBe(true);
    expect(isPrivateHost("8.8.8.8")).toBe(false);
    expect(isPrivateHost("172.32.0.1")).toBe(false);
    expect(isPrivateHost("example.com")).toBe(false);
    expect(isPrivateHost("[2001:db8::1]")).toBe(false);
  });
});

describe("downloads", () => {
  let server: Server;
  let origin: string;
  const sizes = { small: 1000, big: 5000 };
  beforeAll(async () => {
    server = createServer((req, res) => {
      const size = req.url?.includes("big") ? sizes.big : sizes.small;
      // A lying server: no content-length for "chunked", the wrong type for all.
      res.writeHead(200, {
        "content-type": "text/html; charset=utf-8",
        ...(req.url?.includes("chunked") ? {} : { "content-length": size }),
      });
      res.end(Buffer.alloc(size, 0xff));
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => server.close());

  const links = () => new DataLinks({ clusterOrigin: origin, pageOrigin: "http://page.test", maxBytes: 4096 });

  it("reads the bytes whatever the content type says", async () => {
    const bytes = new Uint8Array(await links().get(`${origin}/small.data.zip`));
    expect(bytes.length).toBe(sizes.small);
    expect(bytes.every((b) => b === 0xff)).toBe(true);
  });

  it("stops at the size cap, announced or not", async () => {
    await expect(links().get(`${origin}/big.data.zip`)).rejects.toThrow(/larger than the 4096 bytes/);
    await expect(links().get(`${origin}/big-chunked.data.zip`)).rejects.toThrow(/larger than the 4096 bytes/);
  });

  it("a refused link is an error before anything is fetched", async () => {
    await expect(links().get("/private")).rejects.toThrow(/not an absolute URL/);
  });
});
