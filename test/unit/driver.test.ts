// The TypeScript driver (V2, official phoenix client) against the real
// loopback cluster, with simulated phoenix workers answering tasks.
import { mkdtemp, readFile, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromBase64, toBase64 } from "motivus-protocol";
import { Client, TaskError } from "../../packages/driver/src/client.js";
import { TaskDefinitionError } from "../../packages/driver/src/task-definition.js";
import { startLoopback, type LoopbackServer } from "../../packages/loopback/src/server.js";
import { PhoenixWorker } from "../support/phoenix-worker.js";
import { until } from "../support/until.js";

let server: LoopbackServer;
let dir: string;
let worker: PhoenixWorker;
const inline = { wasm: new Uint8Array([0, 97, 115, 109]), loader: "bG9hZGVy" };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "motivus-driver-"));
  const algorithms = join(dir, "algorithms", "adder", "1.2.3");
  await mkdir(algorithms, { recursive: true });
  await writeFile(join(algorithms, "adder.wasm"), new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
  await writeFile(join(algorithms, "adder.js"), "// loader");
  await writeFile(join(algorithms, "adder.data.zip"), "zip");
  // A WASI algorithm: a version folder holding a lone .wasm.
  const wasi = join(dir, "algorithms", "wasi-adder", "1.0.0");
  await mkdir(wasi, { recursive: true });
  await writeFile(join(wasi, "adder.wasm"), new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
  server = await startLoopback({ port: 0, algorithms: join(dir, "algorithms") });
  worker = await PhoenixWorker.start({
    origin: server.origin,
    slots: 2,
    handle: (input) => {
      const params = (input.body.params ?? []) as number[];
      if (input.body.entry === "fail") return { error: "algorithm crashed" };
      if (input.body.entry === "files") return { data: 0, "/output/labels.json": toBase64(new TextEncoder().encode("[0,0,1]")) };
      const sum = params.reduce((a, b) => a + b, 0);
      return { data: { sum, wasm: input.body.wasm, loader: input.body.loader, data_link: input.body.data_link } };
    },
  });
});
afterAll(async () => {
  worker.kill();
  await server.close();
});

const connect = () => Client.connect({ uri: server.driverUri, token: "driver", logDir: join(dir, "logs") });

