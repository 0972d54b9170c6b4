/**
 * Sizes per package: gzip -9 of the browser package's files (what a page downloads) and each package's
 * packed tarball (what `npm install` fetches). Reference: the budgets in scripts/size-budget.mjs, which
 * the build enforces.
 */
import { BUDGETS, gzipBytes, packed } from "../../scripts/size-budget.mjs";
import { fmt } from "../support/stats.js";

export const title = "sizes: the browser files and each package";
export const budgetMs = 30_000;

/** The browser files' figures, named as in earlier runs. */
const BROWSER_FIGURES = {
  "dist/motivus-embed.js": ["embedGzipBytes", "script-tag entry"],
  "dist/motivus-worker.js": ["libraryGzipBytes", "npm entry"],
  "dist/runtime.js": ["workerGzipBytes", "Web Worker runtime"],
};

/** `motivus-loopback` → `loopbackPackedBytes`. */
const packedFigure = (name) => `${name.replace(/^motivus-/, "")}PackedBytes`;

const row = (figure, bytes, budget, note) => ({
  figure,
  value: `${fmt(bytes / 1024, 1)} KiB`,
  reference: `budget ${fmt(budget / 1024, 0)} KiB`,
  ratio: `${fmt(bytes / budget, 2)}× budget`,
  target: `≤ ${fmt(budget / 1024, 0)} KiB`,
  notes: [note],
});

export async function run() {
  const figures = {};
  const rows = [];
  for (const [file, budget] of Object.entries(BUDGETS["motivus-worker"].gzip)) {
    const [figure, what] = BROWSER_FIGURES[file];
    figures[figure] = gzipBytes("motivus-worker", file);
    rows.push(row(figure, figures[figure], budget, `motivus-worker/${file} (${what})`));
  }
  for (const [name, budget] of Object.entries(BUDGETS)) {
    const tarball = packed(name);
    const figure = packedFigure(name);
    figures[figure] = tarball.packedBytes;
    rows.push(
      row(
        figure,
        tarball.packedBytes,
        budget.packedBytes,
        `${name}: ${tarball.files.length} files, ${fmt(tarball.unpackedBytes / 1024, 1)} KiB unpacked`,
      ),
    );
  }
  return { figures, rows };
}
