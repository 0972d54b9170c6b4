// The task pool as a state machine, driven through every way a task ends. The pool is real; what
// is outside it is faked and named so: the spawner (a MessageChannel with a scripted runner behind
// Comlink instead of a sandboxed Web Worker) and the outbox (a recorder instead of the socket).
import * as Comlink from "comlink";
import { describe, expect, it } from "vitest";
import { decodeResultBody, encodeResultBody, toBase64 } from "motivus-protocol";
import type { Input } from "motivus-protocol";
import { ErrorCode } from "motivus-protocol";
import { conclude } from "../../packages/worker/src/pool/ending.js";
import { TaskPool } from "../../packages/worker/src/pool/task-pool.js";
import type { RunnerApi, RunnerOutcome, RunnerTask } from "../../packages/worker/src/messages/runner.js";
import type { SandboxedWorker } from "../../packages/worker/src/sandbox/page/frame.js";
import { recordingOutbox } from "../support/outbox.js";
import { until } from "../support/until.js";
import { exposeRunner, poolEvents, testDataLinks } from "../support/pool-fakes.js";

/** What the scripted runner does with a task: its first param names the behaviour. */
type Script = "ok" | "fails" | "hangs" | "rejects" | "proxies" | "garbage" | "retires" | "spins";

interface FakeWorker {
  id: number;
  terminated: boolean;
  crash(message: string): void;
  tasks: RunnerTask[];
}

function fakeSpawner() {
  const workers: FakeWorker[] = [];
  const spawn = (): SandboxedWorker => {
    const channel = new MessageChannel();
    let crash!: (message: string) => void;
    const crashed = new Promise<string>((ok) => (crash = ok));
    const fake: FakeWorker = { id: workers.length + 1, terminated: false, crash, tasks: [] };
    const runner: RunnerApi = {
      async run(task): Promise<RunnerOutcome> {
        fake.tasks.push(task);
        const script = task.params[0] as Script;
        if (script === "hangs") return new Promise(() => {});
        if (script === "rejects") throw new Error("the port closed");
        // What an algorithm that patched the runtime could make of the reply.
        if (script === "proxies") return Comlink.proxy({ body: "x" }) as unknown as RunnerOutcome;
        if (script === "garbage") return { body: 42, ok: "yes" } as unknown as RunnerOutcome;
        const failed = script === "fails";
        if (script === "retires")
          return {
            body: encodeResultBody({ data: 1 }),
            stdout: null,
            stderr: null,
            ok: true,
            error: null,
            errorCode: null,
            shape: "wasm-bindgen-web",
            retire: true,
          };
        return {
          body: encodeResultBody(
            failed ? { error: "main() threw: no", error_code: ErrorCode.missingExport } : { data: task.params[1] ?? null },
          ),
          stdout: null,
          stderr: failed ? toBase64(new TextEncoder().encode("main() threw: no\n")) : null,
          ok: !failed,
          error: failed ? "main() threw: no" : null,
          errorCode: failed ? ErrorCode.missingExport : null,
          shape: "wasm-bindgen-no-modules",
        };
      },
      cachedModules: () => 0,
    };
    // "spins": answers, then sends no idle note (its thread left busy by the algorithm).
    exposeRunner(runner, channel.port2, (task) => task.params[0] === "spins");
    workers.push(fake);
    return {
      id: fake.id,
      port: channel.port1,
      crashed,
      terminate: () => {
        fake.terminated = true;
        channel.port1.close();
        channel.port2.close();
      },
    };
  };
  return { spawn, workers };
}

const bytes = (text: string) => toBase64(new TextEncoder().encode(text));
const input = (tid: string, params: unknown[], body: Record<string, unknown> = {}): Input => ({
  tid,
  type: "work",
  body: { wasm: bytes("\0asm"), loader: bytes("var wasm_bindgen;"), params, ...body },
});

