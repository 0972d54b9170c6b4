/** The `motivus-loopback` command: a local cluster, optionally with headless browser workers. */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { MiB } from "motivus-protocol";
import { DEFAULT_LIMITS, type Limits } from "./limits.js";
import { startLoopback, type LoopbackServer } from "./server.js";

const d = DEFAULT_LIMITS;

const HELP = `motivus-loopback: a local Motivus Waterbear cluster for developing algorithms and drivers

Usage: motivus-loopback [options]

Options:
  --port N           port for both sockets and HTTP (default 7070; 0 picks a free one)
  --host ADDR        address to listen on (default 127.0.0.1)
  --token TOKEN      the cluster's token: only it may drive tasks and run trusted_work;
                     guest tokens (POST /auth/guest) may then only work, untrusted:
                     they get work tasks, never trusted_work, and cannot drive.
                     Default: any token is accepted and every worker is trusted.
                     The token is never printed nor put in a URL.
  --allow-origin ORIGIN
                     also let web pages of ORIGIN (e.g. http://localhost:5173) join
                     as workers or drivers and read the HTTP API; repeatable. Pages of
                     this cluster's own origins (localhost, 127.0.0.1, [::1] and the
                     --host address, on --port) always may; programs (no Origin header)
                     always may; any other page is refused with 403
  --algorithms DIR   local algorithm registry: DIR/<name>/<version>/ holding one
                     .wasm, one .js loader and optionally one .data.zip; drivers
                     find them with ALGORITHM_REPO_HOST=localhost:<port>
                     (host:port only: the Python client adds http:// itself)
  --headless N       start N headless Chromium pages running the browser worker
                     against this cluster (Chromium from CHROMIUM_PATH, default
                     /usr/bin/chromium)
  --threads N        threads per headless page (default 1)
  --deadline SECONDS per-task deadline of the headless pages (default 300): a task
                     running longer is stopped and answered with an error
  --quiet            log only errors and the start line
  -h, --help         show this help

Limits (each also an option of startLoopback):
  --lease SECONDS    how long a worker may run one task before it is aborted there
                     and re-queued (default ${d.leaseMs / 1000}, leaseMs)
  --max-attempts N   workers a task is handed to before the cluster gives up and
                     answers its driver with an error (default ${d.maxAttempts}, maxAttempts)
  --max-slots N      slots one worker channel may offer at once (default ${d.maxSlotsPerWorker},
                     maxSlotsPerWorker); tasks go to the worker running the fewest
  --max-queued-tasks N
                     tasks the cluster holds at once, waiting or running (default
                     ${d.maxQueuedTasks}, maxQueuedTasks); a task past it is refused and its
                     driver answered with an error
  --max-queued-mib N MiB of tasks the cluster holds at once (default ${d.maxQueuedBytes / MiB},
                     maxQueuedBytes)
  --max-frame-mib N  largest frame a socket accepts, in MiB (default ${d.maxFrameBytes / MiB},
                     maxFrameBytes)
  --max-stored-bundles-mib N
                     MiB of bundle files (wasm, loader) the bundle store keeps for workers
                     that take them by reference, least recently used out first
                     (default ${d.maxStoredBundleBytes / MiB}, maxStoredBundleBytes)
  --max-task-depth N deepest nesting of arrays and objects in a task's body (default
                     ${d.maxTaskDepth}, maxTaskDepth); deeper tasks are refused
  (idleTimeoutMs, default ${d.idleTimeoutMs / 1000} s: a socket silent that long is closed)

Point a driver at it:
  export WEBSOCKET_URI=ws://localhost:<port>/client_socket/websocket
  export ALGORITHM_REPO_HOST=localhost:<port>    # with --algorithms
  python driver.py

HTTP: /                      demo page (browser worker)
      /api/loopback/stats    connected drivers and workers, slots, task counts, stored bundles
      /api/loopback/bundles/<sha256>
                             a bundle file, for workers that take bundles by reference
`;

function count(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} takes a whole number, not "${value}"`);
  return n;
}

/** The limit flags: flag → option, and the factor from the flag's unit to the option's. */
const LIMIT_FLAGS: [flag: string, option: keyof Limits, factor: number][] = [
  ["lease", "leaseMs", 1000],
  ["max-attempts", "maxAttempts", 1],
  ["max-slots", "maxSlotsPerWorker", 1],
  ["max-queued-tasks", "maxQueuedTasks", 1],
  ["max-queued-mib", "maxQueuedBytes", MiB],
  ["max-frame-mib", "maxFrameBytes", MiB],
  ["max-stored-bundles-mib", "maxStoredBundleBytes", MiB],
  ["max-task-depth", "maxTaskDepth", 1],
];

export interface Running {
  server: LoopbackServer;
  stop(): Promise<void>;
}

/**
 * Start what the flags say; `print` gets the start lines, `log` the event lines. Null when the
 * flags asked for help only.
 */
export async function start(argv: string[], print: (line: string) => void, log: (line: string) => void): Promise<Running | null> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: "string" },
      host: { type: "string" },
      token: { type: "string" },
      "allow-origin": { type: "string", multiple: true },
      algorithms: { type: "string" },
      headless: { type: "string" },
      threads: { type: "string" },
      deadline: { type: "string" },
      quiet: { type: "boolean" },
      help: { type: "boolean", short: "h" },
      ...Object.fromEntries(LIMIT_FLAGS.map(([flag]) => [flag, { type: "string" as const }])),
    },
  });
  if (values.help) {
    print(HELP);
    return null;
  }
  // Every flag is checked before anything starts.
  const headless = count(values.headless, "headless", 0);
  const threads = count(values.threads, "threads", 1);
  const deadline = count(values.deadline, "deadline", 300);
  if (deadline === 0) throw new Error("--deadline takes a number of seconds above 0");
  const limits: Partial<Limits> = {};
  for (const [flag, option, factor] of LIMIT_FLAGS) {
    const given = (values as Record<string, string | undefined>)[flag];
    if (given === undefined) continue;
    const n = count(given, flag, 0);
    if (n === 0) throw new Error(`--${flag} takes a whole number above 0`);
    limits[option] = n * factor;
  }
  const token = values.token ?? null;
  const server = await startLoopback({
    ...limits,
    port: count(values.port, "port", 7070),
    host: values.host ?? "127.0.0.1",
    token,
    allowOrigins: values["allow-origin"] ?? [],
    algorithms: values.algorithms ? resolve(values.algorithms) : null,
    headless,
    threads,
    deadlineMs: deadline * 1000,
    log: values.quiet ? () => {} : log,
  });
  const wsOrigin = server.origin.replace("127.0.0.1", "localhost").replace(/^http/, "ws");
  print(`motivus loopback cluster on ${server.origin}${token !== null ? " (token required; not shown)" : ""}`);
  print(`export WEBSOCKET_URI=${wsOrigin}/client_socket/websocket`);
  // The published client builds `http://${ALGORITHM_REPO_HOST}/api/...` itself: host and port only.
  if (values.algorithms) print(`export ALGORITHM_REPO_HOST=${new URL(server.origin).host.replace("127.0.0.1", "localhost")}`);
  return { server, stop: () => server.close() };
}

/** The command's output: start lines as they are, event lines stamped with the time. */
const print = (line: string) => process.stdout.write(line.endsWith("\n") ? line : `${line}\n`);
const stamped = (line: string) => print(`${new Date().toISOString().slice(11, 23)} ${line}`);

export async function main(argv: string[]): Promise<void> {
  const log = stamped;
  let running: Running | null = null;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    await running?.stop();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
  running = await start(argv, print, log);
}
