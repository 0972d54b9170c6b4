// The pool obeys the budget: pause means no new offers (an offer already made stays promised and
// its task still runs), and a CPU share below 1 makes a slot rest between tasks. The pool is real;
// the spawner (a MessageChannel with a scripted runner behind Comlink) and the outbox (a recorder)
// are fakes, named so.
import { expect, it } from "vitest";
import { Emitter } from "../../packages/worker/src/events.js";
import { encodeResultBody, toBase64 } from "motivus-protocol";
import type { Input, WorkerResult } from "motivus-protocol";
import type { RunnerApi, RunnerOutcome } from "../../packages/worker/src/messages/runner.js";
import type { SandboxedWorker } from "../../packages/worker/src/sandbox/page/frame.js";
import { TaskPool, type PoolEvents, type TaskEnded } from "../../packages/worker/src/pool/task-pool.js";
import { until } from "../support/until.js";
import { exposeRunner, testDataLinks } from "../support/pool-fakes.js";

/** A fake worker whose runner answers after `params[0]` ms. */
function fakeSpawn(): SandboxedWorker {
  const channel = new MessageChannel();
  const runner: RunnerApi = {
    async run(task): Promise<RunnerOutcome> {
      await new Promise((ok) => setTimeout(ok, Number(task.params[0] ?? 0)));
      return {
        body: encodeResultBody({ data: 1 }),
        stdout: null,
        stderr: null,
        ok: true,
        error: null,
        errorCode: null,
        shape: "wasm-bindgen-no-modules",
      };
    },
    cachedModules: () => 0,
  };
  exposeRunner(runner, channel.port2);
  return {
    id: 1,
    port: channel.port1,
    crashed: new Promise(() => {}),
    terminate: () => {
      channel.port1.close();
      channel.port2.close();
    },
  };
}

function setUp(threads: number) {
  const outbox = {
    joined: true,
    offers: [] as { tid: string; at: number }[],
    results: [] as WorkerResult[],
    offer(tid: string) {
      this.offers.push({ tid, at: performance.now() });
    },
    sendResult(result: WorkerResult) {
      this.results.push(result);
    },
  };
  const events = new Emitter<PoolEvents>();
  const ended: (TaskEnded & { at: number })[] = [];
  events.on("taskFinished", (e) => void ended.push({ ...e, at: performance.now() }));
  const pool = new TaskPool({ spawn: fakeSpawn, outbox, events, deadlineMs: 60_000, dataLinks: testDataLinks() });
  pool.setThreads(threads);
  return { pool, outbox, ended };
}

const bytes = (text: string) => toBase64(new TextEncoder().encode(text));
const input = (tid: string, ms: number): Input => ({
  tid,
  type: "work",
  body: { wasm: bytes("\0asm"), loader: bytes("var wasm_bindgen;"), params: [ms] },
});

it("paused: no new offers; an offer already made still gets its task, which runs; resuming offers again", async () => {
  const { pool, outbox, ended } = setUp(2);
  expect(outbox.offers).toHaveLength(2);
  pool.setPaused(true);
  pool.input(input(outbox.offers[0]!.tid, 10)); // the cluster may still send a task for a promised slot
  await until(() => ended.length === 1);
  expect(outbox.results).toHaveLength(1);
  expect(outbox.offers).toHaveLength(2); // the slot that finished is not offered again while paused
  pool.setThreads(3); // a new slot while paused: made, not offered
  expect(outbox.offers).toHaveLength(2);
  pool.setPaused(false);
  expect(outbox.offers).toHaveLength(4); // the finished slot and the new one; the promised one stays as it was
  pool.stop();
});

it("CPU share 0.5: after a task of ~200 ms its slot rests ~200 ms before it is offered again", async () => {
  const { pool, outbox, ended } = setUp(1);
  pool.setShare(0.5);
  pool.input(input(outbox.offers[0]!.tid, 200));
  await until(() => ended.length === 1);
  expect(outbox.offers).toHaveLength(1);
  await until(() => outbox.offers.length === 2, 2000);
  const rest = outbox.offers[1]!.at - ended[0]!.at;
  expect(rest).toBeGreaterThanOrEqual(ended[0]!.ms * 0.9);
  expect(rest).toBeLessThan(ended[0]!.ms + 400);
  pool.stop();
});

it("CPU share 1: no rest; a resting slot that is retired or stopped is never offered", async () => {
  const { pool, outbox, ended } = setUp(1);
  pool.input(input(outbox.offers[0]!.tid, 5));
  await until(() => ended.length === 1);
  expect(outbox.offers).toHaveLength(2);
  pool.setShare(0.1);
  pool.input(input(outbox.offers[1]!.tid, 50)); // rests ~450 ms
  await until(() => ended.length === 2);
  pool.stop();
  await new Promise((ok) => setTimeout(ok, 700));
  expect(outbox.offers).toHaveLength(2);
});
