// One error base class: every error the packages throw on purpose is a MotivusError with a numeric
// code (ErrorCode), and a task's code crosses from the worker to the driver's TaskError. Errors are
// made the way users meet them (a bad frame, bad options, a task the driver or the pool will not
// take), and the driver's against the real loopback cluster with a simulated worker, or against a
// minimal fake cluster where the loopback would never send what is tested (a malformed result).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { decodeFrame, encodeResultBody, ErrorCode, FrameError, MotivusError } from "motivus-protocol";
import {
  Client,
  ConnectError,
  MotivusError as DriverMotivusError,
  ResultTooLargeError,
  TaskDefinitionError,
  TaskError,
} from "../../packages/driver/src/index.js";
import { decodeResultBodyWithin } from "../../packages/driver/src/result-body.js";
import { OptionsError, resolveConfig } from "../../packages/worker/src/config.js";
import { DataLinks } from "../../packages/worker/src/cache/data-links.js";
import { BundleKeys } from "../../packages/worker/src/pool/bundle-keys.js";
import { prepareTask, TaskRefused } from "../../packages/worker/src/pool/prepare.js";
import { RunnerError } from "../../packages/worker/src/runtime/errors.js";
import { RuntimeErrorCode } from "../../packages/worker/src/messages/runner.js";
import { startLoopback, type LoopbackServer } from "../../packages/loopback/src/server.js";
import { PhoenixWorker } from "../support/phoenix-worker.js";

/** What `act` throws or rejects with. */
async function thrown(act: () => unknown): Promise<unknown> {
  try {
    await act();
  } catch (err) {
    return err;
  }
  throw new Error("it did not throw");
}

describe("every error class extends MotivusError and says its code", () => {
  it("protocol, worker and driver errors, each made as a user meets it", async () => {
    const dataLinks = new DataLinks({ clusterOrigin: "http://c.test", pageOrigin: "http://p.test", maxBytes: 1 });
    const context = { dataLinks, keys: new BundleKeys(), warm: null, startupMs: 1000 };
    const cases: [unknown, new (...args: never[]) => Error, ErrorCode][] = [
      [await thrown(() => decodeFrame("not json", "2.0.0")), FrameError, ErrorCode.badFrame],
      [await thrown(() => resolveConfig({ threads: 0 })), OptionsError, ErrorCode.badOptions],
      [
        await thrown(() => prepareTask({ tid: "t", type: "work", body: { run_type: "js", wasm: "AA==" } }, context)),
        TaskRefused,
        ErrorCode.refused,
      ],
      [new RunnerError(RuntimeErrorCode.badWasm, "not wasm"), RunnerError, ErrorCode.badWasm],
      [
        await thrown(() => decodeResultBodyWithin(encodeResultBody({ data: "x".repeat(100) }), 10)),
        ResultTooLargeError,
        ErrorCode.resultTooLarge,
      ],
    ];
    for (const [error, type, code] of cases) {
      expect(error).toBeInstanceOf(type);
      expect(error).toBeInstanceOf(MotivusError);
      expect((error as MotivusError).code).toBe(code);
    }
    // The driver hands out the protocol's class itself, so one `instanceof` serves both.
    expect(DriverMotivusError).toBe(MotivusError);
  });
});

describe("the driver's errors", () => {
  let server: LoopbackServer;
  let worker: PhoenixWorker;
  beforeAll(async () => {
    server = await startLoopback({ port: 0 });
    worker = await PhoenixWorker.start({
      origin: server.origin,
      slots: 2,
      handle: ({ body }) =>
        body.entry === "coded" ? { error: "no main export", error_code: ErrorCode.missingExport } : { error: "it broke" },
    });
  });
  afterAll(async () => {
    worker.kill();
    await server.close();
  });
  const task = { wasm: new Uint8Array([0, 97, 115, 109]), loader: "" };

  it("a failed task's TaskError carries the result body's error_code; a code it does not know is unspecified", async () => {
    const client = await Client.connect({ uri: server.driverUri, logDir: null });
    const coded = await thrown(() => client.selectTask(client.callAsync({ ...task, entry: "coded" })));
    expect(coded).toBeInstanceOf(TaskError);
    expect(coded).toBeInstanceOf(MotivusError);
    expect(coded).toMatchObject({ code: ErrorCode.missingExport, message: "task 1 failed: no main export" });
    const uncoded = await thrown(() => client.selectTask(client.callAsync({ ...task, entry: "plain" })));
    expect(uncoded).toMatchObject({ code: ErrorCode.unspecified, message: "task 2 failed: it broke" });
    const invalid = await thrown(() => client.selectTask(client.callAsync({ ...task, algoritm: "x" } as never)));
    expect(invalid).toBeInstanceOf(TaskDefinitionError);
    expect(invalid).toMatchObject({ code: ErrorCode.badTaskDefinition });
    await client.close();
  });

  it("a cluster that does not answer the join: ConnectError, code connectFailed", async () => {
    const silent = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    await new Promise((listening) => silent.once("listening", listening));
    const { port } = silent.address() as { port: number };
    const error = await thrown(() =>
      Client.connect({ uri: `ws://127.0.0.1:${port}/client_socket/websocket`, connectTimeoutMs: 200 }),
    );
    expect(error).toBeInstanceOf(ConnectError);
    expect(error).toMatchObject({
      code: ErrorCode.connectFailed,
      message: expect.stringMatching(/could not join room:client\?/),
    });
    await new Promise((closed) => silent.close(closed));
  });

  it("a malformed result frame is told to the logger option, not the console", async () => {
    // A fake cluster: every frame answered ok (the lobby's join with a uuid); after the task channel's
    // join, a `result` whose payload lacks `ref` and `body`.
    const fake = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    fake.on("connection", (ws) =>
      ws.on("message", (data) => {
        const [joinRef, ref, topic, event] = JSON.parse(String(data)) as [string, string, string, string];
        ws.send(JSON.stringify([joinRef, ref, topic, "phx_reply", { status: "ok", response: { uuid: "u" } }]));
        if (event === "phx_join" && topic !== "room:client?")
          ws.send(JSON.stringify([joinRef, null, topic, "result", { type: "response" }]));
      }),
    );
    await new Promise((listening) => fake.once("listening", listening));
    const { port } = fake.address() as { port: number };
    const warnings: string[] = [];
    const client = await Client.connect({
      uri: `ws://127.0.0.1:${port}/client_socket/websocket`,
      logDir: null,
      logger: { warn: (message) => void warnings.push(message) },
    });
    await expect.poll(() => warnings).toEqual([expect.stringMatching(/^motivus driver: ignored a malformed result: .*ref/)]);
    await client.close();
    await new Promise((closed) => fake.close(closed));
  });
});
