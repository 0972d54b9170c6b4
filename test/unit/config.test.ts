// createWorker's options and the argument order of docs/protocol.md.
import { describe, expect, it } from "vitest";
import { OptionsError, PRODUCTION_CLUSTER, resolveConfig } from "../../packages/worker/src/config.js";
import { argumentList } from "../../packages/worker/src/pool/prepare.js";
import { reconnectAfterMs } from "../../packages/worker/src/cluster/connection.js";

describe("worker options", () => {
  it("derives the socket and HTTP origins from any spelling of the cluster", () => {
    expect(resolveConfig({})).toMatchObject({ socketUrl: PRODUCTION_CLUSTER, httpOrigin: "https://waterbear.api.motivus.cl" });
    expect(resolveConfig({ cluster: "wss://example.org/socket/websocket" })).toMatchObject({
      socketUrl: "wss://example.org/socket",
    });
    expect(resolveConfig({ cluster: "http://localhost:7070" })).toMatchObject({
      socketUrl: "ws://localhost:7070/socket",
      httpOrigin: "http://localhost:7070",
    });
    expect(resolveConfig({ cluster: "ws://127.0.0.1:7070/socket" })).toMatchObject({ httpOrigin: "http://127.0.0.1:7070" });
  });

  it("defaults: at least one thread, a deadline, a heartbeat well under the cluster's 30 s", () => {
    const config = resolveConfig({});
    expect(config.threads).toBeGreaterThanOrEqual(1);
    expect(config.deadlineMs).toBe(300_000);
    expect(config.heartbeatIntervalMs).toBeLessThan(30_000);
  });

  it("names what is wrong", () => {
    expect(() => resolveConfig({ threads: 0 })).toThrow(OptionsError);
    expect(() => resolveConfig({ threads: 1.5 })).toThrow(/threads/);
    expect(() => resolveConfig({ thread: 2 } as never)).toThrow(/thread/);
    expect(() => resolveConfig({ heartbeatIntervalMs: 40_000 })).toThrow(/heartbeatIntervalMs/);
    expect(() => resolveConfig({ cluster: "not a url" })).toThrow(/not a URL/);
  });
});

it("arguments come first (a string split on whitespace), then params, JSON-encoded unless strings", () => {
  expect(argumentList(" --a  --b=1 ", [2, "x", { k: [1] }, null])).toEqual(["--a", "--b=1", "2", "x", '{"k":[1]}', "null"]);
  expect(argumentList(["--keep spaces"], null)).toEqual(["--keep spaces"]);
  expect(argumentList(null, undefined)).toEqual([]);
});

it("reconnect back-off grows by attempt, settles at 10 s, and is spread by jitter", () => {
  const middle = () => 0.5;
  expect([1, 2, 3, 4, 5, 6, 50].map((tries) => reconnectAfterMs(tries, middle))).toEqual([
    100, 500, 1000, 2000, 5000, 10_000, 10_000,
  ]);
  // Jitter: ±50 % around each step, so workers dropped together come back spread out.
  expect(reconnectAfterMs(4, () => 0)).toBe(1000);
  expect(reconnectAfterMs(4, () => 0.999)).toBe(2998);
  const spread = new Set(Array.from({ length: 50 }, () => reconnectAfterMs(6)));
  expect(spread.size).toBeGreaterThan(10);
  expect(Math.min(...spread)).toBeGreaterThanOrEqual(5000);
  expect(Math.max(...spread)).toBeLessThanOrEqual(15_000);
});
