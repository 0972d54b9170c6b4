/** Runs the V1 Python driver (Debian's /usr/bin/python3 + python3-websockets) on a task definition. */
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const script = fileURLToPath(new URL("../python/v1_driver.py", import.meta.url));
export const PYTHON = process.env.MOTIVUS_PYTHON || "/usr/bin/python3";

export async function runPythonDriver(cwd: string, task: unknown, env: Record<string, string>): Promise<unknown> {
  await writeFile(join(cwd, "task.json"), JSON.stringify(task));
  const stdout = await new Promise<string>((ok, fail) => {
    execFile(PYTHON, [script, "task.json"], { cwd, env: { ...process.env, ...env }, timeout: 120_000 }, (err, out, errText) =>
      err ? fail(new Error(`python driver failed: ${err.message}\n${errText}`)) : ok(out),
    );
  });
  return JSON.parse(stdout.trim().split("\n").at(-1)!);
}
