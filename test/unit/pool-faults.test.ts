// A bug is not a refusal. The pool answers a task it will not run with code refused (10); an
// exception that is not such a refusal is a fault of the worker library and must reach the page and
// the driver as one (code internal, 15, with what threw), never as "refused". The pool is real; its
// spawner (a MessageChannel with a runner behind Comlink) and outbox (a recorder) are fakes, as in
// pool.test.ts; the fault is a sandbox worker whose `watch` throws, as a bug in that layer would.
import { describe, expect, it } from "vitest";
import { decodeResultBody, encodeResultBody, ErrorCode, toBase64 } from "motivus-protocol";
import type { Input } from "motivus-protocol";
import { BundleFiles } from "../../packages/worker/src/cache/bundle-files.js";
import { TaskPool } from "../../packages/worker/src/pool/task-pool.js";
import type { RunnerApi, RunnerOutcome, RunnerTask } from "../../packages/worker/src/messages/runner.js";
import type { SandboxedWorker } from "../../packages/worker/src/sandbox/page/frame.js";
import { recordingOutbox } from "../support/outbox.js";
import { until } from "../support/until.js";
import { exposeRunner, poolEvents, testDataLinks } from "../support/pool-fakes.js";

/** Workers whose runner answers every task with `data: 1`; the first `faults` calls of `watch` throw. */
function spawner(faults: number) {
  const workers: { terminated: boolean; tasks: RunnerTask[] }[] = [];
  let watches = 0;
  const spawn = (): SandboxedWorker => {
    const channel = new MessageChannel();
    const worker = { terminated: false, tasks: [] as RunnerTask[] };
    const runner: RunnerApi = {
      async run(task): Promise<RunnerOutcome> {
        worker.tasks.push(task);
        const body = encodeResultBody({ data: 1 });
        return { body, stdout: null, stderr: null, ok: true, error: null, errorCode: null, shape: "wasm-bindgen-no-modules" };
      },
      cachedModules: () => 0,
    };
    exposeRunner(runner, channel.port2);
    workers.push(worker);
    return {
      id: workers.length,
      port: channel.port1,
      crashed: new Promise<string>(() => {}),
      terminate: () => {
        worker.terminated = true;
        channel.port1.close();
        channel.port2.close();
      },
      watch: () => {
        if (++watches <= faults) throw new TypeError("Cannot read properties of undefined (reading 'ping')");
        return () => {};
      },
    };
  };
  return { spawn, workers };
}

/** Where nothing listens: a fetch there fails as a cluster that went away does. */
const GONE = "http://127.0.0.1:9";

function setUp(faults: number) {
  const { spawn, workers } = spawner(faults);
  const outbox = recordingOutbox();
  const { events, ended } = poolEvents();
  const dataLinks = testDataLinks();
  const linkPolicy = { clusterOrigin: GONE, pageOrigin: "http://page.test" };
  const hash = async () => "0".repeat(64);
  const bundleFiles = new BundleFiles({ ...linkPolicy, maxBytes: 1024, hash });
  const pool = new TaskPool({ spawn, outbox, events, deadlineMs: 60_000, dataLinks, bundleFiles });
  pool.setThreads(1);
  return { pool, outbox, workers, ended };
}

const bytes = (text: string) => toBase64(new TextEncoder().encode(text));
const input = (tid: string, body: Record<string, unknown> = {}): Input => ({
  tid,
  type: "work",
  body: { wasm: bytes("\0asm"), loader: bytes("var wasm_bindgen;"), params: [], ...body },
});

describe("a bug in the pool's path is reported as one, not as refused", () => {
  it("an exception that is no refusal ends the task with code internal and what threw; the worker is replaced and the slot works on", async () => {
    const { pool, outbox, workers, ended } = setUp(1);
    pool.input(input(outbox.offers[0]!));
    await until(() => ended.length === 1);
    expect(ended[0]).toMatchObject({ ok: false, code: ErrorCode.internal, answered: true });
    expect(ended[0]!.code).not.toBe(ErrorCode.refused);
    expect(ended[0]!.error).toMatch(/a bug of its own.*TypeError: Cannot read properties of undefined \(reading 'ping'\)/);
    expect(decodeResultBody(outbox.results[0]!.body)).toMatchObject({
      error: ended[0]!.error,
      error_code: ErrorCode.internal,
    });
    // The worker's state is unknown after a fault: it is replaced, and the slot's next task runs.
    expect(workers[0]!.terminated).toBe(true);
    pool.input(input(outbox.offers[1]!));
    await until(() => ended.length === 2);
    expect(ended[1]).toMatchObject({ ok: true, code: null });
    expect(workers[1]!.tasks).toHaveLength(1);
  });

  it("a refusal is still a refusal: a data_link the link policy refuses ends the task with code refused, the worker untouched", async () => {
    const { pool, outbox, workers, ended } = setUp(0);
    pool.input(input(outbox.offers[0]!, { data_link: "not a url" }));
    await until(() => ended.length === 1);
    expect(ended[0]).toMatchObject({ ok: false, code: ErrorCode.refused, answered: true });
    expect(ended[0]!.error).toMatch(/data_link "not a url" is not an absolute URL/);
    expect(decodeResultBody(outbox.results[0]!.body)).toMatchObject({ error_code: ErrorCode.refused });
    expect(workers).toHaveLength(1);
    expect(workers[0]!.tasks).toHaveLength(0);
  });
});

describe("a program file the cluster does not answer for (by reference)", () => {
  const byReference = (tid: string) =>
    input(tid, {
      wasm: undefined,
      wasm_ref: { sha256: "0".repeat(64), size: 8, url: `${GONE}/api/loopback/bundles/${"0".repeat(64)}` },
    });

  it("is lost with the connection when the socket drops meanwhile: stopped unanswered (14), not refused", async () => {
    const { pool, outbox, ended } = setUp(0);
    pool.input(byReference(outbox.offers[0]!));
    // The pool's fetch, started first, has failed once one started after it has.
    await fetch(GONE).catch(() => null);
    outbox.joined = false;
    pool.lost(); // the socket hears of the cluster going away, moments after the fetch failed
    await until(() => ended.length === 1);
    expect(ended[0]).toMatchObject({ ok: false, code: ErrorCode.lost, answered: false });
    expect(outbox.results).toHaveLength(0);
  });

  it("is refused when the connection stays: the cluster is up and cannot serve its file", async () => {
    const { pool, outbox, ended } = setUp(0);
    pool.input(byReference(outbox.offers[0]!));
    await until(() => ended.length === 1);
    expect(ended[0]).toMatchObject({ ok: false, code: ErrorCode.refused, answered: true });
    expect(ended[0]!.error).toMatch(/the task's wasm: could not fetch bundle file http:\/\/127\.0\.0\.1:9\//);
  });
});
