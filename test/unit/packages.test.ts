// Each package as npm would publish it: its manifest and what `npm pack` puts in its tarball.
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../..", import.meta.url));
const PACKAGES = ["protocol", "worker", "driver", "loopback"] as const;
const manifest = (dir: string) => JSON.parse(readFileSync(`${root}/packages/${dir}/package.json`, "utf8"));
const rootManifest = JSON.parse(readFileSync(`${root}/package.json`, "utf8"));

/** The files `npm pack` would put in the tarball (no build: the test run built them). */
async function packedFiles(name: string): Promise<string[]> {
  const { stdout } = await run("npm", ["pack", "--dry-run", "--json", "--ignore-scripts", "-w", name], { cwd: root });
  return (JSON.parse(stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path).sort();
}

/** Every file an `exports` entry names (conditions flattened). */
function exportTargets(exports: unknown): string[] {
  if (typeof exports === "string") return [exports.replace(/^\.\//, "")];
  return Object.values(exports as Record<string, unknown>).flatMap(exportTargets);
}

describe.each(PACKAGES)("packages/%s", (dir) => {
  const pkg = manifest(dir);

  it("has a licence, a README, ESM, the Node release its ESM needs, and builds on pack, not on install", () => {
    expect(pkg.license).toBe("MIT");
    expect(readFileSync(`${root}/packages/${dir}/LICENSE`, "utf8")).toBe(readFileSync(`${root}/LICENSE`, "utf8"));
    expect(existsSync(`${root}/packages/${dir}/README.md`)).toBe(true);
    expect(pkg.type).toBe("module");
    expect(pkg.engines.node).toBe(">=20.19"); // require() of ES modules, unflagged from 20.19
    expect(pkg.scripts.prepare).toBeUndefined();
    expect(pkg.scripts.prepack).toBe("npm run build");
  });

  it("pins its own packages at this release, and the phoenix client exactly", () => {
    for (const [name, range] of Object.entries<string>(pkg.dependencies ?? {})) {
      if (name.startsWith("motivus-")) expect(range).toBe(manifest(name.replace("motivus-", "")).version);
      if (name === "phoenix") expect(range).toMatch(/^\d+\.\d+\.\d+$/);
    }
  });

  it("ships every file its exports name and nothing a user cannot reach: no source maps, no stray modules", async () => {
    const files = await packedFiles(pkg.name);
    for (const target of exportTargets(pkg.exports)) expect(files).toContain(target);
    expect(files.filter((f) => f.endsWith(".map"))).toEqual([]);
    const reachable = (f: string) =>
      ["package.json", "README.md", "LICENSE"].includes(f) ||
      exportTargets(pkg.exports).includes(f) ||
      (dir === "worker" ? f.startsWith("dist/types/") : /^(dist|bin|demo)\//.test(f));
    expect(files.filter((f) => !reachable(f))).toEqual([]);
  });
});

it("the workspaces are these packages, built in dependency order", () => {
  expect(rootManifest.workspaces).toEqual(PACKAGES.map((p) => `packages/${p}`));
  expect(rootManifest.scripts.build).toMatch(/motivus-protocol.*motivus-worker.*motivus-driver.*motivus-loopback/);
});

it("the browser package's README names this build's sandbox bootstrap hash, as dist/csp.json ships it", () => {
  const { sandboxBootstrapHash } = JSON.parse(readFileSync(`${root}/packages/worker/dist/csp.json`, "utf8"));
  expect(sandboxBootstrapHash).toMatch(/^'sha256-[A-Za-z0-9+/]{43}='$/);
  const readme = readFileSync(`${root}/packages/worker/README.md`, "utf8");
  expect(readme, "the sandbox bootstrap changed: put dist/csp.json's hash in packages/worker/README.md").toContain(
    sandboxBootstrapHash,
  );
});
