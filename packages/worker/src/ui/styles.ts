/**
 * The widget's stylesheet, adopted by its shadow root as a constructed
 * stylesheet (a host CSP's `style-src` does not apply to those, so no
 * 'unsafe-inline' is needed). `:host { all: initial }` cuts every inherited
 * property of the host page; position fixed keeps the page's layout as it was.
 */
export const CSS = `
:host {
  all: initial;
  position: fixed;
  z-index: 2147483000;
  bottom: 16px;
  right: 16px;
  display: block;
  contain: layout style;
  --bg: #ffffff;
  --fg: #1b2130;
  --muted: #4a5466;
  --line: #d5dae5;
  --soft: #f1f3f8;
  --accent: #3148c8;
  --on-accent: #ffffff;
  --ok: #17794a;
  --warn: #8a5a00;
  --bad: #b42318;
  --bar: #3148c8;
  --shadow: 0 8px 28px rgba(20, 28, 50, .18), 0 1px 3px rgba(20, 28, 50, .12);
  color-scheme: light;
}
:host([data-position="bottom-left"]) { right: auto; left: 16px; }
:host([data-position="top-right"]) { bottom: auto; top: 16px; }
:host([data-position="top-left"]) { bottom: auto; top: 16px; right: auto; left: 16px; }
@media (prefers-color-scheme: dark) {
  :host {
    --bg: #1b2030;
    --fg: #eceff6;
    --muted: #b8bfcf;
    --line: #394157;
    --soft: #252b3d;
    --accent: #9aabff;
    --on-accent: #10152a;
    --ok: #6fd69f;
    --warn: #f1c255;
    --bad: #ff9a8f;
    --bar: #9aabff;
    --shadow: 0 8px 28px rgba(0, 0, 0, .5);
    color-scheme: dark;
  }
}
* { box-sizing: border-box; }
.root {
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Ubuntu, sans-serif;
  color: var(--fg);
  text-align: left;
  direction: ltr;
  display: flex;
  flex-direction: column-reverse; /* the button sits in the corner, the panel opens away from it */
  align-items: flex-end;
  gap: 10px;
}
:host([data-position$="left"]) .root { align-items: flex-start; }
:host([data-position^="top"]) .root { flex-direction: column; }
button, input { font: inherit; color: inherit; }
button { cursor: pointer; }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.pill {
  display: inline-flex; align-items: center; gap: 8px;
  min-height: 44px; padding: 6px 16px 6px 8px;
  border: 1px solid var(--line); border-radius: 999px;
  background: var(--bg); color: var(--fg); box-shadow: var(--shadow);
  font-weight: 600;
}
.mark { width: 28px; height: 28px; flex: none; }
.mark { color: var(--on-accent); }
.mark circle.ring { fill: var(--accent); }
.dot { width: 10px; height: 10px; border-radius: 50%; background: var(--muted); flex: none; }
.dot[data-tone="ok"] { background: var(--ok); }
.dot[data-tone="warn"] { background: var(--warn); }
.dot[data-tone="bad"] { background: var(--bad); }
.dot[data-tone="ok"][data-busy] { animation: pulse 1.6s ease-in-out infinite; }
@keyframes pulse { 50% { opacity: .35; } }
.panel {
  width: min(340px, calc(100vw - 32px));
  max-height: min(620px, calc(100vh - 90px));
  overflow: auto;
  background: var(--bg); border: 1px solid var(--line); border-radius: 14px;
  box-shadow: var(--shadow); padding: 14px 16px 16px;
  transform-origin: bottom right;
  animation: open .16s ease-out;
}
@keyframes open { from { opacity: 0; transform: translateY(6px) scale(.98); } }
.panel[hidden] { display: none; }
header { display: flex; align-items: center; gap: 10px; margin-bottom: 8px; }
h2 { font-size: 15px; line-height: 1.3; margin: 0; flex: 1; font-weight: 700; }
h2 small { display: block; font-size: 12px; font-weight: 600; color: var(--muted); letter-spacing: .02em; }
h3 { font-size: 12px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); margin: 14px 0 6px; font-weight: 700; }
p { margin: 0 0 8px; }
.muted { color: var(--muted); font-size: 13px; }
.icon {
  width: 32px; height: 32px; border-radius: 8px; border: 1px solid transparent; background: transparent;
  display: inline-grid; place-items: center; font-size: 20px; line-height: 1; color: var(--muted);
}
.icon:hover { background: var(--soft); }
.row { display: flex; gap: 8px; flex-wrap: wrap; margin-top: 10px; }
.btn {
  min-height: 36px; padding: 6px 14px; border-radius: 8px; border: 1px solid var(--accent);
  background: var(--accent); color: var(--on-accent); font-weight: 600;
}
.btn.secondary { background: transparent; color: var(--accent); }
.link { border: 0; background: none; padding: 4px 0; color: var(--muted); text-decoration: underline; font-size: 13px; }
.status { display: flex; gap: 8px; align-items: baseline; padding: 8px 10px; border-radius: 8px; background: var(--soft); }
.status .dot { transform: translateY(1px); }
label { display: grid; grid-template-columns: 1fr auto; gap: 2px 8px; margin-top: 10px; font-weight: 600; font-size: 13px; }
label .value { font-variant-numeric: tabular-nums; color: var(--muted); font-weight: 600; }
input[type="range"] { grid-column: 1 / -1; width: 100%; accent-color: var(--accent); margin: 4px 0 0; }
ul { list-style: none; margin: 0; padding: 0; font-size: 13px; }
li { display: flex; justify-content: space-between; gap: 8px; padding: 3px 0; border-bottom: 1px dashed var(--line); font-variant-numeric: tabular-nums; }
li:last-child { border-bottom: 0; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; }
.total { font-weight: 700; font-size: 15px; }
.chart { display: block; margin-top: 6px; }
.chart .bar { fill: var(--bar); }
.chart .bar.empty { fill: var(--line); }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
@media (prefers-reduced-motion: reduce) {
  .panel, .dot { animation: none !important; }
  * { transition: none !important; scroll-behavior: auto !important; }
}
`;

/** Style a shadow root: a constructed stylesheet where the browser has them, else a `<style>` element. */
export function adoptStyles(root: ShadowRoot, css: string): void {
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    root.adoptedStyleSheets = [sheet];
  } catch {
    const style = document.createElement("style");
    style.textContent = css;
    root.append(style);
  }
}
