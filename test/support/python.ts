/**
 * Python drivers in the tests. `runPublishedDriver` runs a driver script with the published
 * `motivus` client from PyPI (installed into .venv/ by scripts/python-client.sh, as `.ci/run` does);
 * `runPythonDriver` runs one task definition through it (test/python/task_driver.py).
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const script = join(root, "test/python/task_driver.py");

/** The Python of the project's virtual environment, which holds the published client. */
export const PYTHON = process.env.MOTIVUS_PYTHON || join(root, ".venv/bin/python");

function python(args: string[], cwd: string, env: Record<string, string>, timeout: number): Promise<string> {
  if (!process.env.MOTIVUS_PYTHON && !existsSync(PYTHON)) {
    throw new Error(`${PYTHON} is missing: run scripts/python-client.sh (it installs the published motivus client)`);
  }
  return new Promise<string>((ok, fail) => {
    execFile(PYTHON, args, { cwd, env: { ...process.env, ...env }, timeout }, (err, out, errText) =>
      err ? fail(new Error(`python ${args[0]} failed: ${err.message}\n${out}\n${errText}`)) : ok(out),
    );
  });
}

/**
 * Writes `source` as `driver.py` in `cwd` and runs it with the published client, as a driver
 * author does (`python driver.py`). Resolves with what it printed.
 */
export async function runPublishedDriver(
  cwd: string,
  source: string,
  env: Record<string, string>,
  timeout = 120_000,
): Promise<string> {
  await writeFile(join(cwd, "driver.py"), source);
  return python(["driver.py"], cwd, env, timeout);
}

/** Runs `task` (a task definition; preload files as local paths) with the published client; its result. */
export async function runPythonDriver(cwd: string, task: unknown, env: Record<string, string>): Promise<unknown> {
  await writeFile(join(cwd, "task.json"), JSON.stringify(task));
  const stdout = await python([script, "task.json"], cwd, env, 120_000);
  return JSON.parse(stdout.trim().split("\n").at(-1)!);
}
