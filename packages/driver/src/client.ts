/**
 * A driver client with the calls of the Python `motivus` client: connect,
 * callAsync, selectTask, barrier. Speaks Phoenix V2 through the official
 * `phoenix` client (heartbeat, reconnect); tasks still waiting for a result
 * are sent again when the channel rejoins, because the cluster drops a
 * driver's tasks when its channel closes, at most `maxResends` times: a task
 * whose result keeps closing the connection is rejected, not sent for ever.
 * A result is read within `maxResultBytes` (result-body.ts). A cluster that keeps bundles (the
 * loopback) gets each wasm and loader once and tasks naming them (bundle-uploads.ts).
 */
import { Socket, type Channel } from "phoenix";
import {
  AttachedField,
  type Attachments,
  base64Of,
  BINARY_FILES,
  ClientEvent,
  decodeAttached,
  describeIssues,
  DriverResult,
  encodeAttached,
  ErrorCode,
  inlinePreloadFiles,
  isErrorCode,
  joinPieces,
  MiB,
  MotivusError,
  type ResultContent,
  type TaskBody,
  type TaskPush,
  textOf,
  toBase64,
  Topic,
} from "motivus-protocol";
import { strToU8 } from "fflate";
import { BundleUploads } from "./bundle-uploads.js";
import { frameChannel, type FrameChannel, type PushReply } from "./phoenix-adapter.js";
import { Registry } from "./registry.js";
import { decodeResultBodyWithin, ResultTooLargeError } from "./result-body.js";
import { parseTaskDefinition, TaskDefinitionError, type TaskDefinition } from "./task-definition.js";

export interface ConnectOptions {
  /** Driver socket; default `WEBSOCKET_URI`. */
  uri?: string;
  /** Default `APPLICATION_TOKEN`. */
  token?: string;
  /** Algorithm registry; default `ALGORITHM_REPO_HOST`, else the socket's host over http(s). */
  registry?: string;
  /** Where stdout/stderr of each task are kept (Node); null to keep none. Default `.motivus/logs`. */
  logDir?: string | null;
  heartbeatIntervalMs?: number;
  /** Give up connecting after this long. Default 10 s. */
  connectTimeoutMs?: number;
  /** Largest result body, once decompressed, the driver reads; a larger one rejects its task. Default 256 MiB. */
  maxResultBytes?: number;
  /**
   * Largest frame the socket takes (Node; a browser's own limit applies there). Default 256 MiB, above
   * the loopback cluster's 128 MiB `maxFrameBytes`: a larger frame closes the connection.
   */
  maxFrameBytes?: number;
  /** Times a task still waiting for its result is sent again after the connection came back. Default 3. */
  maxResends?: number;
  /** Where the driver says what it ignored (a malformed result frame). Default `console`. */
  logger?: DriverLogger;
}

/** What the driver writes to: `console` or anything with its `warn`. */
export interface DriverLogger {
  warn(message: string): void;
}

export const DRIVER_DEFAULTS = { maxResultBytes: 256 * MiB, maxFrameBytes: 256 * MiB, maxResends: 3 } as const;

/**
 * A task answered with a failure (the algorithm crashed, timed out, or was refused), or given up by
 * the driver. `code`: the result body's `error_code` (`ErrorCode.unspecified` when it gave none we
 * know), or the driver's own reason (`resultTooLarge`, `unreadableResult`, `clusterRefused`, `resendsExhausted`).
 */
export class TaskError extends MotivusError {
  override name = "TaskError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly taskId: number,
    readonly stderr: string,
  ) {
    super(message);
  }
}

/** The driver could not reach or join the cluster. */
export class ConnectError extends MotivusError {
  override name = "ConnectError";
  readonly code = ErrorCode.connectFailed;
}

interface Pending {
  readonly id: number;
  readonly ref: string;
  readonly resultFiles: Record<string, string>;
  push?: TaskPush;
  /** Its preload files' bytes; its push names them with empty strings until it goes out (as bytes or base64). */
  preload?: Record<string, Uint8Array>;
  /** The join generation in which it was last pushed. */
  sentIn: number;
  /** How many times it was pushed. */
  sends: number;
  readonly done: Promise<unknown>;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

const env = (name: string): string | undefined => (typeof process !== "undefined" ? process.env[name] || undefined : undefined);

const isNode = typeof process !== "undefined" && !!process.versions?.node;

/** The socket class phoenix instantiates: in Node, `ws` with our frame limit (its default is 100 MiB). */
async function webSocketClass(maxPayload: number): Promise<unknown> {
  if (!isNode) return globalThis.WebSocket;
  const { WebSocket } = await import("ws");
  return class extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { maxPayload });
    }
  };
}

