/**
 * Playwright's global set-up: bundles the test pages' scripts that use the worker package's internal
 * modules (which the package does not ship) into test/browser/pages/built/, from source, with esbuild.
 */
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const pages = fileURLToPath(new URL("../pages/", import.meta.url));

export default async function buildPages(): Promise<void> {
  await build({
    entryPoints: [`${pages}runtime-harness.js`],
    outdir: `${pages}built`,
    bundle: true,
    format: "esm",
    target: "es2022",
    logLevel: "warning",
  });
}
