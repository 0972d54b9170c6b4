/**
 * clusterTasksPerSecond, clusterP50Ms, clusterP99Ms: the loopback cluster
 * alone (no browser), raw simulated workers answering at once, the TS driver.
 * Reference: a bare `ws` relay doing the same four socket hops with the same
 * frames and no cluster work (support/relay.js).
 */
import { startLoopback } from "motivus-loopback";
import { burst, connectDriver, sequentialTasks } from "../support/driver.js";
import { relayDriver, startRelay } from "../support/relay.js";
import { startSimulatedWorkers } from "../support/simulated-workers.js";
import { fmt, percentile, round } from "../support/stats.js";
import { Cleanup } from "../support/cleanup.js";
import { waitFor, withTimeout } from "../support/wait.js";

export const title = "cluster: the loopback alone, simulated workers, the TS driver";
export const budgetMs = 90_000;

const WORKERS = 4;
const SLOTS = 2; // per simulated worker
const WARMUP = 200;
const BURST = 5000; // all submitted at once: throughput
const SEQUENTIAL = 1000; // one in flight: latency
// The cluster does not look inside: an 8-byte wasm header and a one-line loader.
const TINY = { wasm: "AGFzbQEAAAA=", loader: Buffer.from("// tiny\n").toString("base64"), arguments: ["a", "b"] };
// The body the driver builds from TINY (support/relay.js sends it as is).
const TINY_BODY = {
  run_type: "wasm",
  params: null,
  arguments: ["a", "b"],
  preload_files: null,
  result_files: null,
  wasm: TINY.wasm,
  loader: TINY.loader,
  data_link: null,
};

export async function run({ progress }) {
  const cluster = await measureCluster(progress);
  const relay = await measureRelay(progress);
  const figures = {
    clusterTasksPerSecond: round(cluster.perSecond, 0),
    clusterP50Ms: round(cluster.p50, 3),
    clusterP99Ms: round(cluster.p99, 3),
  };
  const rows = [
    {
      figure: "clusterTasksPerSecond",
      value: `${fmt(cluster.perSecond, 0)} tasks/s`,
      reference: `relay ${fmt(relay.perSecond, 0)} tasks/s`,
      ratio: `${fmt(cluster.perSecond / relay.perSecond, 2)}× of relay`,
      target: "≥ 10,000 tasks/s",
      notes: [
        `${BURST} tiny tasks submitted at once, ${WORKERS} workers × ${SLOTS} slots; latency under that load p50 ${fmt(cluster.burstP50, 1)} / p99 ${fmt(cluster.burstP99, 1)} ms (queueing)`,
      ],
    },
    {
      figure: "clusterP50Ms",
      value: `${fmt(cluster.p50, 3)} ms`,
      reference: `relay ${fmt(relay.p50, 3)} ms`,
      ratio: `${fmt(cluster.p50 / relay.p50, 2)}× relay`,
      target: "—",
      notes: [`driver → result, one task in flight, ${SEQUENTIAL} tasks`],
    },
    {
      figure: "clusterP99Ms",
      value: `${fmt(cluster.p99, 3)} ms`,
      reference: `relay ${fmt(relay.p99, 3)} ms`,
      ratio: `${fmt(cluster.p99 / relay.p99, 2)}× relay`,
      target: "—",
    },
  ];
  return { figures, rows, details: { cluster, relay } };
}

async function measureCluster(progress) {
  progress(`loopback + ${WORKERS} simulated workers × ${SLOTS} slots`);
  const cleanup = new Cleanup();
  try {
    const server = await startLoopback({ port: 0, algorithms: null });
    cleanup.add("the loopback cluster", () => server.close());
    const workers = await startSimulatedWorkers({ mode: "phoenix", url: server.origin, workers: WORKERS, slots: SLOTS });
    cleanup.add("the simulated workers", () => workers.stop());
    await waitFor(() => server.stats().offered_slots === WORKERS * SLOTS, 15_000, "the simulated workers' slots");
    const client = await connectDriver(server.driverUri);
    cleanup.add("the driver", () => client.close());
    await burst(client, WARMUP, TINY, "warm-up task");
    const loaded = await burst(client, BURST, TINY, "tiny task");
    const seq = await sequentialTasks(client, SEQUENTIAL, TINY, "sequential tiny task", 10_000);
    const stats = server.stats();
    const expected = WARMUP + BURST + SEQUENTIAL;
    if (stats.done !== expected || stats.aborted || stats.requeued)
      throw new Error(`the cluster counts ${JSON.stringify(stats)}, expected done=${expected} and nothing aborted or requeued`);
    const answered = await workers.stop();
    if (answered !== expected) throw new Error(`the simulated workers answered ${answered} tasks, expected ${expected}`);
    return {
      perSecond: BURST / (loaded.wallMs / 1000),
      burstP50: percentile(loaded.latencies, 0.5),
      burstP99: percentile(loaded.latencies, 0.99),
      p50: percentile(seq, 0.5),
      p99: percentile(seq, 0.99),
    };
  } finally {
    await cleanup.run();
  }
}

async function measureRelay(progress) {
  progress(`reference: bare ws relay + ${WORKERS} echo workers`);
  const cleanup = new Cleanup();
  try {
    const relay = await startRelay();
    cleanup.add("the relay", () => relay.close());
    const workers = await startSimulatedWorkers({ mode: "echo", url: relay.workerUrl, workers: WORKERS });
    cleanup.add("the echo workers", () => workers.stop());
    await waitFor(() => relay.workers() === WORKERS, 15_000, "the echo workers");
    const driver = await relayDriver(relay.driverUrl);
    cleanup.add("the relay driver", () => driver.close());
    const burstOf = async (n) => {
      const t0 = performance.now();
      const latencies = await Promise.all(
        Array.from({ length: n }, () => {
          const t = performance.now();
          return driver.call(TINY_BODY).then(() => performance.now() - t);
        }),
      );
      return { wallMs: performance.now() - t0, latencies };
    };
    await withTimeout(burstOf(WARMUP), 30_000, "the relay warm-up");
    const loaded = await withTimeout(burstOf(BURST), 60_000, "the relay burst");
    const seq = [];
    for (let i = 0; i < SEQUENTIAL; i++) {
      const t = performance.now();
      await withTimeout(driver.call(TINY_BODY), 10_000, "a relayed frame");
      seq.push(performance.now() - t);
    }
    return { perSecond: BURST / (loaded.wallMs / 1000), p50: percentile(seq, 0.5), p99: percentile(seq, 0.99) };
  } finally {
    await cleanup.run();
  }
}
