/**
 * payloadMBps: a 20 MiB preload file in (driver → worker; the result is
 * small). payloadRoundTripMBps: the same 20 MiB in and back as a result file
 * (checked byte for byte), counted as 40 MiB moved. MB = 10^6 bytes. Reference:
 * the bare page fetching the same file over HTTP from the same server, running
 * the same `copy` wasm on it, and (round trip) POSTing the copy to a sink.
 * The pipeline's page runs in a Chromium no DevTools client watches (support/browser.js,
 * openUnwatchedBenchPage): a watched page's frames are each copied into this process.
 * pythonPayloadMBps: the same 20 MiB in with the published Python client, whose protocol is JSON
 * and base64 (its ceiling: it never sends files as bytes); reference the TS driver's payloadMBps.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { openBarePage, openUnwatchedBenchPage } from "../support/browser.js";
import { Cleanup } from "../support/cleanup.js";
import { connectDriver, inlineBundle, timedTask } from "../support/driver.js";
import { BENCH_BUILD, ROOT, URLS } from "../support/paths.js";
import { startSink } from "../support/sink.js";
import { queuedToDone } from "../support/cluster.js";
import { MB, MiB, fmt, median, round } from "../support/stats.js";

export const title = "payload: 20 MiB in, and in and back";
export const budgetMs = 150_000;

const SIZE = 20 * MiB;
const RUNS = 2;

export async function run({ browser: getBrowser, cluster: getCluster, progress, tmp }) {
  const cluster = await getCluster();
  const browser = await getBrowser();
  const cleanup = new Cleanup();
  try {
    const big = randomBytes(SIZE);
    await writeFile(join(tmp, "in.bin"), big); // the cluster serves tmp at /scratch/
    const sink = await startSink();
    cleanup.add("the upload sink", () => sink.close());
    const context = await browser.newContext();
    cleanup.add("the browser context", () => context.close());
    const copy = inlineBundle(join(BENCH_BUILD, "copy.js"), join(BENCH_BUILD, "copy.wasm"));

    progress(`bare page: fetch + copy (+ POST back), ${RUNS} runs each`);
    const bare = await openBarePage(context, cluster.origin);
    await bare.page.evaluate(
      (base) => window.bare.load("copy", { loaderUrl: `${base}copy.js`, wasmUrl: `${base}copy.wasm`, shape: "modularize" }),
      URLS.benchBuild,
    );
    const url = `${URLS.scratch}in.bin`;
    const bareIn = [];
    const bareBoth = [];
    for (let i = 0; i < RUNS; i++) {
      const a = await bare.page.evaluate((u) => window.bare.payload("copy", { url: u }), url);
      if (a.bytesIn !== SIZE) throw new Error(`the bare page fetched ${a.bytesIn} bytes, expected ${SIZE}`);
      bareIn.push(a.ms);
      const b = await bare.page.evaluate(([u, s]) => window.bare.payload("copy", { url: u, sinkUrl: s }), [url, sink.url]);
      if (b.bytesBack !== SIZE) throw new Error(`the sink received ${b.bytesBack} bytes, expected ${SIZE}`);
      bareBoth.push(b.ms);
    }
    bare.watch.check();
    await bare.page.close();

    const client = await connectDriver(cluster.server.driverUri);
    cleanup.add("the driver", () => client.close());
    const bench = await openUnwatchedBenchPage(cluster, { threads: 1 });
    cleanup.add("the unwatched bench page", () => bench.close());
    await timedTask(
      client,
      { ...copy, arguments: ["/input/in.bin"], preload_files: { "/input/in.bin": new Uint8Array(1024) } },
      "warm-up copy task",
    );
    const mark = cluster.lastTaskId();
    const outPath = join(tmp, "out.bin");
    const pipeIn = [];
    const pipeBoth = [];
    for (let i = 0; i < RUNS; i++) {
      progress(`pipeline: 20 MiB in, then in and back (${i + 1} of ${RUNS})`);
      pipeIn.push(
        await timedTask(
          client,
          { ...copy, arguments: ["/input/in.bin"], preload_files: { "/input/in.bin": big } },
          "20 MiB copy task",
          90_000,
        ),
      );
      pipeBoth.push(
        await timedTask(
          client,
          {
            ...copy,
            arguments: ["/input/in.bin", "/output/out.bin"],
            preload_files: { "/input/in.bin": big },
            result_files: { "/output/out.bin": outPath },
          },
          "20 MiB round-trip task",
          90_000,
        ),
      );
      if (!big.equals(await readFile(outPath))) throw new Error("the 20 MiB file came back different");
    }
    // queued → done at the cluster: from the driver's frame having arrived to the worker's result having arrived.
    const atCluster = queuedToDone(cluster.timeline, mark);
    progress(`the published Python client: 20 MiB in, then in and back, ${RUNS} runs each`);
    const python = await pythonPayload(cluster, join(tmp, "in.bin"), join(tmp, "py-out.bin"));
    if (!big.equals(await readFile(join(tmp, "py-out.bin")))) throw new Error("the 20 MiB file came back different to Python");

    const rate = (bytes, ms) => bytes / MB / (ms / 1000);
    const inMBps = rate(SIZE, median(pipeIn));
    const bothMBps = rate(2 * SIZE, median(pipeBoth));
    const bareInMBps = rate(SIZE, median(bareIn));
    const bareBothMBps = rate(2 * SIZE, median(bareBoth));
    const pyInMBps = rate(SIZE, median(python.inMs));
    const pyBothMBps = rate(2 * SIZE, median(python.bothMs));
    return {
      figures: {
        payloadMBps: round(inMBps, 2),
        payloadRoundTripMBps: round(bothMBps, 2),
        pythonPayloadMBps: round(pyInMBps, 2),
      },
      rows: [
        {
          figure: "payloadMBps",
          value: `${fmt(inMBps, 1)} MB/s`,
          reference: `bare ${fmt(bareInMBps, 1)} MB/s`,
          ratio: `${fmt(inMBps / bareInMBps, 2)}× bare`,
          target: "≥ 100 MB/s",
          notes: [
            `20 MiB preload file, driver → result ${fmt(median(pipeIn), 0)} ms (at the cluster, queued → done ${fmt(median(atCluster.filter((_, i) => i % 2 === 0)), 0)} ms); bare: HTTP fetch + copy ${fmt(median(bareIn), 0)} ms; median of ${RUNS}`,
          ],
        },
        {
          figure: "payloadRoundTripMBps",
          value: `${fmt(bothMBps, 1)} MB/s`,
          reference: `bare ${fmt(bareBothMBps, 1)} MB/s`,
          ratio: `${fmt(bothMBps / bareBothMBps, 2)}× bare`,
          target: "≥ 50 MB/s",
          notes: [
            `20 MiB in and back as a result file (40 MiB moved), ${fmt(median(pipeBoth), 0)} ms (at the cluster ${fmt(median(atCluster.filter((_, i) => i % 2 === 1)), 0)} ms); bare: fetch + copy + POST ${fmt(median(bareBoth), 0)} ms`,
          ],
        },
        {
          figure: "pythonPayloadMBps",
          value: `${fmt(pyInMBps, 1)} MB/s`,
          reference: `TS driver ${fmt(inMBps, 1)} MB/s`,
          ratio: `${fmt(pyInMBps / inMBps, 2)}× TS`,
          target: "— (its ceiling)",
          notes: [
            `the published Python client (JSON, base64): 20 MiB in ${fmt(median(python.inMs), 0)} ms; in and back ${fmt(median(python.bothMs), 0)} ms (${fmt(pyBothMBps, 1)} MB/s); median of ${RUNS}`,
          ],
        },
      ],
      details: {
        bytes: SIZE,
        pythonInMs: python.inMs.map((x) => round(x, 1)),
        pythonBothMs: python.bothMs.map((x) => round(x, 1)),
        pipelineInMs: pipeIn.map((x) => round(x, 1)),
        pipelineBothMs: pipeBoth.map((x) => round(x, 1)),
        bareInMs: bareIn.map((x) => round(x, 1)),
        bareBothMs: bareBoth.map((x) => round(x, 1)),
        clusterQueuedToDoneMs: atCluster.map((x) => round(x, 1)),
      },
    };
  } finally {
    await cleanup.run();
  }
}

/** The Python client's runs (support/python_payload.py), from the project's .venv (scripts/python-client.sh). */
function pythonPayload(cluster, inPath, outPath) {
  const python = join(ROOT, ".venv", "bin", "python");
  if (!existsSync(python)) throw new Error(`${python} is missing: run scripts/python-client.sh`);
  const args = [
    join(ROOT, "bench", "support", "python_payload.py"),
    join(BENCH_BUILD, "copy.js"),
    join(BENCH_BUILD, "copy.wasm"),
  ];
  const env = { ...process.env, WEBSOCKET_URI: cluster.server.driverUri, APPLICATION_TOKEN: "bench" };
  return new Promise((ok, fail) =>
    execFile(python, [...args, inPath, outPath, String(RUNS)], { env, timeout: 120_000 }, (err, out, errText) =>
      err
        ? fail(new Error(`the Python client failed: ${err.message}\n${errText}`))
        : ok(JSON.parse(out.trim().split("\n").at(-1))),
    ),
  );
}
