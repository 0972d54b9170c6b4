// The loopback cluster's numbers, polled once a second while the page is visible, and a
// throughput chart (tasks finished per second over the last two minutes) as inline SVG.
const KEYS = ["workers", "offered_slots", "drivers", "queued", "running", "done", "failed", "requeued"];
const SPAN = 120;
const rates = [];
let last = null;
const $ = (id) => document.getElementById(id);
const svg = (tag, attrs = {}) => {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
};

function draw() {
  const W = 600,
    H = 200,
    pad = 24;
  const max = Math.max(1, ...rates);
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H + pad}`, preserveAspectRatio: "none", role: "img" });
  const now = rates.at(-1) ?? 0;
  const label = `Tasks finished per second over the last ${rates.length} seconds; now ${now}, at most ${max}.`;
  chart.setAttribute("aria-label", label);
  chart.append(svg("line", { class: "axis", x1: 0, y1: H, x2: W, y2: H }));
  const bar = W / SPAN;
  rates.forEach((rate, i) => {
    const h = Math.round((rate / max) * (H - 10));
    const x = (SPAN - rates.length + i) * bar;
    if (h > 0)
      chart.append(svg("rect", { class: "bar", x: x.toFixed(1), y: H - h, width: Math.max(1, bar - 1).toFixed(1), height: h }));
  });
  const top = svg("text", { x: 4, y: 14 });
  top.textContent = `${max}/s`;
  const left = svg("text", { x: 4, y: H + 18 });
  left.textContent = "2 min ago";
  const right = svg("text", { x: W - 4, y: H + 18, "text-anchor": "end" });
  right.textContent = "now";
  chart.append(top, left, right);
  $("chart").replaceChildren(chart);
  $("rate").textContent = `Tasks finished per second, last two minutes: ${now} now, at most ${max}.`;
}

async function poll() {
  try {
    const res = await fetch("/api/loopback/stats", { cache: "no-store" });
    if (!res.ok) throw new Error(String(res.status));
    const stats = await res.json();
    for (const key of KEYS) $(key).textContent = String(stats[key] ?? 0);
    const finished = (stats.done ?? 0) + (stats.failed ?? 0);
    if (last !== null) rates.push(Math.max(0, finished - last));
    if (rates.length > SPAN) rates.shift();
    last = finished;
    $("live").textContent = "live";
    $("live").classList.remove("off");
    draw();
  } catch (err) {
    $("live").textContent = `cannot reach the cluster (${err.message})`;
    $("live").classList.add("off");
  }
}

// Each poll a second after the last one ended: a slow answer never makes the next come sooner.
let timer = null;
let chain = 0; // a visibility change starts a new chain; the old one ends with its poll
const run = () => {
  clearTimeout(timer);
  timer = null;
  const mine = ++chain;
  if (document.hidden) return;
  void poll().then(() => mine === chain && (timer = setTimeout(run, 1000)));
};
document.addEventListener("visibilitychange", run);
run();
