/** A small bar chart of CPU time per day, as inline SVG (no image, so no CSP `img-src` needed). */
import { s } from "./dom.js";
import { duration } from "./strings.js";

const W = 280;
const H = 56;
const GAP = 4;

export function cpuChart(days: { day: string; cpuMs: number }[], label: (summary: string) => string): SVGSVGElement {
  const max = Math.max(1, ...days.map((d) => d.cpuMs));
  const bar = (W - GAP * (days.length - 1)) / days.length;
  const worked = days.filter((d) => d.cpuMs > 0);
  const summary = worked.length ? worked.map((d) => `${d.day} ${duration(d.cpuMs)}`).join(", ") : "0 s";
  const text = label(summary);
  return s(
    "svg",
    {
      viewBox: `0 0 ${W} ${H + 2}`,
      width: "100%",
      height: H + 2,
      role: "img",
      "aria-label": text,
      class: "chart",
      preserveAspectRatio: "none",
    },
    s("title", {}, text),
    ...days.map((d, i) => {
      const height = d.cpuMs > 0 ? Math.max(2, Math.round((d.cpuMs / max) * H)) : 1;
      return s("rect", {
        x: (i * (bar + GAP)).toFixed(1),
        y: H - height + 1,
        width: bar.toFixed(1),
        height,
        rx: 2,
        class: d.cpuMs > 0 ? "bar" : "bar empty",
      });
    }),
  );
}