function setUp(threads = 1, deadlineMs = 60_000) {
  const spawner = fakeSpawner();
  const outbox = recordingOutbox();
  const { events, ended } = poolEvents();
  const pool = new TaskPool({ spawn: spawner.spawn, outbox, events, deadlineMs, dataLinks: testDataLinks() });
  pool.setThreads(threads);
  return { pool, outbox, spawner, ended };
}

describe("every ending of a task (fake spawner and outbox)", () => {
  it("done: the runner's answer goes out as it is, the slot is offered again with a new tid on the same worker", async () => {
    const { pool, outbox, spawner, ended } = setUp();
    const tid = outbox.offers[0]!;
    pool.input(input(tid, ["ok", [1, 2]]));
    await until(() => ended.length === 1);
    expect(decodeResultBody(outbox.results[0]!.body).data).toEqual([1, 2]);
    expect(ended[0]).toMatchObject({ tid, ok: true, error: null, code: null, answered: true, shape: "wasm-bindgen-no-modules" });
    expect(outbox.offers).toHaveLength(2);
    expect(outbox.offers[1]).not.toBe(tid);
    expect(spawner.workers).toHaveLength(1); // warm: no respawn after a normal answer
  });

  it("done with a failure: the runtime's error code reaches TaskEnded and the driver's body", async () => {
    const { pool, outbox, ended } = setUp();
    pool.input(input(outbox.offers[0]!, ["fails"]));
    await until(() => ended.length === 1);
    expect(ended[0]).toMatchObject({ ok: false, code: ErrorCode.missingExport, answered: true });
    expect(decodeResultBody(outbox.results[0]!.body)).toMatchObject({
      error: "main() threw: no",
      error_code: ErrorCode.missingExport,
    });
    expect(outbox.results[0]!.error).toBe("main() threw: no");
  });

  it("refused: a task that cannot be prepared is answered with code refused, without touching the worker", async () => {
    const { pool, outbox, spawner, ended } = setUp();
    pool.input(input(outbox.offers[0]!, ["ok"], { run_type: "js" }));
    await until(() => ended.length === 1);
    expect(ended[0]).toMatchObject({ ok: false, code: ErrorCode.refused, answered: true });
    expect(decodeResultBody(outbox.results[0]!.body).error).toMatch(/run_type "js"/);
    expect(spawner.workers[0]!.tasks).toHaveLength(0);
    expect(spawner.workers).toHaveLength(1);
    expect(outbox.offers).toHaveLength(2);
  });

  it("deadline: the worker is replaced, the driver hears why", async () => {
    const { pool, outbox, spawner, ended } = setUp(1, 50);
    pool.input(input(outbox.offers[0]!, ["hangs"]));
    await until(() => ended.length === 1);
    expect(ended[0]).toMatchObject({ ok: false, code: ErrorCode.deadline, answered: true });
    expect(decodeResultBody(outbox.results[0]!.body)).toMatchObject({ error_code: ErrorCode.deadline });
    expect(spawner.workers[0]!.terminated).toBe(true);
    expect(spawner.workers).toHaveLength(2);
    expect(outbox.offers).toHaveLength(2);
  });

  it("crash: a worker that dies ends its task with code crash and is replaced", async () => {
    const { pool, outbox, spawner, ended } = setUp();
    pool.input(input(outbox.offers[0]!, ["hangs"]));
    await until(() => spawner.workers[0]!.tasks.length === 1);
    spawner.workers[0]!.crash("Out of memory");
    await until(() => ended.length === 1);
    expect(ended[0]).toMatchObject({ ok: false, code: ErrorCode.crash, answered: true });
    expect(ended[0]!.error).toMatch(/Out of memory/);
    expect(spawner.workers).toHaveLength(2);
  });

  it("crash: a runner whose call rejects counts as a crash", async () => {
    const { pool, outbox, ended } = setUp();
    pool.input(input(outbox.offers[0]!, ["rejects"]));
    await until(() => ended.length === 1);
    expect(ended[0]).toMatchObject({ code: ErrorCode.crash, answered: true });
  });

  it("a reply that is not an outcome (a Comlink proxy, a wrong shape) ends the task as a crash, never reaching listeners as it is", async () => {
    const { pool, outbox, spawner, ended } = setUp();
    pool.input(input(outbox.offers[0]!, ["proxies"]));
    await until(() => ended.length === 1);
    pool.input(input(outbox.offers[1]!, ["garbage"]));
    await until(() => ended.length === 2);
    for (const end of ended) {
      expect(end).toMatchObject({ ok: false, code: ErrorCode.crash, answered: true });
      expect(typeof end.error).toBe("string");
      expect(end.error).toMatch(/not a task outcome/);
    }
    expect(spawner.workers).toHaveLength(3); // replaced each time
  });

  it("an answer with no idle note after it (a thread left spinning): the worker is replaced within a second, the next task runs on a new one", async () => {
    const { pool, outbox, spawner, ended } = setUp();
    pool.input(input(outbox.offers[0]!, ["spins", 1]));
    await until(() => ended.length === 1);
    expect(ended[0]).toMatchObject({ ok: true, answered: true });
    await until(() => spawner.workers.length === 2, 3_000);
    expect(spawner.workers[0]!.terminated).toBe(true);
    pool.input(input(outbox.offers[1]!, ["ok", 2]));
    await until(() => ended.length === 2);
    expect(spawner.workers[1]!.tasks).toHaveLength(1);
    expect(decodeResultBody(outbox.results[1]!.body).data).toBe(2);
  });

  it("aborted: nothing is sent, the worker is replaced, the slot is offered again", async () => {
    const { pool, outbox, spawner, ended } = setUp();
    const tid = outbox.offers[0]!;
    pool.input(input(tid, ["hangs"]));
    await until(() => spawner.workers[0]!.tasks.length === 1);
    pool.abort(tid);
    await until(() => ended.length === 1);
    expect(ended[0]).toMatchObject({ ok: false, code: ErrorCode.aborted, answered: false });
    expect(outbox.results).toHaveLength(0);
    expect(spawner.workers).toHaveLength(2);
    expect(outbox.offers).toHaveLength(2);
  });

  it("lost: the running task stops unanswered; offers wait for the next join, which offers new tids", async () => {
    const { pool, outbox, spawner, ended } = setUp(2);
    const [busy, free] = outbox.offers as [string, string];
    pool.input(input(busy, ["hangs"]));
    await until(() => spawner.workers[0]!.tasks.length === 1);
    outbox.joined = false;
    pool.lost();
    await until(() => ended.length === 1);
    expect(ended[0]).toMatchObject({ code: ErrorCode.lost, answered: false });
    expect(outbox.results).toHaveLength(0);
    expect(outbox.offers).toEqual([busy, free]);
    outbox.joined = true;
    pool.joined();
    expect(outbox.offers).toHaveLength(4);
    expect(outbox.offers.slice(2)).not.toContain(free);
  });

  it("a malformed input is answered with code refused and its slot offered again; a task for an unknown tid is ignored", async () => {
    const { pool, outbox, spawner } = setUp();
    pool.input(input("not-offered", ["ok"]));
    pool.badInput(outbox.offers[0]!, "malformed task: wasm: expected string");
    expect(decodeResultBody(outbox.results[0]!.body)).toMatchObject({ error_code: ErrorCode.refused });
    expect(outbox.results).toHaveLength(1);
    expect(outbox.offers).toHaveLength(2);
    expect(spawner.workers[0]!.tasks).toHaveLength(0);
  });

  it("every ending maps to one answer, error and code (pure)", () => {
    const outcome: RunnerOutcome = {
      body: "b",
      stdout: null,
      stderr: null,
      ok: true,
      error: null,
      errorCode: null,
      shape: "legacy",
    };
    const cases = [
      [{ kind: "done", outcome }, true, null],
      [{ kind: "refused", message: "no wasm" }, true, ErrorCode.refused],
      [{ kind: "deadline" }, true, ErrorCode.deadline],
      [{ kind: "crash", message: "gone" }, true, ErrorCode.crash],
      [{ kind: "aborted" }, false, ErrorCode.aborted],
      [{ kind: "lost" }, false, ErrorCode.lost],
    ] as const;
    for (const [ending, answered, code] of cases) {
      const conclusion = conclude("t", ending, 2000);
      expect(conclusion.answer !== null, ending.kind).toBe(answered);
      expect(conclusion.code, ending.kind).toBe(code);
      expect(conclusion.error === null, ending.kind).toBe(code === null);
    }
    expect(conclude("t", { kind: "deadline" }, 2000).error).toMatch(/deadline of 2 s/);
  });
});

