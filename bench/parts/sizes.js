/**
 * embedGzipBytes, workerGzipBytes, libraryGzipBytes: gzip -9 sizes of the
 * built browser bundles. Reference: each bundle's budget in scripts/size-budget.mjs
 * (the build fails above it).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { DIST, ROOT } from "../support/paths.js";
import { fmt } from "../support/stats.js";

export const title = "sizes: gzip of the browser bundles";
export const budgetMs = 10_000;

const BUNDLES = [
  ["embedGzipBytes", "browser/motivus-embed.js", "script-tag entry"],
  ["libraryGzipBytes", "browser/motivus-worker.js", "npm entry"],
  ["workerGzipBytes", "browser/runtime.js", "Web Worker runtime"],
];

/** The budgets, read from scripts/size-budget.mjs (`"dist/browser/x.js": N * 1024`). */
function budgets() {
  let text = "";
  try {
    text = readFileSync(join(ROOT, "scripts", "size-budget.mjs"), "utf8");
  } catch {
    return {};
  }
  return Object.fromEntries([...text.matchAll(/"dist\/([^"]+)":\s*(\d+)\s*\*\s*1024/g)].map((m) => [m[1], Number(m[2]) * 1024]));
}

export async function run() {
  const budget = budgets();
  const figures = {};
  const rows = [];
  for (const [key, file, what] of BUNDLES) {
    const raw = readFileSync(join(DIST, file));
    const gzip = gzipSync(raw, { level: 9 }).length;
    figures[key] = gzip;
    const b = budget[file] ?? null;
    rows.push({
      figure: key,
      value: `${fmt(gzip / 1024, 1)} KiB`,
      reference: b ? `budget ${fmt(b / 1024, 0)} KiB` : "no budget",
      ratio: b ? `${fmt(gzip / b, 2)}× budget` : "—",
      target: b ? `≤ ${fmt(b / 1024, 0)} KiB` : "—",
      notes: [`dist/${file} (${what}), ${fmt(raw.length / 1024, 1)} KiB raw`],
    });
  }
  return { figures, rows };
}
