// Each package's size budget; `node scripts/size-budget.mjs` (the end of `npm run build`) fails when a
// package outgrows one. The bench's `sizes` part reports the same figures against the same budgets.
// Browser files are measured as gzip -9 (what a page downloads); packages as their packed tarball.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const KiB = 1024;

export const BUDGETS = {
  "motivus-worker": {
    dir: "packages/worker",
    packedBytes: 120 * KiB,
    gzip: {
      // The widget alone: the worker library is imported only once a visitor agrees.
      "dist/motivus-embed.js": 15 * KiB,
      "dist/motivus-worker.js": 40 * KiB,
      // The worker runtime, algorithms excluded: every loader shape, legacy adapters included, and the
      // WASI host (@bjorn3/browser_wasi_shim, ~6 KiB gzip). Fetched once per visitor, into workers only.
      "dist/runtime.js": 30 * KiB,
    },
  },
  "motivus-loopback": { dir: "packages/loopback", packedBytes: 56 * KiB, gzip: {} },
  // The client, its phoenix adapter and error classes, the registry and Node file access.
  "motivus-driver": { dir: "packages/driver", packedBytes: 18 * KiB, gzip: {} },
  "motivus-protocol": { dir: "packages/protocol", packedBytes: 16 * KiB, gzip: {} },
};

/** gzip -9 bytes of a package's file. */
export function gzipBytes(name, file) {
  return gzipSync(readFileSync(`${ROOT}/${BUDGETS[name].dir}/${file}`), { level: 9 }).length;
}

/** The package's tarball as `npm pack` makes it (without building again): bytes packed, unpacked, files. */
export function packed(name) {
  const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts", "-w", name], {
    cwd: ROOT,
    encoding: "utf8",
  });
  const [info] = JSON.parse(out);
  return { packedBytes: info.size, unpackedBytes: info.unpackedSize, files: info.files.map((f) => f.path) };
}

/** Every measured figure beside its budget. */
export function measure() {
  return Object.entries(BUDGETS).flatMap(([name, budget]) => [
    ...Object.entries(budget.gzip).map(([file, limit]) => ({ name, what: `${file} gzip`, bytes: gzipBytes(name, file), limit })),
    { name, what: "packed tarball", bytes: packed(name).packedBytes, limit: budget.packedBytes },
  ]);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const over = measure().filter((m) => {
    const ok = m.bytes <= m.limit;
    console.log(
      `${ok ? "ok  " : "OVER"} ${m.name} ${m.what}: ${(m.bytes / KiB).toFixed(1)} KiB (budget ${(m.limit / KiB).toFixed(0)} KiB)`,
    );
    return !ok;
  });
  if (over.length) {
    console.error(`${over.length} figure(s) over budget: trim them or raise the budget in scripts/size-budget.mjs on purpose`);
    process.exit(1);
  }
}