describe("the warm path", () => {
  it("a worker that asks to retire (it holds what it cannot free) is replaced after its answer", async () => {
    const { pool, outbox, spawner, ended } = setUp();
    pool.input(input(outbox.offers[0]!, ["retires"]));
    await until(() => ended.length === 1);
    expect(ended[0]).toMatchObject({ ok: true });
    expect(decodeResultBody(outbox.results[0]!.body).data).toBe(1);
    expect(spawner.workers).toHaveLength(2);
    expect(spawner.workers[0]!.terminated).toBe(true);
  });

  it("a worker's next task of the same algorithm carries its key only; another algorithm gets a fresh worker and the bytes", async () => {
    const { pool, outbox, spawner, ended } = setUp();
    const next = async (params: unknown[], body: Record<string, unknown> = {}) => {
      const done = ended.length + 1;
      pool.input(input(outbox.offers.at(-1)!, params, body));
      await until(() => ended.length === done);
    };
    await next(["ok", 1]);
    await next(["ok", 2]);
    const [first, second] = spawner.workers[0]!.tasks;
    expect(first!.bundle.wasm).toBeInstanceOf(ArrayBuffer);
    expect(first!.bundle.loader).toBe("var wasm_bindgen;");
    expect(second!.bundle).toEqual({ key: first!.bundle.key, wasm: null, loader: null });
    expect(first!.bundle.key).toMatch(/^[0-9a-f]{64}\/[0-9a-f]{64}$/);

    await next(["ok", 3], { loader: bytes("var wasm_bindgen = 2;") });
    expect(spawner.workers).toHaveLength(2);
    expect(spawner.workers[0]!.terminated).toBe(true);
    expect(spawner.workers[1]!.tasks[0]!.bundle.loader).toBe("var wasm_bindgen = 2;");
  });
});

