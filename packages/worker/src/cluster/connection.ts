/**
 * The worker's connection to Waterbear (docs/protocol.md, "Worker socket"): token,
 * user, Phoenix socket (official client: heartbeat, reconnect with back-off,
 * rejoin) and the channel events in and out. Every inbound payload is parsed
 * here; one that fails is reported with its tid (when it has one) so the pool
 * can answer it with an error instead of leaving a driver waiting.
 */
import { Socket, type Channel } from "phoenix";
import type { ResolvedConfig } from "../config.js";
import {
  AbortTask,
  AttachedField,
  type Attachments,
  BINARY_FILES,
  BUNDLE_REFS,
  decodeAttached,
  decodeResultBody,
  encodeAttached,
  inlineResultFiles,
  joinPieces,
  describeIssues,
  GuestResponse,
  HttpPath,
  Input,
  Stats,
  Topic,
  UserResponse,
  WorkerEvent,
  type WorkerResult,
} from "motivus-protocol";

export interface ConnectionHandlers {
  /** The channel is joined (first time or after a reconnect): offer slots again, with new tids. */
  joined(): void;
  /** The channel is down: whatever was offered or running is the cluster's again. */
  lost(reason: string): void;
  /** `attached`: the files that came beside it in a binary frame (attachments.ts). */
  input(input: Input, attached?: Attachments): void;
  /** An `input` that failed validation. */
  badInput(tid: string | null, reason: string): void;
  abort(tid: string): void;
  stats(stats: Stats): void;
}

/**
 * Reconnect back-off by attempt, stepped like Phoenix's own defaults, then every 10 s; each wait is
 * spread by ±50 % so the workers a cluster restart dropped together do not all return together.
 */
export function reconnectAfterMs(tries: number, random: () => number = Math.random): number {
  const step = [100, 500, 1000, 2000, 5000][tries - 1] ?? 10_000;
  return Math.round(step * (0.5 + random()));
}

export class ClusterConnection {
  private socket: Socket | null = null;
  private channel: Channel | null = null;
  private isJoined = false;
  /** The cluster said, when this worker joined, that it reads binary frames (attachments.ts). */
  private clusterReadsBinary = false;
  /** Counts connect() calls and disconnects: a connect() that is no longer the latest gives up quietly. */
  private attempt = 0;
  /** Ends the join wait of the current connect(), when disconnect() calls it off. */
  private callOff: () => void = () => {};
  userUuid: string | null = null;

  constructor(
    private readonly config: ResolvedConfig,
    private readonly on: ConnectionHandlers,
  ) {}

  get joined(): boolean {
    return this.isJoined;
  }

  /** Whether a task's result files may go back as bytes in a binary frame: the cluster said so when this worker joined. */
  get binaryFiles(): boolean {
    return this.clusterReadsBinary;
  }

  /** Resolves once joined, or as soon as disconnect() calls it off (then it opens nothing more). */
  async connect(): Promise<void> {
    const attempt = ++this.attempt;
    const token = this.config.token ?? (await this.guestToken());
    if (attempt !== this.attempt) return;
    const userUuid = await this.user(token);
    if (attempt !== this.attempt) return;
    this.userUuid = userUuid;
    const socket = new Socket(this.config.socketUrl, {
      params: { token },
      heartbeatIntervalMs: this.config.heartbeatIntervalMs,
      reconnectAfterMs: (tries: number) => reconnectAfterMs(tries),
      rejoinAfterMs: (tries: number) => reconnectAfterMs(tries),
    });
    // Asks for programs by reference and files in binary frames (docs/protocol.md); a cluster that
    // ignores either sends them inline, as base64.
    const channel = socket.channel(Topic.worker(this.userUuid, crypto.randomUUID()), { [BUNDLE_REFS]: 1, [BINARY_FILES]: 1 });
    channel.on(WorkerEvent.input, (payload: unknown) => this.receiveInput(payload));
    channel.on(WorkerEvent.abortTask, (payload: unknown) => {
      const parsed = AbortTask.safeParse(payload);
      if (parsed.success) this.on.abort(parsed.data.tid);
      else this.config.logger.warn(`motivus: ignored a malformed abort_task: ${describeIssues(parsed.error)}`);
    });
    channel.on(WorkerEvent.stats, (payload: unknown) => {
      const parsed = Stats.safeParse(payload);
      if (parsed.success) this.on.stats(parsed.data);
    });
    channel.onError(() => this.down("the connection to the cluster dropped; reconnecting"));
    channel.onClose(() => this.down("left the cluster"));
    this.socket = socket;
    this.channel = channel;
    socket.connect();
    await new Promise<void>((ok, fail) => {
      this.callOff = ok;
      let first = true;
      channel
        .join()
        .receive("ok", (reply: Record<string, unknown> | null) => {
          this.clusterReadsBinary = Boolean(reply?.[BINARY_FILES]);
          this.isJoined = true;
          this.on.joined();
          if (first) ok();
          first = false;
        })
        .receive("error", (reply: { reason?: string }) => {
          if (!first) return;
          socket.disconnect();
          fail(new Error(`the cluster refused this worker: ${reply?.reason ?? "no reason given"}`));
        });
    });
  }

