/** Summaries of samples, and number formatting for the table. */

export function median(values) {
  return percentile(values, 0.5);
}

/** Nearest-rank percentile (p in 0..1); the median of an even count is the mean of the middle two. */
export function percentile(values, p) {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (!sorted.length) return null;
  if (p === 0.5 && sorted.length % 2 === 0) return (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

export function mean(values) {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : null;
}

/** A number rounded to `digits` significant decimals, for results.json. */
export function round(n, digits = 3) {
  if (n === null || n === undefined || !Number.isFinite(n)) return null;
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** `n` for the table: fixed decimals, thousands separators; "—" for nothing. */
export function fmt(n, digits = 2) {
  if (n === null || n === undefined || !Number.isFinite(n)) return "—";
  return n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export const MB = 1e6;
export const MiB = 1024 * 1024;
