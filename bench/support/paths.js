/** Where things are, and whether each package's dist/ is there and newer than its src/. */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const PACKAGES = join(ROOT, "packages");
/** The browser package's built files (and their source maps). */
export const BROWSER_DIST = join(PACKAGES, "worker", "dist");
export const BENCH = join(ROOT, "bench");
export const TEST_FIXTURES = join(ROOT, "test", "fixtures");
/** The benchmark's own Emscripten builds (bench/fixtures/build.sh). */
export const BENCH_BUILD = join(BENCH, "fixtures", "build");
export const RESULTS = join(BENCH, "results.json");

/** URL paths of the loopback's extra mounts (support/cluster.js). */
export const URLS = {
  benchPage: "/bench/pages/bench.html",
  barePage: "/bench/pages/bare.html",
  benchBuild: "/bench/fixtures/build/",
  testFixtures: "/fixtures/",
  scratch: "/scratch/",
};

/** Each package's built files the bench needs, below packages/. */
const NEEDED = [
  "loopback/dist/index.js",
  "loopback/dist/browsers.js",
  "driver/dist/index.js",
  "protocol/dist/index.js",
  "worker/dist/motivus-worker.js",
  "worker/dist/runtime.js",
  "worker/dist/motivus-embed.js",
];

/** Throws when the build is missing; returns the first source file newer than the build, if any. */
export function checkBuild() {
  const missing = NEEDED.filter((f) => !existsSync(join(PACKAGES, f)));
  if (missing.length) throw new Error(`a built package is missing (packages/${missing[0]}); run \`npm run build\` first`);
  const fixtures = ["noop", "kernel", "copy"]
    .flatMap((n) => [`${n}.js`, `${n}.wasm`])
    .filter((f) => !existsSync(join(BENCH_BUILD, f)));
  if (fixtures.length) throw new Error(`bench/fixtures/build/${fixtures[0]} is missing; run bench/fixtures/build.sh`);
  const oldestBuild = Math.min(...NEEDED.map((f) => statSync(join(PACKAGES, f)).mtimeMs));
  const walk = (dir) =>
    readdirSync(dir, { withFileTypes: true })
      // src/generated/ is written by the build itself.
      .filter((e) => e.name !== "generated")
      .flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
  const sources = readdirSync(PACKAGES)
    .map((name) => join(PACKAGES, name, "src"))
    .filter((dir) => existsSync(dir));
  const newer = sources.flatMap(walk).find((f) => statSync(f).mtimeMs > oldestBuild);
  return newer ? newer.slice(ROOT.length) : null;
}