export class Client {
  private nextId = 1;
  private tasks = new Map<number, Pending>();
  private byRef = new Map<string, Pending>();
  /** Tasks pushed and not yet acknowledged, by the push's frame ref. */
  private unacknowledged = new Map<string, Pending>();
  private generation = 0;
  /** Pushes waiting for their files' hashes and uploads, in the order they were sent. */
  private outbox: Promise<void> = Promise.resolve();
  private wiring = 0;
  /** The cluster said, when this channel last joined, that it reads binary frames (attachments.ts). */
  private binaryFiles = false;
  private readonly frames: FrameChannel;
  readonly clientId = crypto.randomUUID();

  private constructor(
    private readonly socket: Socket,
    private readonly channel: Channel,
    private readonly registry: Registry,
    private readonly logDir: string | null,
    private readonly limits: { maxResultBytes: number; maxFrameBytes: number; maxResends: number },
    private readonly logger: DriverLogger,
    private readonly uploads: BundleUploads,
  ) {
    this.frames = frameChannel(socket, channel);
    channel.on(ClientEvent.result, (payload: unknown) => void this.receive(payload));
    this.frames.onReply((reply, ref) => this.acknowledged(reply, ref));
  }

  static async connect(options: ConnectOptions = {}): Promise<Client> {
    const uri = options.uri ?? env("WEBSOCKET_URI");
    if (!uri) throw new ConnectError("no cluster to connect to: set WEBSOCKET_URI or pass { uri }");
    const token = options.token ?? env("APPLICATION_TOKEN") ?? "";
    const origin = new URL(uri).origin.replace(/^ws/, "http");
    const registry = new Registry(options.registry ?? env("ALGORITHM_REPO_HOST") ?? origin);
    const limits = {
      maxResultBytes: options.maxResultBytes ?? DRIVER_DEFAULTS.maxResultBytes,
      maxFrameBytes: options.maxFrameBytes ?? DRIVER_DEFAULTS.maxFrameBytes,
      maxResends: options.maxResends ?? DRIVER_DEFAULTS.maxResends,
    };
    const socket = new Socket(uri.replace(/\/websocket\/?$/, ""), {
      transport: (await webSocketClass(limits.maxFrameBytes)) as never,
      params: { token },
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 3000,
    });
    const timeoutMs = options.connectTimeoutMs ?? 10_000;
    socket.connect();
    try {
      const uuid = await joinOnce<{ uuid: string }>(socket.channel(Topic.clientLobby), timeoutMs, true);
      // Files go as bytes in binary frames when the cluster says it reads them too (docs/protocol.md).
      const channel = socket.channel(Topic.client(uuid.uuid, crypto.randomUUID()), { [BINARY_FILES]: 1 });
      const client = new Client(
        socket,
        channel,
        registry,
        options.logDir === undefined ? ".motivus/logs" : options.logDir,
        limits,
        options.logger ?? console,
        new BundleUploads(origin, token, options.logger ?? console),
      );
      await joinOnce(channel, timeoutMs, false, (reply) => client.rejoined(reply));
      return client;
    } catch (err) {
      socket.disconnect();
      throw err;
    }
  }

  /** Queue a task; its id is for `selectTask`. Preparation errors surface there. */
  callAsync(definition: TaskDefinition): number {
    const id = this.nextId++;
    const ref = crypto.randomUUID();
    let resolve!: (value: unknown) => void;
    let reject!: (error: Error) => void;
    const done = new Promise<unknown>((ok, fail) => ((resolve = ok), (reject = fail)));
    done.catch(() => {}); // handled by whoever selects it; never an unhandled rejection here
    const pending: Pending = { id, ref, resultFiles: {}, sentIn: -1, sends: 0, done, resolve, reject };
    this.tasks.set(id, pending);
    this.byRef.set(ref, pending);
    this.prepare(pending, definition).catch((err: Error) => this.settle(pending, () => reject(err)));
    return id;
  }

  /** The result of a task: its `data`, or the whole result map when it has none. */
  selectTask(id: number): Promise<unknown> {
    const pending = this.tasks.get(id);
    if (!pending) return Promise.reject(new Error(`no task ${id} was called on this client`));
    return pending.done;
  }

  barrier(ids: number[]): Promise<unknown[]> {
    return Promise.all(ids.map((id) => this.selectTask(id)));
  }

  /** Tasks still waiting for a result. */
  get pending(): number {
    return this.byRef.size;
  }

