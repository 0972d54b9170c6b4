// The browser worker end to end: the demo page (built library, sandbox frame,
// Web Workers) connected to a real loopback cluster, with the TypeScript
// driver submitting real Emscripten and wasm-bindgen algorithms.
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "@playwright/test";
import { Client, ErrorCode, TaskError } from "motivus-driver";
import { expect, fixtures, test } from "./support/cluster.js";
import { algorithm } from "./support/hostile.js";

const c = (shape: string, name: string) => `${fixtures}/c/build/${shape}/${name}`;
const wb = `${fixtures}/wasm-bindgen`;
const KMEANS_LABELS = "[0,0,0,0,0,1,1,1,1,1]";

/** Open the demo page as a worker with `threads` slots and wait until the cluster holds its offers. */
async function openWorker(
  page: Page,
  origin: string,
  stats: () => { offered_slots: number },
  threads = 1,
  extra = "",
): Promise<void> {
  await page.goto(`${origin}/worker.html?autostart=1&threads=${threads}${extra}`);
  await expect.poll(() => stats().offered_slots).toBe(threads);
}

let logDir: string;
test.beforeAll(async () => {
  logDir = await mkdtemp(join(tmpdir(), "motivus-e2e-"));
});

const driver = (uri: string) => Client.connect({ uri, logDir });
const stdoutOf = (id: number) => readFile(join(logDir, `task-${id}.stdout.log`), "utf8");
const stderrOf = (id: number) => readFile(join(logDir, `task-${id}.stderr.log`), "utf8");