describe("threads", () => {
  it("shrinking retires idle slots at once and busy ones after their task; growing offers fresh slots", async () => {
    const { pool, outbox, spawner, ended } = setUp(3);
    expect(outbox.offers).toHaveLength(3);
    pool.input(input(outbox.offers[0]!, ["hangs"]));
    pool.input(input(outbox.offers[1]!, ["ok"]));
    await until(() => ended.length === 1);
    expect(outbox.offers).toHaveLength(4); // the finished slot offered again
    pool.setThreads(1);
    // Offered slots were promised to the cluster and stay; the running one stays too.
    expect(spawner.workers.filter((w) => w.terminated)).toHaveLength(0);
    pool.abort(outbox.offers[0]!);
    await until(() => ended.length === 2);
    expect(pool.threads).toBe(1);
    // The aborted slot's worker was replaced, then the slot retired (more slots than wanted); the two
    // offered slots stay promised to the cluster.
    await until(() => spawner.workers.filter((w) => !w.terminated).length === 2);
    const live = () => spawner.workers.filter((w) => !w.terminated).length;
    pool.setThreads(2);
    expect(live()).toBe(2);
    pool.setThreads(3);
    expect(live()).toBe(3);
    expect(outbox.offers).toHaveLength(5); // 3, one after the finished task, one for the new slot
  });

  it("stop ends every task unanswered and terminates every worker", async () => {
    const { pool, outbox, spawner } = setUp(2);
    pool.input(input(outbox.offers[0]!, ["hangs"]));
    await until(() => spawner.workers[0]!.tasks.length === 1);
    pool.stop();
    expect(spawner.workers.every((w) => w.terminated)).toBe(true);
    expect(outbox.results).toHaveLength(0);
    expect(pool.running).toBe(0);
  });
});
