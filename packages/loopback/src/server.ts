/**
 * The loopback cluster: a local stand-in for Waterbear on one port. The two
 * Phoenix socket endpoints, the small HTTP API a worker and a driver need
 * (routes.ts), the local algorithm registry, and static files (files.ts).
 *
 * Nothing a client sends may stop it: a request-target that is no URL gets a
 * 400, a socket that resets while being refused is only logged, a page of a
 * foreign origin gets a 403, and every limit (limits.ts) is an option here.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { WebSocketServer } from "ws";
import { type ClusterCounts, SocketPath, type TaskBody, vsnOf } from "motivus-protocol";
import { Accounts } from "./accounts.js";
import { startHeadlessWorkers, type HeadlessWorkers } from "./browsers.js";
import type { BundleStoreCounts } from "./bundle-store.js";
import { SocketSession, type Endpoint } from "./socket-session.js";
import { StaticFiles } from "./files.js";
import { resolveLimits, type Limits } from "./limits.js";
import { bodyFor, originOfHost } from "./links.js";
import { logLineOf } from "./log-lines.js";
import { OriginPolicy } from "./origins.js";
import { ALGORITHMS_PATH } from "./registry.js";
import { json, requestUrl, route } from "./routes.js";
import { Scheduler, type SchedulerCounts, type Task } from "./scheduler.js";

export interface LoopbackOptions extends Partial<Limits> {
  /** 0 picks a free port. Default 7070. */
  port?: number;
  host?: string;
  /**
   * When set, the only token that may drive and run trusted work; guest tokens this server
   * issues may then only work, untrusted (accounts.ts). Default: any token, all trusted.
   */
  token?: string | null;
  /** Folder of the local algorithm registry (`<name>/<version>/`). */
  algorithms?: string | null;
  /** Extra static folders by URL prefix (`/fixtures/` → dir). */
  mounts?: Record<string, string>;
  /** Origins of pages that may use the cluster besides its own (origins.ts), e.g. `http://localhost:5173`. */
  allowOrigins?: readonly string[];
  /** Headless Chromium pages working for the cluster, started with it and closed with it (`--headless`). Default 0. */
  headless?: number;
  /** Threads of each headless page (`--threads`). Default 1. */
  threads?: number;
  /** Per-task deadline of the headless pages (`--deadline`, in seconds there). Default 300 000. */
  deadlineMs?: number;
  log?: (line: string) => void;
}

/** What `GET /api/loopback/stats` answers, and a worker's `stats` event carries. */
export type LoopbackStats = ClusterCounts & SchedulerCounts & BundleStoreCounts;

const ENDPOINTS: Record<string, Endpoint> = {
  [SocketPath.worker]: "worker",
  [SocketPath.client]: "client",
};

const packageRoot = fileURLToPath(new URL("..", import.meta.url));
/** The browser package's built files (motivus-worker.js, motivus-embed.js, runtime.js), served at /dist/browser/. */
const browserFiles = join(dirname(createRequire(import.meta.url).resolve("motivus-worker/package.json")), "dist");

export class LoopbackServer {
  readonly scheduler: Scheduler;
  readonly limits: Limits;
  private readonly http: Server;
  private readonly sockets: WebSocketServer;
  private readonly sessions = new Set<SocketSession>();
  private readonly accounts: Accounts;
  private readonly files: StaticFiles;
  /** Set once listening: the policy needs the port. */
  private origins!: OriginPolicy;
  private readonly log: (line: string) => void;
  private browsers: HeadlessWorkers | null = null;

  constructor(private readonly options: LoopbackOptions = {}) {
    this.log = options.log ?? (() => {});
    this.limits = resolveLimits(options);
    this.scheduler = new Scheduler(this.limits);
    this.accounts = new Accounts(options.token ?? null);
    this.sockets = new WebSocketServer({ noServer: true, maxPayload: this.limits.maxFrameBytes });
    this.files = new StaticFiles({
      "/dist/browser/": browserFiles,
      ...(options.algorithms ? { [ALGORITHMS_PATH]: options.algorithms } : {}),
      ...options.mounts,
      "/": `${packageRoot}/demo`,
    });
    OriginPolicy.check(options.allowOrigins ?? []); // a bad origin fails here, not at the first request
    checkHeadless(options);
    this.scheduler.on("event", (event) => this.log(logLineOf(event)));
    this.http = createServer((req, res) => {
      const context = {
        accounts: this.accounts,
        origins: this.origins,
        files: this.files,
        bundles: this.scheduler.bundles,
        // A file the store could not keep is no use uploaded; one past a frame could not come inline either.
        maxUploadBytes: Math.min(this.limits.maxStoredBundleBytes, this.limits.maxFrameBytes),
        algorithms: options.algorithms ?? null,
        origin: () => this.origin,
        stats: () => this.stats(),
        log: this.log,
      };
      route(req, res, context).catch((err: Error) => {
        this.log(`HTTP ${req.method} ${req.url?.split("?")[0]} failed: ${err.message}`);
        if (!res.headersSent) json(res, 500, { error: err.message });
        else res.destroy();
      });
    });
    this.http.on("upgrade", (req, socket, head) => this.upgrade(req, socket, head));
  }

  /** Start listening; resolves with the bound port. */
  async listen(): Promise<number> {
    const { port = 7070, host = "127.0.0.1" } = this.options;
    await new Promise<void>((ok, fail) => {
      this.http.once("error", fail);
      this.http.listen(port, host, () => ok());
    });
    this.origins = new OriginPolicy(host, this.port, this.options.allowOrigins ?? []);
    return this.port;
  }

