// Fails the build when a browser entry outgrows its budget (gzip -9 bytes).
// The script-tag entry is what every host page downloads: keep it small.
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const BUDGETS = {
  // The widget alone: the worker library is imported only once a visitor agrees.
  "dist/browser/motivus-embed.js": 15 * 1024,
  "dist/browser/motivus-worker.js": 38 * 1024,
  // The worker runtime, algorithms excluded: every loader shape, legacy adapters included, and the
  // WASI host (@bjorn3/browser_wasi_shim, ~6 KiB gzip). Fetched once per visitor, into workers only.
  "dist/browser/runtime.js": 30 * 1024,
};

let over = 0;
for (const [file, budget] of Object.entries(BUDGETS)) {
  const size = gzipSync(readFileSync(file), { level: 9 }).length;
  const ok = size <= budget;
  if (!ok) over++;
  console.log(`${ok ? "ok  " : "OVER"} ${file}: ${(size / 1024).toFixed(1)} KiB gzip (budget ${(budget / 1024).toFixed(0)} KiB)`);
}
if (over) {
  console.error(`${over} bundle(s) over budget: trim them or raise the budget in scripts/size-budget.mjs on purpose`);
  process.exit(1);
}