  async close(): Promise<void> {
    await new Promise<void>((ok) => {
      this.channel
        .leave()
        .receive("ok", () => ok())
        .receive("timeout", () => ok())
        .receive("error", () => ok());
    });
    await new Promise<void>((ok) => this.socket.disconnect(() => ok()));
  }

  private async prepare(pending: Pending, definition: TaskDefinition): Promise<void> {
    const def = parseTaskDefinition(definition);
    const bundle =
      def.algorithm && def.algorithm_version ? await this.registry.resolve(def.algorithm, def.algorithm_version) : null;
    const io = isNode ? await import("./node-files.js") : null;
    const read = async (inline: string | Uint8Array | undefined, path: string | undefined, what: string) => {
      if (inline !== undefined) return typeof inline === "string" ? inline : base64Of(inline);
      if (!path) throw new TaskDefinitionError(`no ${what} given`);
      if (!io) throw new TaskDefinitionError(`${what}_path needs Node; in a browser pass ${what} as bytes`);
      return io.readBase64(path);
    };
    const preload: Record<string, Uint8Array> = {};
    for (const [path, contents] of Object.entries(def.preload_files ?? {}))
      preload[path] = typeof contents === "string" ? strToU8(contents) : contents;
    const body: TaskBody = {
      run_type: "wasm",
      params: def.params ?? null,
      arguments: def.arguments ?? null,
      preload_files: def.preload_files ? Object.fromEntries(Object.keys(preload).map((path) => [path, ""])) : null,
      result_files: def.result_files ?? null,
      wasm: bundle?.wasm ?? (await read(def.wasm, def.wasm_path, "wasm")),
      // No loader at all: a WASI command module, sent with an empty loader (docs/protocol.md).
      loader:
        bundle?.loader ??
        (def.loader === undefined && def.loader_path === undefined ? "" : await read(def.loader, def.loader_path, "loader")),
      data_link: def.data_link ?? bundle?.dataLink ?? null,
      // The cluster's bookkeeping fields go only when given (the Python client sends them null): fewer bytes per task.
      ...given({ processing_base_time: def.processing_base_time, flops: def.flops, flop: def.flop, entry: def.entry }),
    };
    Object.assign(pending.resultFiles, def.result_files ?? {});
    if (Object.keys(preload).length > 0) pending.preload = preload;
    pending.push = { body, type: def.public_cluster ? "work" : "trusted_work", ref: pending.ref, client_id: this.clientId };
    if (this.channel.state === "joined") this.send(pending);
  }

  private send(pending: Pending): void {
    if (!pending.push || !this.byRef.has(pending.ref)) return;
    if (pending.sends > this.limits.maxResends) {
      const message =
        `task ${pending.id} was sent ${pending.sends} times and each time the connection dropped before its result came; gave up (maxResends ${this.limits.maxResends}). ` +
        `A result frame larger than the driver's maxFrameBytes (${this.limits.maxFrameBytes} bytes) closes the connection`;
      return this.settle(pending, () => pending.reject(new TaskError(ErrorCode.resendsExhausted, message, pending.id, "")));
    }
    pending.sends++;
    pending.sentIn = this.generation;
    if (!this.uploads.active && this.wiring === 0) return this.push(pending, pending.push);
    // Hashing and uploads run at once; the pushes still go out in order.
    const generation = this.generation;
    const wired = this.uploads.wire(pending.push);
    wired.catch(() => {}); // handled below, in turn
    this.wiring++;
    this.outbox = this.outbox
      .then(async () => {
        const push = await wired;
        // A rejoin since sends it again (to a cluster that may not hold its files); an answered task is done.
        if (generation === this.generation) this.push(pending, push);
      })
      .catch((err: Error) => this.settle(pending, () => pending.reject(err)))
      .finally(() => this.wiring--);
  }

  /** Preload files as bytes in a binary frame to a cluster that reads them, else as base64 in the body. */
  private push(pending: Pending, push: TaskPush): void {
    if (!this.byRef.has(pending.ref)) return;
    const files = pending.preload;
    const ref =
      files && this.binaryFiles
        ? this.frames.push(ClientEvent.task, joinPieces(encodeAttached(push, { [AttachedField.preload]: files })).buffer)
        : this.frames.push(ClientEvent.task, files ? { ...push, body: inlinePreloadFiles(push.body, files) } : push);
    this.unacknowledged.set(ref, pending);
  }

  /** The cluster's reply to a task push: an error reply is the task's answer. */
  private acknowledged(reply: PushReply, ref: string): void {
    const pending = this.unacknowledged.get(ref);
    if (!pending) return; // a join's or a leave's reply
    this.unacknowledged.delete(ref);
    if (reply?.status !== "error") return;
    const reason = reply.response?.reason ?? "no reason given";
    this.settle(pending, () =>
      pending.reject(
        new TaskError(ErrorCode.clusterRefused, `the cluster refused task ${pending.id}: ${reason}`, pending.id, ""),
      ),
    );
  }