  /** Opens the headless pages the options ask for; each works for this cluster until it closes. */
  async startHeadless(): Promise<void> {
    const { headless = 0, threads = 1, deadlineMs = 300_000 } = this.options;
    if (headless === 0) return;
    // The token goes to the pages without their URL (browsers.ts): the URL is logged.
    const pageUrl = `${this.origin}/worker.html?autostart=1&threads=${threads}&deadline=${deadlineMs}`;
    this.browsers = await startHeadlessWorkers({ count: headless, pageUrl, token: this.options.token ?? null, log: this.log });
  }

  get port(): number {
    return (this.http.address() as AddressInfo).port;
  }

  /** Origin of this server as a browser on this machine reaches it. */
  get origin(): string {
    const host = this.options.host ?? "127.0.0.1";
    const name = host === "0.0.0.0" || host === "::" ? "localhost" : host.includes(":") ? `[${host}]` : host;
    return `http://${name}:${this.port}`;
  }

  /** What a driver sets as `WEBSOCKET_URI`. */
  get driverUri(): string {
    return `${this.origin.replace(/^http/, "ws")}${SocketPath.client}`;
  }

  stats(): LoopbackStats {
    const count = (endpoint: Endpoint) =>
      [...this.sessions].filter((c) => c.endpoint === endpoint).reduce((n, c) => n + c.joinedChannels(), 0);
    return {
      drivers: count("client"),
      workers: count("worker"),
      ...this.scheduler.counts(),
      ...this.scheduler.bundles.counts(),
    };
  }

  async close(): Promise<void> {
    await this.browsers?.close().catch(() => {});
    this.scheduler.stop();
    for (const session of this.sessions) session.close();
    this.sockets.close();
    this.http.closeAllConnections();
    await new Promise<void>((ok) => this.http.close(() => ok()));
  }

  /**
   * A task's body as the worker that reached the cluster at `reached` gets it: its links to the
   * cluster on that origin (links.ts), and its bundle files as references (paths it resolves on
   * that origin) when the worker asked for them, else inline (also those the driver sent by reference).
   */
  private bodyFor(task: Task, reached: string | null, byReference: boolean): TaskBody {
    const body = bodyFor(task.push.body, reached, this.origins.ownOrigin);
    if (!task.files) return body;
    const { bundles } = this.scheduler;
    return byReference ? bundles.byReference(body, task.files) : bundles.inline(body, task.files);
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Node's HTTP server stops watching an upgraded socket's errors: a client that resets it
    // (say, one giving up on a refused token) would otherwise end the process.
    const onError = (err: Error) => this.log(`socket error during a websocket upgrade: ${err.message}`);
    socket.on("error", onError);
    const refuse = (status: string, why?: string) => {
      if (why) this.log(why);
      if (!socket.writable) return void socket.destroy();
      socket.once("finish", () => socket.destroy());
      socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    };
    const url = requestUrl(req);
    if (!url) return refuse("400 Bad Request");
    const endpoint = ENDPOINTS[url.pathname];
    if (!endpoint) return refuse("404 Not Found");
    const vsn = vsnOf(url.searchParams);
    if (!vsn) return refuse("400 Bad Request");
    const origin = req.headers.origin;
    if (!this.origins.allows(origin)) return refuse("403 Forbidden", this.origins.refusal(`a ${endpoint} socket`, origin!));
    const grant = this.accounts.grantFor(url.searchParams.get("token"));
    if (!grant) return refuse("403 Forbidden", `refused a ${endpoint} socket: unknown token`);
    if (endpoint === "client" && !grant.drives) {
      return refuse(
        "403 Forbidden",
        "refused a client socket: a guest token may only work on a cluster with a token; drivers use the configured token",
      );
    }
    // The origin this socket reached the cluster by: a worker's links to the cluster are handed to it there (links.ts).
    const reached = originOfHost(req.headers.host, this.origins.ownOrigin);
    this.sockets.handleUpgrade(req, socket, head, (ws) => {
      socket.off("error", onError);
      const session = new SocketSession(ws, socket, {
        endpoint,
        vsn,
        grant,
        scheduler: this.scheduler,
        counts: () => this.stats(),
        idleTimeoutMs: this.limits.idleTimeoutMs,
        maxSlotsPerWorker: this.limits.maxSlotsPerWorker,
        ...(endpoint === "worker"
          ? { bodyFor: (task: Task, byReference: boolean) => this.bodyFor(task, reached, byReference) }
          : {}),
        log: this.log,
      });
      this.sessions.add(session);
      ws.on("close", () => this.sessions.delete(session));
    });
  }
}

function checkHeadless({ headless = 0, threads = 1, deadlineMs = 1 }: LoopbackOptions): void {
  const whole = (n: number, min: number) => Number.isInteger(n) && n >= min;
  if (!whole(headless, 0)) throw new RangeError(`headless takes a whole number of pages, not ${headless}`);
  if (!whole(threads, 1)) throw new RangeError(`threads takes a whole number above 0, not ${threads}`);
  if (!whole(deadlineMs, 1)) throw new RangeError(`deadlineMs takes a whole number above 0, not ${deadlineMs}`);
}

/** A listening cluster, with its headless pages opened (they offer their slots shortly after). */
export async function startLoopback(options: LoopbackOptions = {}): Promise<LoopbackServer> {
  const server = new LoopbackServer(options);
  await server.listen();
  try {
    await server.startHeadless();
  } catch (err) {
    await server.close();
    throw err;
  }
  return server;
}
