/** Where things are, and whether dist/ is there and newer than src/. */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const DIST = join(ROOT, "dist");
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

const NEEDED = [
  "loopback/index.js",
  "loopback/browsers.js",
  "driver/index.js",
  "protocol/frame.js",
  "protocol/cluster.js",
  "browser/motivus-worker.js",
  "browser/runtime.js",
  "browser/motivus-embed.js",
];

/** Throws when the build is missing; returns the first source file newer than the build, if any. */
export function checkBuild() {
  const missing = NEEDED.filter((f) => !existsSync(join(DIST, f)));
  if (missing.length) throw new Error(`the built package is missing (dist/${missing[0]}); run \`npm run build\` first`);
  const fixtures = ["noop", "kernel", "copy"].flatMap((n) => [`${n}.js`, `${n}.wasm`]).filter((f) => !existsSync(join(BENCH_BUILD, f)));
  if (fixtures.length) throw new Error(`bench/fixtures/build/${fixtures[0]} is missing; run bench/fixtures/build.sh`);
  const oldestBuild = Math.min(...NEEDED.map((f) => statSync(join(DIST, f)).mtimeMs));
  const walk = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
  const src = join(ROOT, "src");
  const newer = existsSync(src) ? walk(src).find((f) => statSync(f).mtimeMs > oldestBuild) : undefined;
  return newer ? newer.slice(ROOT.length) : null;
}
