/**
 * CPU profiles (CDP `Profiler`) of several Chromium targets at once (the bench
 * page, its sandbox frame, its Web Workers) and of this Node process (driver
 * and loopback cluster, through node:inspector), summarised as the functions
 * with the most self time. Targets are reached from a browser-level CDP session
 * (Target.attachToTarget, not flattened), which also covers workers that
 * Playwright's own sessions do not expose. Minified frames of the built
 * bundles are mapped to their sources with dist/browser/*.map when the
 * `source-map-js` package (a dev dependency of vite) can be imported.
 */
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import inspector from "node:inspector/promises";
import { join } from "node:path";
import { BROWSER_DIST } from "./paths.js";

/** `label(targetInfo)` names the targets to profile (null: skip); `during()` is what is profiled. */
export async function profileTargets(browser, label, during, { saveTo = null, top = 8, node = true } = {}) {
  const locate = await sourceMaps();
  const cdp = await browser.newBrowserCDPSession();
  let nextId = 0;
  const waiting = new Map();
  cdp.on("Target.receivedMessageFromTarget", ({ message }) => {
    const reply = JSON.parse(message);
    const done = waiting.get(reply.id);
    if (!done) return;
    waiting.delete(reply.id);
    if (reply.error) done.fail(new Error(`${reply.error.message} (${reply.error.code})`));
    else done.ok(reply.result);
  });
  const { targetInfos } = await cdp.send("Target.getTargets");
  const targets = [];
  for (const info of targetInfos) {
    const name = label(info);
    if (!name) continue;
    const { sessionId } = await cdp.send("Target.attachToTarget", { targetId: info.targetId, flatten: false });
    const send = (method, params = {}) =>
      new Promise((ok, fail) => {
        const id = ++nextId;
        waiting.set(id, { ok, fail });
        cdp.send("Target.sendMessageToTarget", { sessionId, message: JSON.stringify({ id, method, params }) }).catch(fail);
      });
    const same = targets.filter((t) => t.base === name).length;
    targets.push({ base: name, name: same ? `${name} ${same + 1}` : name, sessionId, send });
  }
  if (node) {
    const session = new inspector.Session();
    session.connect();
    targets.push({
      name: "node (driver + cluster)",
      send: (method, params) => session.post(method, params),
      detach: () => session.disconnect(),
    });
  }
  for (const t of targets) {
    await t.send("Profiler.enable");
    await t.send("Profiler.setSamplingInterval", { interval: 100 });
    await t.send("Profiler.start");
  }
  try {
    await during();
  } finally {
    // Stop every profile before summarising any: source-mapping here must not land in the Node profile.
    for (const t of targets) t.profile = (await t.send("Profiler.stop")).profile;
    for (const t of targets) {
      if (t.detach) t.detach();
      else await cdp.send("Target.detachFromTarget", { sessionId: t.sessionId }).catch(() => {});
    }
    await cdp.detach().catch(() => {});
  }
  for (const t of targets) {
    t.summary = summarize(t.profile, top, locate);
    if (saveTo) await writeFile(`${saveTo}-${t.name.replace(/\W+/g, "-")}.cpuprofile`, JSON.stringify(t.profile));
  }
  return targets.map(({ name, summary }) => ({ target: name, ...summary }));
}

/** Self time per function (from samples and their time deltas), largest first. */
export function summarize(profile, top = 8, locate = () => null) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    total += ms;
    const frame = nodes.get(id).callFrame;
    const file = frame.url ? frame.url.replace(/^.*\//, "").slice(0, 40) : "";
    const where = locate(frame) ?? (file ? `${file}:${frame.lineNumber + 1}` : "");
    const key = `${frame.functionName || "(anonymous)"}${where ? ` ${where}` : ""}`;
    self.set(key, (self.get(key) ?? 0) + ms);
  });
  const idle = self.get("(idle)") ?? 0;
  const busy = total - idle;
  const functions = [...self.entries()]
    .filter(([key]) => key !== "(idle)")
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([fn, ms]) => ({ fn, ms: Number(ms.toFixed(1)), shareOfBusy: Number((ms / busy).toFixed(3)) }));
  return { totalMs: Number(total.toFixed(0)), busyMs: Number(busy.toFixed(0)), functions };
}

/**
 * frame → "src/file.ts:line" for code of the built browser bundles: runtime.js runs in the worker from a
 * blob: URL with the same text, the library from /dist/browser/. Null when unmapped.
 */
async function sourceMaps() {
  let SourceMapConsumer;
  try {
    ({ SourceMapConsumer } = await import("source-map-js"));
  } catch {
    return () => null;
  }
  const consumers = {};
  const consumer = (file) => {
    if (!(file in consumers)) {
      try {
        consumers[file] = new SourceMapConsumer(JSON.parse(readFileSync(join(BROWSER_DIST, `${file}.map`), "utf8")));
      } catch {
        consumers[file] = null;
      }
    }
    return consumers[file];
  };
  return ({ url, lineNumber, columnNumber }) => {
    const file = url.startsWith("blob:null/") ? "runtime.js" : url.match(/\/dist\/browser\/([\w.-]+\.js)$/)?.[1];
    const map = file && consumer(file);
    if (!map || lineNumber < 0) return null;
    const pos = map.originalPositionFor({ line: lineNumber + 1, column: columnNumber });
    if (!pos.source) return null;
    return `${pos.source.replace(/^(\.\.\/)+/, "").replace(/^node_modules\//, "")}:${pos.line}`;
  };
}