test.describe("every loader shape returns the right result", () => {
  test("Emscripten classic: arguments, params, preload files, result files, stdout and stderr", async ({ page, cluster }) => {
    await openWorker(page, cluster.origin, () => cluster.stats());
    const client = await driver(cluster.driverUri);
    const out = join(logDir, "echo");
    const id = client.callAsync({
      wasm_path: c("classic", "echo.wasm"),
      loader_path: c("classic", "echo.js"),
      arguments: ["--flag", "--x=1"],
      params: ["text", 42, { k: [1, 2] }],
      preload_files: { "/input/in.txt": "preloaded contents" },
      result_files: { "/output/args.txt": `${out}/args.txt`, "/output/copy.txt": `${out}/copy.txt` },
    });
    expect(await client.selectTask(id)).toBe(0);
    expect(await readFile(`${out}/args.txt`, "utf8")).toBe('--flag --x=1 text 42 {"k":[1,2]}\n');
    expect(await readFile(`${out}/copy.txt`, "utf8")).toBe("preloaded contents");
    expect(await stdoutOf(id)).toBe('--flag\n--x=1\ntext\n42\n{"k":[1,2]}\n');
    expect(await stderrOf(id)).toContain("echo: stderr line");
    // `arguments` as one string is split on whitespace.
    const again = client.callAsync({
      wasm_path: c("classic", "echo.wasm"),
      loader_path: c("classic", "echo.js"),
      arguments: "a  b",
      result_files: { "/output/args.txt": `${out}/two.txt` },
    });
    await client.selectTask(again);
    expect(await readFile(`${out}/two.txt`, "utf8")).toBe("a b\n");
    await client.close();
  });

  test("Emscripten MODULARIZE: k-means on the seed's matrix writes [0,0,0,0,0,1,1,1,1,1]", async ({ page, cluster }) => {
    await openWorker(page, cluster.origin, () => cluster.stats());
    const client = await driver(cluster.driverUri);
    const labels = join(logDir, "kmeans", "labels.json");
    const id = client.callAsync({
      wasm_path: c("modularize", "kmeans.wasm"),
      loader_path: c("modularize", "kmeans.js"),
      arguments: ["--k=2"],
      preload_files: { "/input/matrix.txt": await readFile(`${fixtures}/c/data/matrix.txt`) },
      result_files: { "/output/labels.json": labels },
    });
    expect(await client.selectTask(id)).toBe(0);
    expect(await readFile(labels, "utf8")).toBe(KMEANS_LABELS);
    expect(await stdoutOf(id)).toContain("k=2, 2 clusters");
    await client.close();
  });

  test("Emscripten data package: data_link fetched by the host, unzipped in the worker (classic and MODULARIZE, via the registry)", async ({
    page,
    cluster,
  }) => {
    await openWorker(page, cluster.origin, () => cluster.stats());
    const client = await driver(cluster.driverUri);
    for (const shape of ["classic", "modularize"]) {
      const file = join(logDir, `greeting-${shape}.txt`);
      const id = client.callAsync({
        wasm_path: c(shape, "datapkg.wasm"),
        loader_path: c(shape, "datapkg.js"),
        data_link: `${cluster.origin}/fixtures/c/build/${shape}/datapkg.data.zip`,
        result_files: { "/output/greeting.txt": file },
      });
      expect(await client.selectTask(id)).toBe(0);
      expect(await readFile(file, "utf8")).toBe("hello from the data package\n");
    }
    const viaRegistry = client.callAsync({ algorithm: "datapkg", algorithm_version: "1.0.0" });
    expect(await client.selectTask(viaRegistry)).toBe(0);
    expect(await stdoutOf(viaRegistry)).toBe("hello from the data package\n");
    await client.close();
  });

  test("wasm-bindgen no-modules (old and current glue) and web: the export's return value is `data`", async ({
    page,
    cluster,
  }) => {
    await openWorker(page, cluster.origin, () => cluster.stats());
    const client = await driver(cluster.driverUri);
    const oldGlue = client.callAsync({
      wasm_path: `${wb}/no-modules/wasm_flate_bg.wasm`,
      loader_path: `${wb}/no-modules/wasm_flate.js`,
      entry: "zlib_encode",
      params: ["Hello World"],
    });
    const web = client.callAsync({
      wasm_path: `${wb}/web/sql_fmt_bg.wasm`,
      loader_path: `${wb}/web/sql_fmt.js`,
      entry: "format",
      params: ["SELECT count(*),Column1 FROM Table1;", "query.sql"],
    });
    const modern = client.callAsync({
      wasm_path: `${wb}/no-modules-modern/index_bg.wasm`,
      loader_path: `${wb}/no-modules-modern/index.js`,
      entry: "CryptoUtils.otpKdf",
      params: [new Array(32).fill(0), [107, 101, 121], [...new TextEncoder().encode("saltsaltsalt")], 1],
    });
    expect(await client.selectTask(oldGlue)).toBe("eAHzSM3JyVcIzy/KSQEAGAsEHQ==");
    expect(await client.selectTask(web)).toBe("SELECT\n  count(*),\n  Column1\nFROM\n  Table1;");
    const kdf = (await client.selectTask(modern)) as number[];
    expect(Buffer.from(kdf).toString("hex")).toBe("4da7dd68aa6b524f2ad3c2aef7d96416d88c5b0f4460779cef28cfb8b777b405");
    // A missing export is a clear error naming what exists.
    await expect(
      client.selectTask(
        client.callAsync({ wasm_path: `${wb}/web/sql_fmt_bg.wasm`, loader_path: `${wb}/web/sql_fmt.js`, params: [] }),
      ),
    ).rejects.toThrow(/main.*format/s);
    await client.close();
  });

  test("legacy Motivus adapter bundles: k-means and a data package", async ({ page, cluster }) => {
    await openWorker(page, cluster.origin, () => cluster.stats());
    const client = await driver(cluster.driverUri);
    const labels = join(logDir, "legacy", "labels.json");
    const kmeans = client.callAsync({
      wasm_path: `${fixtures}/legacy/kmeans.legacy.wasm`,
      loader_path: `${fixtures}/legacy/kmeans.legacy.js`,
      arguments: ["--k=2"],
      preload_files: { "/input/matrix.txt": await readFile(`${fixtures}/c/data/matrix.txt`) },
      result_files: { "/output/labels.json": labels },
    });
    await client.selectTask(kmeans);
    expect(await readFile(labels, "utf8")).toBe(KMEANS_LABELS);
    const greeting = join(logDir, "legacy", "greeting.txt");
    const data = client.callAsync({
      wasm_path: `${fixtures}/legacy/datapkg.legacy.wasm`,
      loader_path: `${fixtures}/legacy/datapkg.legacy.js`,
      data_link: `${cluster.origin}/fixtures/legacy/datapkg.legacy.data.zip`,
      result_files: { "/output/greeting.txt": greeting },
    });
    await client.selectTask(data);
    expect(await readFile(greeting, "utf8")).toBe("hello from the data package\n");
    await client.close();
  });
});