  offer(tid: string): void {
    // Phoenix buffers a push made while the socket is down and replays it after the rejoin, when the pool
    // has already offered its slots again under new tids: the cluster would hold an offer nobody keeps.
    if (this.isJoined && this.socket?.isConnected()) this.channel?.push(WorkerEvent.inputRequest, { tid });
  }

  /** `files`: result files as bytes, attached in a binary frame; put back into the body as base64 for a cluster that reads no binary frames. */
  sendResult(result: WorkerResult, files?: Record<string, Uint8Array>): void {
    if (!files || Object.keys(files).length === 0) return void this.channel?.push(WorkerEvent.result, result, 60_000);
    if (!this.clusterReadsBinary) {
      // The task started on a cluster that reads them, and ends on one (reconnected) that does not.
      const body = inlineResultFiles(decodeResultBody(result.body), files);
      return void this.channel?.push(WorkerEvent.result, { ...result, body }, 60_000);
    }
    const frame = joinPieces(encodeAttached(result, { [AttachedField.result]: files }));
    this.channel?.push(WorkerEvent.result, frame.buffer as unknown as object, 60_000);
  }

  disconnect(): void {
    this.attempt++;
    this.callOff();
    this.isJoined = false;
    this.channel?.leave();
    this.socket?.disconnect();
    this.socket = null;
    this.channel = null;
  }

  private down(reason: string): void {
    if (!this.isJoined) return;
    this.isJoined = false;
    this.on.lost(reason);
  }

  private receiveInput(received: unknown): void {
    let payload = received;
    let attached: Attachments | undefined;
    if (received instanceof ArrayBuffer) {
      try {
        ({ payload, files: attached } = decodeAttached(new Uint8Array(received)));
      } catch (err) {
        return this.on.badInput(null, `malformed task: ${(err as Error).message}`);
      }
    }
    const parsed = Input.safeParse(payload);
    if (parsed.success) return this.on.input(parsed.data, attached);
    const tid = (payload as { tid?: unknown } | null)?.tid;
    this.on.badInput(typeof tid === "string" && tid ? tid : null, `malformed task: ${describeIssues(parsed.error)}`);
  }

  private async guestToken(): Promise<string> {
    const res = await this.http("POST", HttpPath.guestToken);
    return GuestResponse.parse(await res.json()).token;
  }

  private async user(token: string): Promise<string> {
    const res = await this.http("GET", HttpPath.user, token);
    return UserResponse.parse(await res.json()).data.uuid;
  }

  private async http(method: string, path: string, token?: string): Promise<Response> {
    const url = `${this.config.httpOrigin}${path}`;
    let res: Response;
    try {
      res = await fetch(url, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });
    } catch (err) {
      throw new Error(`could not reach the cluster at ${url}: ${(err as Error).message}`, { cause: err });
    }
    if (!res.ok) {
      const why = res.status === 401 ? "the token was refused" : await refusalOf(res);
      throw new Error(`${method} ${url} answered ${res.status}${why ? `: ${why}` : ""}`);
    }
    return res;
  }
}

/** The `error` text of a refusal's JSON body, shortened (the loopback names the `--allow-origin` a page needs); "" otherwise. */
async function refusalOf(res: Response): Promise<string> {
  // Its first chunk only: a refusal is short, and nothing a cluster sends is read unbounded.
  const reader = res.body?.getReader();
  const first = await reader?.read().catch(() => undefined);
  void reader?.cancel().catch(() => {});
  try {
    const { error } = JSON.parse(new TextDecoder().decode(first?.value?.subarray(0, 4096))) as { error?: unknown };
    return typeof error === "string" ? error.slice(0, 300) : "";
  } catch {
    return "";
  }
}
