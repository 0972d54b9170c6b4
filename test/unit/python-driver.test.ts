// The published Python client (PyPI motivus 2.4.0, in .venv) speaking Phoenix V1
// published client does, against the real loopback cluster.
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { fromBase64, toBase64 } from "motivus-protocol";
import { startLoopback, type LoopbackServer } from "../../packages/loopback/src/server.js";
import { PhoenixWorker } from "../support/phoenix-worker.js";
import { runPythonDriver } from "../support/python.js";

let server: LoopbackServer;
let worker: PhoenixWorker;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "motivus-py-"));
  await mkdir(join(dir, "algorithms", "kmeans", "0.0.1"), { recursive: true });
  await writeFile(join(dir, "algorithms", "kmeans", "0.0.1", "kmeans.wasm"), new Uint8Array([0, 97, 115, 109]));
  await writeFile(join(dir, "algorithms", "kmeans", "0.0.1", "kmeans.js"), "// loader");
  server = await startLoopback({ port: 0, algorithms: join(dir, "algorithms") });
  // Answers like an algorithm: data from params, a result file from a preload file.
  worker = await PhoenixWorker.start({
    origin: server.origin,
    handle: ({ body }) => {
      const input = body.preload_files?.["/input/in.txt"];
      return {
        data: { params: body.params, arguments: body.arguments, wasm: body.wasm, data_link: body.data_link },
        ...(input
          ? { "/output/out.txt": toBase64(new TextEncoder().encode(new TextDecoder().decode(fromBase64(input)).toUpperCase())) }
          : {}),
      };
    },
  });
});
afterAll(async () => {
  worker.kill();
  await server.close();
});

it("submits a task with wasm_path/loader_path, gets the decoded data and writes its result file", async () => {
  await writeFile(join(dir, "a.wasm"), new Uint8Array([0, 97, 115, 109, 1]));
  await writeFile(join(dir, "a.js"), "// loader");
  await writeFile(join(dir, "in.txt"), "hello");
  const data = await runPythonDriver(
    dir,
    {
      wasm_path: "a.wasm",
      loader_path: "a.js",
      params: [[1, 2], 2],
      arguments: ["--k=2"],
      preload_files: { "/input/in.txt": "in.txt" },
      result_files: { "/output/out.txt": "results/out.txt" },
    },
    { WEBSOCKET_URI: server.driverUri },
  );
  expect(data).toEqual({
    params: [[1, 2], 2],
    arguments: ["--k=2"],
    wasm: toBase64(new Uint8Array([0, 97, 115, 109, 1])),
    data_link: null,
  });
  expect(await readFile(join(dir, "results", "out.txt"), "utf8")).toBe("HELLO");
  expect(worker.inputs.at(-1)!.type).toBe("trusted_work");
});

it("names algorithm + algorithm_version and resolves them through ALGORITHM_REPO_HOST", async () => {
  const data = (await runPythonDriver(
    dir,
    { algorithm: "kmeans", algorithm_version: "0.0.1", params: [1], public_cluster: true },
    {
      WEBSOCKET_URI: server.driverUri,
      ALGORITHM_REPO_HOST: new URL(server.origin).host, // host:port, as the published client takes it
    },
  )) as { wasm: string };
  expect(data.wasm).toBe(toBase64(new Uint8Array([0, 97, 115, 109])));
  expect(worker.inputs.at(-1)!.type).toBe("work");
});