test.describe("faults end a task, not the worker", () => {
  const echo = (out: string) => ({
    wasm_path: c("classic", "echo.wasm"),
    loader_path: c("classic", "echo.js"),
    arguments: ["still", "working"],
    result_files: { "/output/args.txt": out },
  });
  const nextTaskWorks = async (client: Client, name: string) => {
    const out = join(logDir, `${name}-after.txt`);
    expect(await client.selectTask(client.callAsync(echo(out)))).toBe(0);
    expect(await readFile(out, "utf8")).toBe("still working\n");
  };

  test("a crash (abort) and running out of memory are answered with an error; the slot keeps working", async ({
    page,
    cluster,
  }) => {
    await openWorker(page, cluster.origin, () => cluster.stats());
    const client = await driver(cluster.driverUri);
    for (const [shape, name, why] of [
      ["classic", "crash", /aborted \(it called abort\(\)\)/],
      ["modularize", "crash", /aborted/],
      ["classic", "oom", /out of memory/],
      ["modularize", "oom", /out of memory/],
    ] as const) {
      const id = client.callAsync({ wasm_path: c(shape, `${name}.wasm`), loader_path: c(shape, `${name}.js`) });
      const failed = client.selectTask(id);
      await expect(failed).rejects.toThrow(TaskError);
      await expect(failed).rejects.toThrow(why);
      await nextTaskWorks(client, `${shape}-${name}`);
    }
    await client.close();
  });

  test("a task past its deadline is ended and answered with an error; the next task runs", async ({ page, cluster }) => {
    await openWorker(page, cluster.origin, () => cluster.stats(), 1, "&deadline=2000");
    const client = await driver(cluster.driverUri);
    const forever = client.selectTask(
      client.callAsync({ wasm_path: c("classic", "forever.wasm"), loader_path: c("classic", "forever.js") }),
    );
    await expect(forever).rejects.toThrow(/deadline of 2 s/);
    await nextTaskWorks(client, "deadline");
    await client.close();
  });

  test("abort_task (the driver went away) stops the task at once, sends no result, and the worker goes on", async ({
    page,
    cluster,
  }) => {
    await openWorker(page, cluster.origin, () => cluster.stats());
    const failures: string[] = [];
    await page.exposeFunction("recordFailure", (e: string) => failures.push(e));
    await page.evaluate(() =>
      (window as any).motivusWorker.on("taskFailed", (e: { error: string }) => (window as any).recordFailure(e.error)),
    );
    const leaving = await driver(cluster.driverUri);
    leaving.callAsync({ wasm_path: c("classic", "forever.wasm"), loader_path: c("classic", "forever.js") });
    await expect.poll(() => cluster.stats().running).toBe(1);
    await leaving.close();
    await expect.poll(() => failures).toEqual(["aborted by the cluster"]);
    await expect.poll(() => cluster.stats().offered_slots).toBe(1);
    expect(cluster.stats()).toMatchObject({ aborted: 1, done: 0 });
    const client = await driver(cluster.driverUri);
    await nextTaskWorks(client, "abort");
    await client.close();
  });

  test("malformed tasks (no wasm, corrupt wasm, bad data_link) get an error result and the worker goes on", async ({
    page,
    cluster,
  }) => {
    await openWorker(page, cluster.origin, () => cluster.stats());
    const client = await driver(cluster.driverUri);
    await expect(client.selectTask(client.callAsync({ wasm: "", loader: "" }))).rejects.toThrow(/no wasm/);
    await expect(
      client.selectTask(client.callAsync({ wasm: new Uint8Array([1, 2, 3, 4]), loader_path: c("classic", "echo.js") })),
    ).rejects.toThrow(/wasm/i);
    await expect(
      client.selectTask(
        client.callAsync({
          wasm_path: c("classic", "datapkg.wasm"),
          loader_path: c("classic", "datapkg.js"),
          data_link: `${cluster.origin}/fixtures/missing.data.zip`,
        }),
      ),
    ).rejects.toThrow(/data_link.*404/);
    await nextTaskWorks(client, "malformed");
    await client.close();
  });
});

