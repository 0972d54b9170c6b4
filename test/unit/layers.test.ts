// Which thread a file runs on is enforced by the compiler: each folder is checked against its own
// environment's types (packages/worker/tsconfig.page/frame/worker.json, packages/loopback/tsconfig.json). These tests prove the check bites:
// code that reaches for Node or the DOM from inside a Web Worker does not compile.
import { execFile } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const tsc = join(root, "node_modules/typescript/bin/tsc");

/** Typechecks `source` as if it were a file of the environment `env`; the compiler's output, or "" when it passes. */
async function check(env: "worker" | "page" | "node", source: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "motivus-layer-"));
  await writeFile(join(dir, "probe.mts"), source);
  await writeFile(
    join(dir, "tsconfig.json"),
    JSON.stringify({
      extends: join(root, env === "node" ? "packages/loopback/tsconfig.json" : `packages/worker/tsconfig.${env}.json`),
      include: ["probe.mts"],
    }),
  );
  return new Promise((ok) => execFile(process.execPath, [tsc, "-p", dir, "--noEmit"], (err, stdout) => ok(err ? stdout : "")));
}

describe("each environment compiles against its own types", () => {
  it("a Node import inside worker code fails the typecheck", async () => {
    expect(await check("worker", `import { readFileSync } from "node:fs";\nexport const read = readFileSync;\n`)).toMatch(
      /node:fs/,
    );
    expect(await check("worker", `export const env = process.env;\n`)).toMatch(/Cannot find name 'process'/);
  }, 60_000);

  it("the DOM is not there inside worker code", async () => {
    expect(await check("worker", `export const title = document.title;\n`)).toMatch(/Cannot find name 'document'/);
  }, 60_000);

  it("page code has the DOM but not Node; worker globals compile in worker code", async () => {
    expect(await check("page", `export const title = document.title;\n`)).toBe("");
    expect(await check("page", `export const env = process.env;\n`)).toMatch(/Cannot find name 'process'/);
    expect(await check("worker", `export const scope: WorkerGlobalScope = self;\n`)).toBe("");
  }, 60_000);
});
