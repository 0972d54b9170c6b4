/** The driver's disk side, Node only: bundles in, result files and logs out. */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fromBase64 } from "../cluster/encoding.js";
import type { ResultContent } from "../cluster/protocol.js";

export async function readBytes(path: string): Promise<Uint8Array> {
  return new Uint8Array(await readFile(path));
}

/** Write each `result_files` entry (virtual path → local path) from the result map. */
export async function writeResultFiles(resultFiles: Record<string, string>, content: ResultContent): Promise<void> {
  for (const [virtual, local] of Object.entries(resultFiles)) {
    const value = content[virtual];
    if (typeof value !== "string") continue; // the algorithm did not produce it; the error says why
    await mkdir(dirname(local), { recursive: true });
    await writeFile(local, fromBase64(value));
  }
}

/** Keep stdout and stderr of a task under the log folder, as the Python client does. */
export async function keepLogs(dir: string | null, id: number, stdout: string, stderr: string): Promise<void> {
  if (!dir) return;
  await mkdir(dir, { recursive: true });
  await Promise.all([writeFile(join(dir, `task-${id}.stdout.log`), stdout), writeFile(join(dir, `task-${id}.stderr.log`), stderr)]);
}
