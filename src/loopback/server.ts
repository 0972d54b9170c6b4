/**
 * The loopback cluster: a local stand-in for Waterbear on one port. The two
 * Phoenix socket endpoints, the small HTTP API a worker and a driver need, the
 * local algorithm registry, and static files (demo page, built bundles).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { fileURLToPath } from "node:url";
import { WebSocketServer } from "ws";
import { HttpPath, SocketPath, type ClusterCounts } from "../protocol/cluster.js";
import { vsnOf } from "../protocol/frame.js";
import { Accounts } from "./accounts.js";
import { Connection, type Endpoint } from "./connection.js";
import { sendFile, within } from "./files.js";
import { ALGORITHMS_PATH, lookup } from "./registry.js";
import { Scheduler, type SchedulerEvent } from "./scheduler.js";

export interface LoopbackOptions {
  /** 0 picks a free port. Default 7070. */
  port?: number;
  host?: string;
  /** When set, the only token accepted (besides guest tokens this server issued). */
  token?: string | null;
  /** Folder of the local algorithm registry (`<name>/<version>/`). */
  algorithms?: string | null;
  /** Extra static folders by URL prefix (`/fixtures/` → dir). */
  mounts?: Record<string, string>;
  /** Largest frame accepted; tasks carry wasm inline. Default 128 MiB. */
  maxFrameBytes?: number;
  /** Close sockets silent this long. Default 30 s, as production. */
  idleTimeoutMs?: number;
  log?: (line: string) => void;
}

/** What `GET /api/loopback/stats` answers, and a worker's `stats` event carries. */
export type LoopbackStats = ClusterCounts;

const ENDPOINTS: Record<string, Endpoint> = {
  [SocketPath.worker]: "worker",
  [SocketPath.client]: "client",
};

const packageRoot = fileURLToPath(new URL("../..", import.meta.url));

export class LoopbackServer {
  readonly scheduler = new Scheduler();
  private readonly http: Server;
  private readonly sockets: WebSocketServer;
  private readonly connections = new Set<Connection>();
  private readonly accounts: Accounts;
  private readonly mounts: [string, string][];
  private readonly log: (line: string) => void;

  constructor(private readonly options: LoopbackOptions = {}) {
    this.log = options.log ?? (() => {});
    this.accounts = new Accounts(options.token ?? null);
    this.sockets = new WebSocketServer({ noServer: true, maxPayload: options.maxFrameBytes ?? 128 * 1024 * 1024 });
    const mounts: Record<string, string> = {
      "/dist/": `${packageRoot}/dist`,
      ...(options.algorithms ? { [ALGORITHMS_PATH]: options.algorithms } : {}),
      ...options.mounts,
      "/": `${packageRoot}/demo`,
    };
    this.mounts = Object.entries(mounts).sort((a, b) => b[0].length - a[0].length);
    this.scheduler.on("event", (event) => this.log(describe(event)));
    this.http = createServer((req, res) => {
      this.route(req, res).catch((err: Error) => {
        this.log(`HTTP ${req.method} ${req.url} failed: ${err.message}`);
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
    return this.port;
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
      [...this.connections].filter((c) => c.endpoint === endpoint).reduce((n, c) => n + c.joinedChannels(), 0);
    return { drivers: count("client"), workers: count("worker"), ...this.scheduler.counts() };
  }

  async close(): Promise<void> {
    for (const connection of this.connections) connection.close();
    this.sockets.close();
    this.http.closeAllConnections();
    await new Promise<void>((ok) => this.http.close(() => ok()));
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? "/", "http://loopback");
    const endpoint = ENDPOINTS[url.pathname];
    const vsn = vsnOf(url.searchParams);
    const user = this.accounts.userFor(url.searchParams.get("token"));
    const refuse = (status: string) => {
      socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    };
    if (!endpoint) return refuse("404 Not Found");
    if (!vsn) return refuse("400 Bad Request");
    if (!user) {
      this.log(`refused a ${endpoint} socket: unknown token`);
      return refuse("403 Forbidden");
    }
    this.sockets.handleUpgrade(req, socket, head, (ws) => {
      const connection = new Connection(ws, {
        endpoint,
        vsn,
        user,
        scheduler: this.scheduler,
        counts: () => this.stats(),
        idleTimeoutMs: this.options.idleTimeoutMs ?? 30_000,
        log: this.log,
      });
      this.connections.add(connection);
      ws.on("close", () => this.connections.delete(connection));
    });
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://loopback");
    res.setHeader("access-control-allow-origin", "*");
    if (req.method === "OPTIONS") {
      res.writeHead(204, {
        "access-control-allow-methods": "GET, POST, OPTIONS",
        "access-control-allow-headers": "authorization, content-type",
        "access-control-max-age": "600",
      });
      return void res.end();
    }
    const path = url.pathname;
    if (req.method === "POST" && path === HttpPath.guestToken) return json(res, 200, { token: this.accounts.issueGuest() });
    if (req.method === "GET" && path === HttpPath.user) {
      const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? "")?.[1];
      const user = this.accounts.userFor(bearer ?? null);
      return user ? json(res, 200, { data: user }) : json(res, 401, { error: "unknown token" });
    }
    if (req.method === "GET" && (path === HttpPath.registry || `${path}/` === HttpPath.registry)) {
      const origin = `http://${req.headers.host ?? new URL(this.origin).host}`;
      return json(res, 200, await lookup(this.options.algorithms ?? null, url.searchParams.get("name") ?? "", origin));
    }
    if (req.method === "GET" && path === "/api/loopback/stats") return json(res, 200, this.stats());
    if (req.method === "GET" || req.method === "HEAD") {
      for (const [prefix, dir] of this.mounts) {
        if (!path.startsWith(prefix)) continue;
        const file = within(dir, path.slice(prefix.length));
        if (file && (await sendFile(res, file, req.method === "HEAD"))) return;
        break;
      }
    }
    json(res, 404, { error: `nothing at ${req.method} ${path}` });
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

const short = (topic: string) => topic.slice(-8);
const oneLine = (text: string) => (text.length > 300 ? `${text.slice(0, 300)}…` : text).replace(/\s*\n\s*/g, " / ");

function describe(event: SchedulerEvent): string {
  const id = `task ${event.kind === "ignored" ? "" : event.task.id}`;
  switch (event.kind) {
    case "queued":
      return `${id} queued (${event.task.push.type}, driver ${short(event.task.driver.topic)})`;
    case "dispatched":
      return `${id} dispatched to worker ${short(event.worker)} (slot ${event.tid.slice(0, 8)}${event.task.attempts > 1 ? `, attempt ${event.task.attempts}` : ""})`;
    case "done":
      // A failed task is answered too (its driver gets the error); the log says which it was, and why.
      return event.error === null
        ? `${id} done in ${event.ms} ms by worker ${short(event.worker)}`
        : `${id} failed in ${event.ms} ms on worker ${short(event.worker)}: ${oneLine(event.error)}`;
    case "aborted":
      return `${id} aborted: ${event.reason}`;
    case "requeued":
      return `${id} re-queued: worker ${short(event.worker)} left`;
    case "ignored":
      return `result for slot ${event.tid.slice(0, 8)} of worker ${short(event.worker)} ignored: ${event.reason}`;
  }
}

export async function startLoopback(options: LoopbackOptions = {}): Promise<LoopbackServer> {
  const server = new LoopbackServer(options);
  await server.listen();
  return server;
}
