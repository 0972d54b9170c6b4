// The corpora end to end, as a driver author sends a C algorithm in the Motivus docs: the published
// Python client, `wasm_path` + `loader_path` (the package's own files, unchanged; an empty file where
// there is none: a WASI program's loader, a SINGLE_FILE build's wasm), `arguments`, `params`,
// `preload_files`, `result_files`, against `motivus-loopback --headless 1`. What comes back (the
// result's data, the logged stdout and stderr, the result files the client wrote) must be what each
// program produced outside the project. A case with an `entry` (which the Python client cannot send)
// goes through the TypeScript driver instead.
import { mkdir, mkdtemp, readFile, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "motivus-driver";
import { startCli, type Cli } from "../support/cli.js";
import { differences, emscriptenCorpus, installed, wasiCases, type CorpusCase, type CorpusOutcome } from "../support/corpus.js";
import { runPublishedDriver } from "../support/python.js";
import { expect, test } from "./support/cluster.js";

test.describe.configure({ mode: "serial" });

const cases = [...emscriptenCorpus(), ...wasiCases()].filter(installed);

// Sends every task at once and prints, per case, the task's ref (its logs are named by it) and result.
const DRIVER = `import asyncio, json
from motivus.client import Client


async def main():
    with open('tasks.json') as f:
        tasks = json.load(f)
    motivus = await Client.connect()
    refs = {}
    for name, task in tasks.items():
        task['preload_files'] = {path: motivus.read_file(local) for path, local in task['preload_files'].items()}
        refs[name] = motivus.call_async(task)
    results = await motivus.barrier(list(refs.values()))
    print(json.dumps({name: {'ref': ref, 'result': result} for (name, ref), result in zip(refs.items(), results)}))


asyncio.run(main())
`;

let cli: Cli;
let env: Record<string, string>;
let dir: string;
let answers: Record<string, { ref: string; result: unknown }> = {};

test.beforeAll(async () => {
  test.setTimeout(300_000);
  cli = startCli(["--port", "0", "--headless", "1", "--deadline", "120"]);
  const uri = (await cli.line(/export WEBSOCKET_URI=(\S+)/))[1]!;
  env = { WEBSOCKET_URI: uri };
  const stats = `http://${new URL(uri).host}/api/loopback/stats`;
  await expect.poll(async () => (await (await fetch(stats)).json()).offered_slots, { timeout: 30_000 }).toBe(1);
  dir = await mkdtemp(join(tmpdir(), "motivus-corpus-"));
  const empty = join(dir, "empty");
  await writeFile(empty, "");
  const tasks = Object.fromEntries(
    cases
      .filter((c) => c.entry === null)
      .map((c) => [
        c.name,
        {
          wasm_path: c.wasm ?? empty,
          loader_path: c.loader ?? empty,
          arguments: c.arguments,
          ...(c.params ? { params: c.params } : {}),
          preload_files: c.preloadFiles,
          result_files: Object.fromEntries(c.resultFiles.map((path, i) => [path, `results/${c.name}/${i}`])),
        },
      ]),
  );
  await writeFile(join(dir, "tasks.json"), JSON.stringify(tasks));
  const printed = await runPublishedDriver(dir, DRIVER, env, 280_000);
  answers = JSON.parse(printed.trim().split("\n").at(-1)!);
});

test.afterAll(() => {
  if (process.env.DEBUG_CORPUS) console.log(cli?.output.join("\n"));
  cli?.child.kill();
});

/** What the published client logged for the task `ref` (.motivus/logs/<time>_<ref>_<stream>.log). */
async function logged(ref: string, stream: "stdout" | "stderr"): Promise<string> {
  const logs = join(dir, ".motivus/logs");
  const file = (await readdir(logs).catch(() => [] as string[])).find((f) => f.endsWith(`_${ref}_${stream}.log`));
  return file ? readFile(join(logs, file), "utf8") : "";
}

async function throughPython(c: CorpusCase): Promise<{ outcome: CorpusOutcome; error: string | null }> {
  const answer = answers[c.name];
  expect(answer, `${c.name} was answered`).toBeDefined();
  const result = answer!.result as { error?: string } | null;
  // `result.get("data", result)`: a failure without data is the whole body, with its error.
  const data = result !== null && typeof result === "object" && "error" in result ? null : result;
  const files: CorpusOutcome["files"] = {};
  for (const [i, path] of c.resultFiles.entries())
    files[path] = await readFile(join(dir, "results", c.name, String(i))).catch(() => undefined);
  // A non-zero exit is data and error both: the client returns the data, the reason is in stderr.
  const outcome = { data, stdout: await logged(answer!.ref, "stdout"), stderr: await logged(answer!.ref, "stderr"), files };
  return { outcome, error: result && typeof result === "object" ? (result.error ?? null) : null };
}

async function throughTypeScriptDriver(c: CorpusCase): Promise<{ outcome: CorpusOutcome; error: string | null }> {
  const client = await Client.connect({ uri: env.WEBSOCKET_URI! });
  try {
    const preload = Object.fromEntries(
      await Promise.all(Object.entries(c.preloadFiles).map(async ([path, file]) => [path, new Uint8Array(await readFile(file))])),
    );
    const out = join(dir, "ts", c.name);
    await mkdir(out, { recursive: true });
    const task = client.callAsync({
      wasm_path: c.wasm!,
      loader_path: c.loader!,
      arguments: c.arguments,
      entry: c.entry!,
      preload_files: preload,
      result_files: Object.fromEntries(c.resultFiles.map((path, i) => [path, join(out, String(i))])),
    });
    // A failed task rejects with a TaskError: its message is the worker's reason.
    const answer = await client.selectTask(task).then(
      (data) => ({ data, error: null }),
      (error: Error) => ({ data: null, error: error.message }),
    );
    const files: CorpusOutcome["files"] = {};
    for (const [i, path] of c.resultFiles.entries()) files[path] = await readFile(join(out, String(i))).catch(() => undefined);
    return { outcome: { data: answer.data, stdout: "", stderr: "", files }, error: answer.error };
  } finally {
    await client.close();
  }
}

for (const c of cases) {
  test(`${c.name}${c.entry ? ` (entry ${c.entry}, TypeScript driver)` : ""}`, async () => {
    const { outcome, error } = c.entry ? await throughTypeScriptDriver(c) : await throughPython(c);
    if (c.knownGap) {
      expect(error, c.knownGap.why).toMatch(new RegExp(c.knownGap.error));
      return;
    }
    // The TypeScript driver hands over no logs: stdout and stderr are compared through Python only.
    const expected = c.entry ? { ...c, expected: { ...c.expected, stdout: null, stderr: null } } : c;
    expect(differences(expected, outcome), `${c.name}: ${error ?? ""}`).toEqual([]);
  });
}
