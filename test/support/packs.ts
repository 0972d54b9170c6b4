/**
 * The packages as a user gets them: `npm pack` of each workspace (built already; packing does not
 * build again), installed into an empty project with `npm install <tarballs>`. Their dependencies come
 * from the npm registry (or npm's cache), as for any user.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../..", import.meta.url));

export type PackageName = "motivus-protocol" | "motivus-worker" | "motivus-driver" | "motivus-loopback";

let packing: Promise<Record<string, string>> | null = null;

/** Tarball path by package name, packed once per test process. */
export function tarballs(): Promise<Record<string, string>> {
  return (packing ??= (async () => {
    const out = await mkdtemp(join(tmpdir(), "motivus-packs-"));
    const names: PackageName[] = ["motivus-protocol", "motivus-worker", "motivus-driver", "motivus-loopback"];
    await run("npm", ["pack", "--ignore-scripts", "--pack-destination", out, ...names.flatMap((n) => ["-w", n])], { cwd: root });
    const files = await readdir(out);
    return Object.fromEntries(
      names.map((n) => [
        n,
        join(
          out,
          files.find((f) => f.startsWith(`${n}-`))!,
        ),
      ]),
    );
  })());
}

/** An empty project with these packages (and so their dependencies) installed; its folder. */
export async function installed(names: PackageName[]): Promise<string> {
  const packs = await tarballs();
  const dir = await mkdtemp(join(tmpdir(), "motivus-user-"));
  await writeFile(join(dir, "package.json"), JSON.stringify({ name: "a-user-project", private: true, type: "module" }));
  await run("npm", ["install", "--no-audit", "--no-fund", "--ignore-scripts", ...names.map((n) => packs[n]!)], {
    cwd: dir,
    maxBuffer: 16 * 1024 * 1024,
  });
  return dir;
}

/** Every package the project's node_modules holds (scoped ones as `@scope/name`). */
export async function packagesIn(dir: string): Promise<string[]> {
  const { stdout } = await run("npm", ["ls", "--all", "--parseable"], { cwd: dir, maxBuffer: 16 * 1024 * 1024 });
  const below = `${dir}/node_modules/`;
  return [
    ...new Set(
      stdout
        .split("\n")
        .filter((l) => l.startsWith(below))
        .map((l) => l.slice(below.length).split("/node_modules/").at(-1)!),
    ),
  ].sort();
}