describe("TypeScript driver", () => {
  it("callAsync / selectTask / barrier return each task's data", async () => {
    const client = await connect();
    const ids = [1, 2, 3].map((n) => client.callAsync({ ...inline, params: [n, 10], public_cluster: true }));
    expect(await client.selectTask(ids[0]!)).toMatchObject({ sum: 11 });
    expect((await client.barrier(ids)).map((r) => (r as { sum: number }).sum)).toEqual([11, 12, 13]);
    expect(await readFile(join(dir, "logs", `task-${ids[0]}.stdout.log`), "utf8")).toMatch(/^ran /);
    await client.close();
  });

  it("reads wasm_path/loader_path from disk and inlines them as base64", async () => {
    const client = await connect();
    await writeFile(join(dir, "a.wasm"), new Uint8Array([0, 97, 115, 109, 9]));
    await writeFile(join(dir, "a.js"), "console.log(1)");
    const result = (await client.selectTask(
      client.callAsync({ wasm_path: join(dir, "a.wasm"), loader_path: join(dir, "a.js") }),
    )) as Record<string, string>;
    expect(fromBase64(result.wasm!)).toEqual(new Uint8Array([0, 97, 115, 109, 9]));
    expect(Buffer.from(fromBase64(result.loader!)).toString()).toBe("console.log(1)");
    await client.close();
  });

  it("a task without a loader (a WASI program) goes with an empty one, from disk or from the registry's lone .wasm", async () => {
    const client = await connect();
    await writeFile(join(dir, "w.wasm"), new Uint8Array([0, 97, 115, 109, 1]));
    const fromDisk = (await client.selectTask(client.callAsync({ wasm_path: join(dir, "w.wasm"), params: [1] }))) as Record<
      string,
      string
    >;
    expect(fromDisk.loader).toBe("");
    expect(fromBase64(fromDisk.wasm!)).toEqual(new Uint8Array([0, 97, 115, 109, 1]));
    const fromRegistry = (await client.selectTask(
      client.callAsync({ algorithm: "wasi-adder", algorithm_version: "1.0.0", params: [2] }),
    )) as Record<string, string>;
    expect(fromRegistry.loader).toBe("");
    expect(fromRegistry.data_link).toBeNull();
    await expect(client.selectTask(client.callAsync({ params: [1] }))).rejects.toThrow(/wasm_path.*required when no algorithm/);
    await client.close();
  });

  it("resolves algorithm + algorithm_version through the loopback registry", async () => {
    const client = await connect();
    const result = (await client.selectTask(
      client.callAsync({ algorithm: "adder", algorithm_version: "1.2.3", params: [2, 3] }),
    )) as Record<string, string>;
    expect(result.sum).toBe(5);
    expect(fromBase64(result.wasm!)).toEqual(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
    expect(result.data_link).toBe(`${server.origin}/algorithms/adder/1.2.3/adder.data.zip`);
    await expect(client.selectTask(client.callAsync({ algorithm: "adder", algorithm_version: "9.9.9" }))).rejects.toThrow(
      /no version 9.9.9.*known: 1.2.3/,
    );
    await client.close();
  });

  it("takes ALGORITHM_REPO_HOST as the Python client does (host:port) or as an origin", async () => {
    for (const registry of [new URL(server.origin).host, server.origin]) {
      const client = await Client.connect({ uri: server.driverUri, token: "driver", logDir: null, registry });
      const result = (await client.selectTask(
        client.callAsync({ algorithm: "adder", algorithm_version: "1.2.3", params: [1, 1] }),
      )) as { sum: number };
      expect(result.sum, registry).toBe(2);
      await client.close();
    }
  });

  it("names the bad key of an invalid task definition", async () => {
    const client = await connect();
    await expect(client.selectTask(client.callAsync({ ...inline, algoritm: "kmeans" } as never))).rejects.toThrow(
      TaskDefinitionError,
    );
    await expect(client.selectTask(client.callAsync({ ...inline, algoritm: "kmeans" } as never))).rejects.toThrow(/algoritm/);
    await expect(client.selectTask(client.callAsync({ params: [1] }))).rejects.toThrow(/wasm_path: required/);
    await expect(client.selectTask(client.callAsync({ ...inline, preload_files: { "rel/path": "x" } }))).rejects.toThrow(
      /preload_files.rel\/path: must be an absolute path/,
    );
    await client.close();
  });

  it("writes result_files to disk (creating folders) and rejects an error result, with its stderr", async () => {
    const client = await connect();
    const out = join(dir, "out", "deep", "labels.json");
    const data = await client.selectTask(
      client.callAsync({ ...inline, entry: "files", result_files: { "/output/labels.json": out } }),
    );
    expect(data).toBe(0);
    expect(await readFile(out, "utf8")).toBe("[0,0,1]");
    const failed = client.selectTask(client.callAsync({ ...inline, entry: "fail" }));
    await expect(failed).rejects.toThrow(TaskError);
    await expect(failed).rejects.toMatchObject({ message: /algorithm crashed/, stderr: "algorithm crashed" });
    await client.close();
  });
});

describe("TypeScript driver under faults", () => {
  it("a task the cluster refuses (its queue is full) rejects with the cluster's reason; the tasks before it are kept", async () => {
    const full = await startLoopback({ port: 0, maxQueuedTasks: 2 });
    const client = await Client.connect({ uri: full.driverUri, logDir: null });
    const kept = [client.callAsync({ ...inline, params: [1] }), client.callAsync({ ...inline, params: [2] })];
    const refused = client.callAsync({ ...inline, params: [3] });
    await expect(client.selectTask(refused)).rejects.toThrow(/maxQueuedTasks 2/);
    expect(client.pending).toBe(2);
    const late = await PhoenixWorker.start({ origin: full.origin, handle: ({ body }) => ({ data: body.params }) });
    expect(await client.barrier(kept)).toEqual([[1], [2]]);
    await client.close();
    late.kill();
    await full.close();
  });

  it("re-sends a task still waiting for its result when the cluster restarts under it", async () => {
    const first = await startLoopback({ port: 0 });
    const port = first.port;
    const holding = await PhoenixWorker.start({ origin: first.origin, handle: () => ({ data: "never" }) });
    holding.answering = false;
    const client = await Client.connect({ uri: first.driverUri, token: "driver", logDir: null });
    const id = client.callAsync({ ...inline, params: [1, 2, 3] });
    await until(() => holding.inputs.length === 1);
    await first.close();
    holding.kill();
    const second = await startLoopback({ port });
    const answering = await PhoenixWorker.start({ origin: second.origin, handle: ({ body }) => ({ data: body.params }) });
    expect(await client.selectTask(id)).toEqual([1, 2, 3]);
    expect(answering.inputs).toHaveLength(1);
    expect(client.pending).toBe(0);
    await client.close();
    answering.kill();
    await second.close();
  });
});