test("a flood of output is cut at the transcript limit while the task's files arrive whole", async ({ page, cluster }) => {
  await openWorker(page, cluster.origin, () => cluster.stats());
  const client = await driver(cluster.driverUri);
  // Three 1.5 MB arguments: together past the 4 Mi-character cap, each within the program's 5 MB stack.
  const parts = ["x", "y", "z"].map((ch) => ch.repeat(1.5 * 1024 * 1024));
  const out = join(logDir, "flood.txt");
  const id = client.callAsync({
    wasm_path: c("classic", "echo.wasm"),
    loader_path: c("classic", "echo.js"),
    params: parts,
    result_files: { "/output/args.txt": out },
  });
  expect(await client.selectTask(id)).toBe(0);
  const stdout = await stdoutOf(id);
  expect(stdout.length).toBeLessThan(4 * 1024 * 1024 + 100);
  expect(stdout.endsWith("[output cut at 4 Mi characters]\n")).toBe(true);
  expect(await readFile(out, "utf8")).toBe(`${parts.join(" ")}\n`);
  await client.close();
});

test("several threads run tasks in parallel and every task is answered", async ({ page, cluster }) => {
  await openWorker(page, cluster.origin, () => cluster.stats(), 2);
  const client = await driver(cluster.driverUri);
  const matrix = await readFile(`${fixtures}/c/data/matrix.txt`);
  const ids = Array.from({ length: 12 }, (_, i) =>
    client.callAsync({
      wasm_path: c(i % 2 ? "classic" : "modularize", "kmeans.wasm"),
      loader_path: c(i % 2 ? "classic" : "modularize", "kmeans.js"),
      arguments: ["--k=2"],
      preload_files: { "/input/matrix.txt": matrix },
      result_files: { "/output/labels.json": join(logDir, "many", `${i}.json`) },
    }),
  );
  expect(await client.barrier(ids)).toEqual(new Array(12).fill(0));
  for (let i = 0; i < 12; i++) expect(await readFile(join(logDir, "many", `${i}.json`), "utf8")).toBe(KMEANS_LABELS);
  expect(cluster.stats()).toMatchObject({ done: 12, workers: 1 });
  await client.close();
});

test("when the cluster restarts, the worker reconnects, offers its slots again and runs the next task", async ({ page }) => {
  const { startLoopback } = await import("motivus-loopback");
  const first = await startLoopback({ port: 0 });
  const port = first.port;
  await openWorker(page, first.origin, () => first.stats(), 2);
  const states: string[] = [];
  await page.exposeFunction("recordState", (s: string) => states.push(s));
  await page.evaluate(() =>
    (window as any).motivusWorker.on("state", (e: { state: string }) => (window as any).recordState(e.state)),
  );
  await first.close();
  await expect.poll(() => states).toContain("reconnecting");
  const second = await startLoopback({ port });
  try {
    await expect.poll(() => second.stats().offered_slots, { timeout: 20_000 }).toBe(2);
    expect(states.at(-1)).toBe("running");
    const client = await driver(second.driverUri);
    const out = join(logDir, "reconnect.txt");
    const id = client.callAsync({
      wasm_path: c("classic", "echo.wasm"),
      loader_path: c("classic", "echo.js"),
      arguments: ["back"],
      result_files: { "/output/args.txt": out },
    });
    expect(await client.selectTask(id)).toBe(0);
    expect(await readFile(out, "utf8")).toBe("back\n");
    await client.close();
  } finally {
    await second.close();
  }
});

test("an algorithm cannot read the host page's cookie or storage and cannot reach the network", async ({ page, cluster }) => {
  await openWorker(page, cluster.origin, () => cluster.stats());
  await page.evaluate(() => {
    document.cookie = "session=host-secret-cookie";
    localStorage.setItem("token", "host-secret-storage");
  });
  const client = await driver(cluster.driverUri);
  // A real algorithm (C + EM_ASYNC_JS) that tries every way out and prints what happened.
  const id = client.callAsync({
    wasm_path: c("classic", "probe.wasm"),
    loader_path: c("classic", "probe.js"),
    arguments: [`${cluster.origin}/api/loopback/stats`],
  });
  expect(await client.selectTask(id)).toBe(0);
  const stdout = await stdoutOf(id);
  const probes = Object.fromEntries(
    stdout
      .split("\n")
      .filter((l) => l.startsWith("probe ") && l.includes(": "))
      .map((l) =>
        l
          .slice(6)
          .split(/: (.*)/s)
          .slice(0, 2),
      ),
  );
  expect(probes.origin).toBe("null");
  for (const name of [
    "fetch",
    "xhr",
    "websocket",
    "importScripts",
    "import",
    "indexedDB",
    "caches",
    "cookie",
    "cookieStore",
    "localStorage",
    "dom",
  ]) {
    expect(probes[name], `probe ${name}`).toMatch(/^blocked/);
  }
  expect(stdout).toContain("probe done");
  expect(stdout).not.toContain("host-secret");
  await client.close();
});