  private rejoined(reply: unknown): void {
    this.unacknowledged.clear(); // replies to the last connection's pushes never come
    this.generation++;
    this.uploads.reset(reply); // the cluster may be another one now: uploads and what it keeps start over
    this.binaryFiles = Boolean((reply as Record<string, unknown> | null)?.[BINARY_FILES]);
    for (const pending of this.byRef.values()) if (pending.sentIn !== this.generation) this.send(pending);
  }

  /** A result frame's payload: JSON, or (a binary frame, which phoenix hands over as an ArrayBuffer) its files beside it. */
  private async receive(received: unknown): Promise<void> {
    let payload = received;
    let files: Attachments = {};
    try {
      if (received instanceof ArrayBuffer) ({ payload, files } = decodeAttached(new Uint8Array(received)));
    } catch (err) {
      return this.logger.warn(`motivus driver: ignored an unreadable result: ${(err as Error).message}`);
    }
    const parsed = DriverResult.safeParse(payload);
    if (!parsed.success) return this.logger.warn(`motivus driver: ignored a malformed result: ${describeIssues(parsed.error)}`);
    const result = parsed.data;
    const pending = this.byRef.get(result.ref);
    if (!pending) return; // not ours, or already answered
    this.settle(pending, () => {});
    try {
      pending.resolve(await this.outcome(pending, result, files[AttachedField.result] ?? {}));
    } catch (err) {
      pending.reject(err as Error);
    }
  }

  /** A result's value; a failure rejects with a TaskError. Logs and result files are kept first (Node). */
  private async outcome(pending: Pending, result: DriverResult, files: Record<string, Uint8Array>): Promise<unknown> {
    const io = isNode ? await import("./node-files.js") : null;
    let content: ResultContent;
    try {
      content = decodeResultBodyWithin(result.body, this.limits.maxResultBytes, io?.gunzipWithin);
    } catch (err) {
      const [code, what] =
        err instanceof ResultTooLargeError
          ? [ErrorCode.resultTooLarge, "result too large"]
          : [ErrorCode.unreadableResult, "unreadable result"];
      throw new TaskError(code, `task ${pending.id}: ${what}: ${(err as Error).message}`, pending.id, "");
    }
    const stderr = textOf(result.stderr);
    if (io) {
      await io.keepLogs(this.logDir, pending.id, textOf(result.stdout), stderr);
      await io.writeResultFiles(pending.resultFiles, content, files);
    }
    if (typeof content.error === "string" && !("data" in content)) {
      const code = isErrorCode(content.error_code) ? content.error_code : ErrorCode.unspecified;
      throw new TaskError(code, `task ${pending.id} failed: ${content.error}`, pending.id, stderr);
    }
    if ("data" in content) return content.data;
    // The whole result map, as a cluster without binary frames gives it: files as base64 entries.
    for (const [path, bytes] of Object.entries(files)) content[path] = toBase64(bytes);
    return content;
  }

  /** Take a task out of the waiting set exactly once; what stays (for `selectTask`) is its outcome. */
  private settle(pending: Pending, then: () => void): void {
    if (!this.byRef.delete(pending.ref)) return;
    delete pending.push; // the task's body and files, only needed to send it again
    delete pending.preload;
    then();
  }
}

/** The fields that have a value. */
function given<T extends Record<string, unknown>>(fields: T): Partial<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value != null && value !== "")) as Partial<T>;
}

/** Join a channel; resolves with the first ok reply. `onJoin` runs with each reply, on every later rejoin too. */
function joinOnce<T>(channel: Channel, timeoutMs: number, leaveAfter: boolean, onJoin?: (reply: T) => void): Promise<T> {
  return new Promise<T>((ok, fail) => {
    const timer = setTimeout(
      () => fail(new ConnectError(`could not join ${channel.topic} within ${timeoutMs} ms: is the cluster running?`)),
      timeoutMs,
    );
    channel
      .join(timeoutMs)
      .receive("ok", (response: T) => {
        clearTimeout(timer);
        onJoin?.(response);
        if (leaveAfter) channel.leave();
        ok(response);
      })
      .receive("error", (reply: { reason?: string }) => {
        clearTimeout(timer);
        fail(new ConnectError(`the cluster refused to join ${channel.topic}: ${reply.reason ?? "unknown reason"}`));
      });
  });
}
