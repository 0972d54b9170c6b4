/** The `motivus-loopback` command: a local cluster, optionally with headless browser workers. */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { startHeadlessWorkers, type HeadlessWorkers } from "./browsers.js";
import { startLoopback } from "./server.js";

const HELP = `motivus-loopback: a local Motivus Waterbear cluster for developing algorithms and drivers

Usage: motivus-loopback [options]

Options:
  --port N           port for both sockets and HTTP (default 7070; 0 picks a free one)
  --host ADDR        address to listen on (default 127.0.0.1)
  --token TOKEN      accept only this token (and guest tokens this server issues);
                     default: any token is accepted
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

Point a driver at it:
  export WEBSOCKET_URI=ws://localhost:<port>/client_socket/websocket
  export ALGORITHM_REPO_HOST=localhost:<port>    # with --algorithms
  python driver.py

HTTP: /                      demo page (browser worker)
      /api/loopback/stats    connected drivers and workers, slots, task counts
`;

function count(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} takes a whole number, not "${value}"`);
  return n;
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: "string" },
      host: { type: "string" },
      token: { type: "string" },
      algorithms: { type: "string" },
      headless: { type: "string" },
      threads: { type: "string" },
      deadline: { type: "string" },
      quiet: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return void process.stdout.write(HELP);
  // Every flag is checked before anything starts.
  const headless = count(values.headless, "headless", 0);
  const threads = count(values.threads, "threads", 1);
  const deadline = count(values.deadline, "deadline", 300);
  if (deadline === 0) throw new Error("--deadline takes a number of seconds above 0");
  const stamp = () => new Date().toISOString().slice(11, 23);
  const log = (line: string) => console.log(`${stamp()} ${line}`);
  const server = await startLoopback({
    port: count(values.port, "port", 7070),
    host: values.host ?? "127.0.0.1",
    token: values.token ?? null,
    algorithms: values.algorithms ? resolve(values.algorithms) : null,
    log: values.quiet ? () => {} : log,
  });
  const wsOrigin = server.origin.replace("127.0.0.1", "localhost").replace(/^http/, "ws");
  console.log(`motivus loopback cluster on ${server.origin}`);
  console.log(`export WEBSOCKET_URI=${wsOrigin}/client_socket/websocket`);
  // The published client builds `http://${ALGORITHM_REPO_HOST}/api/...` itself: host and port only.
  if (values.algorithms) console.log(`export ALGORITHM_REPO_HOST=${new URL(server.origin).host.replace("127.0.0.1", "localhost")}`);

  let browsers: HeadlessWorkers | null = null;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    await browsers?.close().catch(() => {});
    await server.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));

  if (headless > 0) {
    const page = `${server.origin}/?autostart=1&threads=${threads}&deadline=${deadline * 1000}${values.token ? `&token=${encodeURIComponent(values.token)}` : ""}`;
    browsers = await startHeadlessWorkers(headless, page, log);
  }
}