test("setThreads grows the pool at once and shrinks it as offered slots are used", async ({ page, cluster }) => {
  await openWorker(page, cluster.origin, () => cluster.stats(), 1);
  await page.evaluate(() => (window as any).motivusWorker.setThreads(3));
  await expect.poll(() => cluster.stats().offered_slots).toBe(3);
  await page.evaluate(() => (window as any).motivusWorker.setThreads(1));
  // Offers already made are kept (the cluster may be sending their tasks); each retires after its task.
  expect(await page.evaluate(() => (window as any).motivusWorker.threads)).toBe(1);
  const client = await driver(cluster.driverUri);
  const ids = [1, 2, 3].map(() =>
    client.callAsync({ wasm_path: c("classic", "echo.wasm"), loader_path: c("classic", "echo.js") }),
  );
  expect(await client.barrier(ids)).toEqual([0, 0, 0]);
  await expect.poll(() => cluster.stats().offered_slots).toBe(1);
  // What the settings refuse, setThreads refuses too, saying why; the pool stays as it was.
  for (const wrong of [0, 1.5, 65])
    expect(
      await page.evaluate((n) => {
        try {
          (window as any).motivusWorker.setThreads(n);
          return "taken";
        } catch (err) {
          return (err as Error).message;
        }
      }, wrong),
    ).toBe(`threads must be a whole number from 1 to 64, not ${wrong}`);
  expect(await page.evaluate(() => (window as any).motivusWorker.threads)).toBe(1);
  await client.close();
});

test("an algorithm that patches worker globals cannot tamper with a different algorithm's results", async ({ page, cluster }) => {
  await openWorker(page, cluster.origin, () => cluster.stats());
  const client = await driver(cluster.driverUri);
  const tamper = { wasm_path: c("classic", "tamper.wasm"), loader_path: c("classic", "tamper.js") };
  expect(await client.selectTask(client.callAsync(tamper))).toBe(0);
  // The trap is real: the same algorithm's next task runs in the same warm worker and answers garbage.
  const trapped = client.selectTask(client.callAsync(tamper));
  await expect(trapped).rejects.toThrow(/unreadable result: .*"tampered by/);
  await expect(trapped).rejects.toMatchObject({ code: ErrorCode.unreadableResult });
  const out = join(logDir, "after-tamper.txt");
  const next = client.callAsync({
    wasm_path: c("classic", "echo.wasm"),
    loader_path: c("classic", "echo.js"),
    arguments: ["untouched"],
    result_files: { "/output/args.txt": out },
  });
  expect(await client.selectTask(next)).toBe(0);
  expect(await readFile(out, "utf8")).toBe("untouched\n");
  expect(await stdoutOf(next)).toBe("untouched\n");
  await client.close();
});

test("the threads a program starts count against the visitor's thread budget: no slot is offered while they run", async ({
  page,
  cluster,
}) => {
  await openWorker(page, cluster.origin, () => cluster.stats(), 2);
  const client = await driver(cluster.driverUri);
  // Two nested workers (as a -pthread program starts its threads), kept until the answer after `ms`.
  const threaded = algorithm(
    `main(ms) { self.threads = [1, 2].map(() => new Worker(URL.createObjectURL(new Blob(["setInterval(() => {}, 1000)"])))); return new Promise((done) => setTimeout(() => done("threads ran"), ms)); }`,
  );
  const quick = algorithm(`main() { return "quick"; }`);
  const first = client.selectTask(client.callAsync({ ...threaded, params: [5000] }));
  await expect.poll(() => cluster.stats().offered_slots).toBe(1); // the other slot, offered before the threads started
  expect(await client.selectTask(client.callAsync(quick))).toBe("quick");
  // 1 running slot + 2 threads ≥ 2: the slot that answered is not offered again while they run.
  await expect.poll(() => cluster.stats().offered_slots).toBe(0);
  expect(await first).toBe("threads ran");
  await expect.poll(() => cluster.stats().offered_slots).toBe(2);
  await client.close();
});
