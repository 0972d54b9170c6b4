/** The table on stdout: figure, value, reference, ratio, target; notes indented under their figure. */

const HEADER = ["figure", "value", "reference", "ratio", "target"];

export function printTable(rows, meta) {
  const cells = rows.map((r) => [r.figure, r.value, r.reference, r.ratio, r.target].map((c) => String(c ?? "")));
  const widths = HEADER.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c) =>
    c
      .map((cell, i) => cell.padEnd(widths[i]))
      .join(" │ ")
      .trimEnd();
  const out = [];
  out.push("motivus-worker benchmark (built package, dist/)");
  out.push(
    `${meta.machine}, load average ${meta.loadAverage.join(" ")}; node ${meta.node}; chromium ${meta.chromium ?? "not started"}`,
  );
  if (meta.staleBuild) out.push(`WARNING: ${meta.staleBuild} is newer than the build`);
  out.push("");
  out.push(line(HEADER));
  out.push(widths.map((w) => "─".repeat(w)).join("─┼─"));
  rows.forEach((r, i) => {
    out.push(line(cells[i]));
    for (const note of r.notes ?? []) out.push(`    · ${note}`);
  });
  out.push("");
  out.push(`total ${meta.seconds} s; ratios are value / reference unless the cell says otherwise`);
  console.log(out.join("\n"));
}
