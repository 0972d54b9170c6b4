// A multi-file scientific C program (test/fixtures/c/src/ising: 2D Ising Metropolis
// Monte Carlo), built as the original Motivus C example was built (emcc -O3, classic
// loader, --preload-file data package zipped into ising.data.zip, ASSERTIONS=1), resolved
// through the loopback registry by the published Python client and run in a browser
// worker. Every result file must be byte-identical to what a native gcc build of the
// same sources writes from the same inputs.
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { runPublishedDriver } from "../support/python.js";
import { expect, fixtures, test } from "./support/cluster.js";

const run = promisify(execFile);
const SOURCES = `${fixtures}/c/src/ising`;
const INPUTS = `${fixtures}/c/data/ising-inputs`; // params.txt, initial.txt, schedule.txt
const PACKAGE = `${fixtures}/c/data/ising`; // the --preload-file dir: data/couplings.txt
const RESULTS = ["energy.dat", "final_state.txt", "correlation.dat", "summary.json"];

// A normal Motivus driver: inputs as preload_files, outputs as result_files.
const DRIVER = `import asyncio
from motivus.client import Client


async def main():
    motivus = await Client.connect()
    task = {
        'algorithm': 'ising',
        'algorithm_version': '1.0.0',
        'preload_files': {
            '/input/params.txt': motivus.read_file('inputs/params.txt'),
            '/input/initial.txt': motivus.read_file('inputs/initial.txt'),
            '/input/schedule.txt': motivus.read_file('inputs/schedule.txt'),
        },
        'result_files': {
${RESULTS.map((f) => `            '/output/${f}': 'results/${f}',`).join("\n")}
        },
    }
    ids = [motivus.call_async(task)]
    print(await motivus.barrier(ids))


asyncio.run(main())
`;

/** Builds the sources with gcc and runs them in `dir` (input/, data/, output/); resolves with stdout. */
async function runNative(dir: string): Promise<string> {
  const sources = (await readdir(SOURCES))
    .filter((f) => f.endsWith(".c"))
    .sort()
    .map((f) => join(SOURCES, f));
  await run("gcc", ["-O2", "-ffp-contract=off", "-o", join(dir, "prog"), ...sources, "-lm"]);
  await cp(INPUTS, join(dir, "input"), { recursive: true });
  await cp(join(PACKAGE, "data"), join(dir, "data"), { recursive: true });
  await mkdir(join(dir, "output"));
  const { stdout } = await run(join(dir, "prog"), [], { cwd: dir, timeout: 30_000 });
  return stdout;
}

/** The worker's stdout or stderr as the published client logged it (.motivus/logs/<time>_<ref>_<stream>.log). */
async function logged(dir: string, stream: "stdout" | "stderr"): Promise<string> {
  const logs = join(dir, ".motivus/logs");
  const file = (await readdir(logs).catch(() => [] as string[])).find((f) => f.endsWith(`_${stream}.log`));
  return file ? readFile(join(logs, file), "utf8") : `(no ${stream} log)`;
}

test("ising (emcc -O3 classic + data package, via the registry) writes the same bytes in a browser worker as a native gcc build", async ({
  page,
  cluster,
}) => {
  test.setTimeout(120_000);
  await page.goto(`${cluster.origin}/worker.html?autostart=1&threads=1`);
  await expect.poll(() => cluster.stats().offered_slots).toBe(1);

  const dir = await mkdtemp(join(tmpdir(), "motivus-ising-"));
  await cp(INPUTS, join(dir, "inputs"), { recursive: true });
  // host:port only: the published client writes `http://${ALGORITHM_REPO_HOST}/api/...` itself.
  const env = { WEBSOCKET_URI: cluster.driverUri, ALGORITHM_REPO_HOST: new URL(cluster.origin).host };
  const printed = await runPublishedDriver(dir, DRIVER, env);
  const why = `driver printed:\n${printed}\nworker stderr:\n${await logged(dir, "stderr")}`;
  // `data` of an Emscripten task is the exit code.
  expect(printed.trim().split("\n").at(-1), why).toBe("[0]");

  const native = await mkdtemp(join(tmpdir(), "motivus-ising-native-"));
  const nativeStdout = await runNative(native);
  expect(nativeStdout).toMatch(
    /^ising: 32x32 lattice, 6 stages, 770 sweeps, final E=-?\d+ M=-?\d+, state fnv1a64 [0-9a-f]{16}\n$/,
  );
  expect(await logged(dir, "stdout")).toBe(nativeStdout);

  for (const file of RESULTS) {
    const fromWorker = await readFile(join(dir, "results", file)).catch(() => undefined);
    expect(fromWorker, `results/${file} was not returned; ${why}`).toBeDefined();
    const fromNative = await readFile(join(native, "output", file));
    // text first, for a readable diff; then the bytes
    expect(fromWorker!.toString("utf8"), file).toBe(fromNative.toString("utf8"));
    expect(fromWorker!.equals(fromNative), `${file} byte for byte`).toBe(true);
  }
  // the data package was read: the stencil from data/couplings.txt is in the summary
  const summary = JSON.parse(await readFile(join(dir, "results", "summary.json"), "utf8"));
  expect(summary.couplings).toHaveLength(4);
  expect(summary.total_sweeps).toBe(770);
});
