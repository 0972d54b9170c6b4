/**
 * Bundles by reference (docs/protocol.md): what carrying a 10 MB-class program costs, apart from its
 * compute. Ghostscript from the corpus (a 16 MB wasm) asked for its version (`-v`: tiny compute), sent
 * by the TypeScript driver (which uploads each file once and sends references).
 * - coldBigBundleMs: its first task in a browser that never saw it (empty IndexedDB), driver → result.
 *   Reference: a bare page's fetch + WebAssembly.compileStreaming of the same file from the same server.
 * - bigBundleTaskMs: warm, one at a time; reference tinyBundleTaskMs, the bench's no-op program so.
 * - bigBundleBytesPerTask: bytes the page's WebSocket received per warm task (frames of every kind).
 * - returningVisitorBundleBytes: after a reload, bytes of program files the page downloaded to run it.
 */
import { createHash } from "node:crypto";
import { BUNDLE_STORE_PATH } from "motivus-protocol";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { closeBenchPage, openBarePage, openCountingBenchPage } from "../support/browser.js";
import { withContext } from "../support/cleanup.js";
import { connectDriver, inlineBundle, sequentialTasks, timedTask } from "../support/driver.js";
import { BENCH_BUILD, ROOT } from "../support/paths.js";
import { fmt, median, round } from "../support/stats.js";

export const title = "bundles by reference: a 16 MB-wasm program cold, warm and after a reload";
export const budgetMs = 90_000;

const TASKS = 10;
const CORPUS = join(ROOT, "test", "corpus", "emscripten");
const CASE = "ghostscript-jspawn-umd";

function ghostscript() {
  const c = JSON.parse(readFileSync(join(CORPUS, "cases.json"), "utf8")).find((entry) => entry.name === CASE);
  const pkg = join(CORPUS, "node_modules", c.package);
  if (!existsSync(join(pkg, c.wasm))) throw new Error(`${c.package} is not installed: run scripts/corpora.sh`);
  const wasm = readFileSync(join(pkg, c.wasm));
  return {
    definition: { ...inlineBundle(join(pkg, c.loader), join(pkg, c.wasm)), arguments: ["-v"] },
    wasmBytes: wasm.length,
    wasmSha: createHash("sha256").update(wasm).digest("hex"),
  };
}

/** A bare page's fetch + compileStreaming of the stored file, in a context of its own (no code cache). */
async function bareCompileMs(browser, cluster, sha) {
  const context = await browser.newContext();
  try {
    const { page } = await openBarePage(context, cluster.origin);
    return await page.evaluate(async (url) => {
      const t0 = performance.now();
      await WebAssembly.compileStreaming(fetch(url));
      return performance.now() - t0;
    }, `${BUNDLE_STORE_PATH}${sha}`);
  } finally {
    await context.close();
  }
}

export async function run(shared) {
  const { progress } = shared;
  return withContext(shared, async ({ cluster, browser, context, cleanup }) => {
    const big = ghostscript();
    const tiny = inlineBundle(join(BENCH_BUILD, "noop.js"), join(BENCH_BUILD, "noop.wasm"));
    const client = await connectDriver(cluster.server.driverUri);
    cleanup.add("the driver", () => client.close());
    const bench = await openCountingBenchPage(context, cluster);

    progress("cold: the first Ghostscript task in a fresh browser context");
    const coldMs = await timedTask(client, big.definition, "cold Ghostscript task", 120_000);
    const bareMs = await bareCompileMs(browser, cluster, big.wasmSha);

    progress(`warm: ${TASKS} Ghostscript tasks, then ${TASKS} no-op tasks`);
    const before = bench.counts.frameBytes;
    const eventsBefore = { ...bench.counts.byEvent };
    const bigMs = median(await sequentialTasks(client, TASKS, big.definition, "warm Ghostscript task", 120_000));
    const bytesPerTask = (bench.counts.frameBytes - before) / TASKS;
    const perEvent = Object.fromEntries(
      Object.entries(bench.counts.byEvent).map(([event, bytes]) => [
        event,
        Math.round((bytes - (eventsBefore[event] ?? 0)) / TASKS),
      ]),
    );
    await sequentialTasks(client, 2, tiny, "warm-up no-op task");
    const tinyMs = median(await sequentialTasks(client, TASKS, tiny, "no-op task"));

    progress("a returning visitor: reload, then the known program");
    await bench.reload();
    const afterReload = bench.counts.bundleBytes;
    await timedTask(client, big.definition, "Ghostscript task after a reload", 120_000);
    const returningBytes = bench.counts.bundleBytes - afterReload;
    bench.watch.check();
    await closeBenchPage(bench.page, cluster);

    return {
      figures: {
        coldBigBundleMs: round(coldMs, 1),
        bigBundleTaskMs: round(bigMs, 1),
        tinyBundleTaskMs: round(tinyMs, 2),
        bigBundleBytesPerTask: Math.round(bytesPerTask),
        returningVisitorBundleBytes: returningBytes,
      },
      rows: rows({ coldMs, bareMs, bigMs, tinyMs, bytesPerTask, perEvent, returningBytes, wasmBytes: big.wasmBytes }),
      details: {
        coldMs: round(coldMs, 1),
        bareCompileMs: round(bareMs, 1),
        wasmBytes: big.wasmBytes,
        bytesPerTaskByEvent: perEvent,
      },
    };
  });
}

function rows({ coldMs, bareMs, bigMs, tinyMs, bytesPerTask, perEvent, returningBytes, wasmBytes }) {
  const mib = (n) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  return [
    {
      figure: "coldBigBundleMs",
      value: `${fmt(coldMs, 0)} ms`,
      reference: `bare fetch + compileStreaming ${fmt(bareMs, 0)} ms`,
      ratio: `${fmt(coldMs / bareMs, 2)}× bare`,
      target: "≤ 1.3× bare",
      notes: [`first task of a ${mib(wasmBytes)} wasm in a fresh context: fetched by reference, checked, stored, compiled, run`],
    },
    {
      figure: "bigBundleTaskMs",
      value: `${fmt(bigMs, 1)} ms`,
      reference: `tinyBundleTaskMs ${fmt(tinyMs, 2)} ms`,
      ratio: `${fmt(bigMs / tinyMs, 2)}× tiny`,
      target: "≤ 1.2× tiny",
      notes: [`median of ${TASKS} warm tasks each, one at a time, driver → result; the big one: Ghostscript -v`],
    },
    {
      figure: "bigBundleBytesPerTask",
      value: `${fmt(bytesPerTask, 0)} B`,
      reference: `wasm ${mib(wasmBytes)}`,
      ratio: `${fmt(bytesPerTask / wasmBytes, 6)}× the wasm`,
      target: "≤ 1 KiB",
      notes: [
        "everything the page's WebSocket received per warm task, by event: " +
          Object.entries(perEvent)
            .filter(([, bytes]) => bytes > 0)
            .map(([event, bytes]) => `${event} ${bytes} B`)
            .join(", "),
      ],
    },
    {
      figure: "returningVisitorBundleBytes",
      value: `${returningBytes} B`,
      reference: `wasm ${mib(wasmBytes)}`,
      ratio: "—",
      target: "0",
      notes: ["program-file bytes downloaded after a reload to run the known program again"],
    },
  ];
}
