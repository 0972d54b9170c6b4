/**
 * One WebSocket of the loopback cluster: Phoenix frames in, channel joins and
 * leaves, heartbeats, and the domain events of PROTOCOL.md handed to the
 * scheduler. A driver socket (`/client_socket`) and a worker socket
 * (`/socket`) differ only in which topics and events they accept. Each joined
 * channel gets an id of its own, so two sockets on one topic are two peers.
 * No frame can take the cluster down: an unexpected exception while handling
 * one is logged and answered with an error reply.
 */
import type { Duplex } from "node:stream";
import type { WebSocket } from "ws";
import {
  type Attachments,
  BINARY_FILES,
  binaryPushHead,
  BUNDLE_REFS,
  BUNDLE_STORE,
  BUNDLE_STORE_PATH,
  ClientEvent,
  type ClusterCounts,
  decodeAttached,
  decodeBinaryPush,
  decodeFrame,
  describeIssues,
  encodeAttached,
  encodeFrame,
  type Frame,
  FrameError,
  InputRequest,
  PHOENIX_TOPIC,
  PhxEvent,
  type Ref,
  SetValidation,
  type TaskBody,
  TaskPush,
  Topic,
  type Vsn,
  WorkerEvent,
  WorkerResult,
} from "motivus-protocol";
import type { Grant } from "./accounts.js";
import type { Peer, Scheduler, Task } from "./scheduler.js";

export type Endpoint = "worker" | "client";

/** Any zod schema (classic or mini). */
type Schema<T> = {
  safeParse(
    value: unknown,
  ): { success: true; data: T } | { success: false; error: { issues: readonly { path: PropertyKey[]; message: string }[] } };
};

export interface ConnectionOptions {
  endpoint: Endpoint;
  vsn: Vsn;
  /** Who the socket's token is and what it may do. */
  grant: Grant;
  scheduler: Scheduler;
  /** The cluster's statistics, pushed to a worker after each of its results. */
  counts: () => ClusterCounts;
  /** Close a socket silent for this long (production: 30 s). */
  idleTimeoutMs: number;
  /** For the reply to an offer past it (the scheduler enforces it). */
  maxSlotsPerWorker: number;
  /** A worker socket: a task's body as this worker gets it (links.ts), by reference when its channel asked (bundle-store.ts). */
  bodyFor?: (task: Task, byReference: boolean) => TaskBody;
  log: (line: string) => void;
}

/** Frames of one socket handled per turn of the event loop, and how many may wait before it is paused. */
const BATCH = 256;
const INBOX_PAUSE = 4096;

/** Ids of joined channels, unique for the process's lifetime. */
let nextChannelId = 1;

interface Channel extends Peer {
  joinRef: Ref;
  /** The lobby `room:client?` only answers the join; it holds no tasks. */
  lobby: boolean;
  /** A `stats` push waiting for its turn (see `sendStats`). */
  statsTimer?: NodeJS.Timeout;
  statsSentAt?: number;
}

/** A worker hears the cluster's stats at most this often: they are display-only, a frame per result is not. */
const STATS_EVERY_MS = 1000;

export class SocketSession {
  private channels = new Map<string, Channel>();
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Frames received and not handled yet (text, or a binary frame's bytes), oldest at `inboxStart`. */
  private inbox: (string | Buffer | null)[] = [];
  private inboxStart = 0;
  private draining = false;
  private corked = false;

  /** `transport`: the socket under `ws`, corked until the end of the tick while frames go out (see `send`). */
  constructor(
    private readonly ws: WebSocket,
    private readonly transport: Duplex,
    private readonly options: ConnectionOptions,
  ) {
    ws.on("message", (data, isBinary) => this.enqueue(isBinary ? (data as Buffer) : data.toString()));
    ws.on("close", () => {
      // What the socket said before it closed counts (a worker's last result): handle it first.
      this.drain(Infinity);
      this.closeAll();
    });
    ws.on("error", (err) => options.log(`socket error (${options.endpoint}): ${err.message}`));
    this.touch();
  }

  get endpoint(): Endpoint {
    return this.options.endpoint;
  }

  joinedChannels(): number {
    return [...this.channels.values()].filter((c) => !c.lobby).length;
  }

  close(): void {
    this.ws.close(1001, "server stopping");
    this.closeAll();
  }

  /**
   * Fairness: a socket's frames are handled at most `BATCH` per turn of the event loop, so one
   * socket sending thousands of frames at once cannot hold up every other socket (their
   * heartbeats, results) until it is through; past `INBOX_PAUSE` waiting frames its socket is no
   * longer read until they are handled. What a batch sends goes out in one write per socket
   * (`send` corks until the end of the tick) instead of one system call each.
   */
  private enqueue(received: string | Buffer): void {
    this.inbox.push(received);
    if (this.inbox.length - this.inboxStart >= INBOX_PAUSE && !this.ws.isPaused) this.ws.pause();
    if (this.draining) return;
    this.draining = true;
    setImmediate(() => this.drain(BATCH));
  }

  private drain(count: number): void {
    const end = Math.min(this.inbox.length, this.inboxStart + count);
    while (this.inboxStart < end) {
      const received = this.inbox[this.inboxStart]!;
      this.inbox[this.inboxStart++] = null;
      this.receive(received);
    }
    if (this.inboxStart < this.inbox.length) return void setImmediate(() => this.drain(BATCH));
    this.inbox = [];
    this.inboxStart = 0;
    this.draining = false;
    if (this.ws.isPaused) this.ws.resume();
  }

  private touch(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.options.log(`closing a silent ${this.options.endpoint} socket (no frame for ${this.options.idleTimeoutMs} ms)`);
      this.ws.close(1000, "heartbeat timeout");
      this.closeAll();
    }, this.options.idleTimeoutMs);
    this.idleTimer.unref();
  }

  private receive(received: string | Buffer): void {
    if (this.closed) return;
    this.touch();
    let frame: Frame;
    let files: Attachments | undefined;
    try {
      ({ frame, files } = this.decode(received));
    } catch (err) {
      // A FrameError is the peer's doing; anything else thrown while decoding is a bug of ours, and says so.
      this.options.log(
        err instanceof FrameError
          ? `ignored a malformed frame: ${err.message}`
          : `ignored a frame: decoding it failed with a bug of the loopback cluster: ${(err as Error)?.stack ?? String(err)}`,
      );
      return;
    }
    try {
      this.route(frame, received.length, files);
    } catch (err) {
      // Whatever goes wrong is logged and answered, never thrown at the socket (which would end the process).
      this.options.log(
        `error handling ${frame.event} on ${frame.topic} (${this.options.endpoint} socket), answered with an error: ${(err as Error).stack ?? String(err)}`,
      );
      try {
        this.reply(frame, "error", {
          reason: `the loopback cluster failed handling this ${frame.event}: ${(err as Error).message}`,
        });
      } catch {
        // nothing more can be said on this socket
      }
    }
  }

  /**
   * A text frame, or a binary one (a client's push: docs/protocol.md, "Files in binary frames") as its
   * payload and its files. A binary frame whose files cannot be read is answered (its ref is known).
   */
  private decode(received: string | Buffer): { frame: Frame; files?: Attachments } {
    if (typeof received === "string") return { frame: decodeFrame(received, this.options.vsn) };
    if (this.options.vsn !== "2.0.0") throw new FrameError("a binary frame on a vsn=1.0.0 socket");
    const push = decodeBinaryPush(received);
    try {
      const { payload, files } = decodeAttached(push.payload);
      return { frame: { ...push, payload }, files };
    } catch (err) {
      if (err instanceof FrameError) this.reply(push, "error", { reason: `unreadable ${push.event}: ${err.message}` });
      throw err;
    }
  }

  private route(frame: Frame, bytes: number, files?: Attachments): void {
    if (frame.topic === PHOENIX_TOPIC && frame.event === PhxEvent.heartbeat) return this.reply(frame, "ok", {});
    if (frame.event === PhxEvent.join) return this.join(frame);
    const channel = this.channels.get(frame.topic);
    if (!channel) return this.reply(frame, "error", { reason: "unmatched topic" });
    if (frame.event === PhxEvent.leave) {
      this.reply(frame, "ok", {});
      return this.leave(channel);
    }
    this.handle(channel, frame, bytes, files);
  }

  private join(frame: Frame): void {
    const { topic } = frame;
    const lobby = this.options.endpoint === "client" && topic === Topic.clientLobby;
    const prefix = this.options.endpoint === "client" ? Topic.clientPrefix : Topic.workerPrefix;
    if (!lobby && !topic.startsWith(prefix)) return this.reply(frame, "error", { reason: "unmatched topic" });
    if (!lobby && topic.slice(prefix.length).split(":")[0] !== this.options.grant.user.uuid) {
      return this.reply(frame, "error", { reason: "unauthorized" });
    }
    // Phoenix semantics: joining a topic again replaces the earlier join.
    const previous = this.channels.get(topic);
    if (previous) this.leave(previous);
    const { bodyFor } = this.options;
    const byReference = this.options.endpoint === "worker" && asksFor(frame.payload, BUNDLE_REFS);
    const binaryFiles = !lobby && this.options.vsn === "2.0.0" && asksFor(frame.payload, BINARY_FILES);
    const channel: Channel = {
      id: nextChannelId++,
      topic,
      trusted: this.options.grant.trusted,
      joinRef: frame.joinRef ?? frame.ref,
      lobby,
      binaryFiles,
      ...(bodyFor ? { bodyFor: (task: Task) => bodyFor(task, byReference) } : {}),
      push: (event, payload, files) =>
        files && binaryFiles
          ? this.sendBinary(channel.joinRef, topic, event, encodeAttached(payload, files))
          : this.send({ joinRef: channel.joinRef, ref: null, topic, event, payload }),
    };
    this.channels.set(topic, channel);
    this.reply(frame, "ok", { ...this.joinReply(lobby), ...(binaryFiles ? { [BINARY_FILES]: 1 } : {}) });
    if (this.options.endpoint === "worker") this.logWorkerJoined(channel, byReference);
  }

  /** The lobby tells a driver its uuid; a driver's own channel, that this cluster keeps bundles (docs/protocol.md). */
  private joinReply(lobby: boolean): object {
    if (lobby) return { uuid: this.options.grant.user.uuid };
    return this.options.endpoint === "client" ? { [BUNDLE_STORE]: BUNDLE_STORE_PATH } : {};
  }

  private logWorkerJoined(channel: Channel, byReference: boolean): void {
    const trust = channel.trusted
      ? "trusted"
      : "untrusted (a guest on a cluster with a token): gets work tasks only, never trusted_work";
    const bundles = byReference ? ", takes bundles by reference" : "";
    this.options.log(`worker ${channel.topic.slice(-8)} joined, ${trust}${bundles}`);
  }

  private leave(channel: Channel): void {
    if (this.channels.get(channel.topic) !== channel) return;
    this.channels.delete(channel.topic);
    clearTimeout(channel.statsTimer);
    if (channel.lobby) return;
    if (this.options.endpoint === "client") this.options.scheduler.driverLeft(channel);
    else this.options.scheduler.workerLeft(channel);
  }

  /** Pushes the stats now, or once when the last push is STATS_EVERY_MS old (the counts of that moment). */
  private sendStats(channel: Channel): void {
    if (channel.statsTimer) return;
    const wait = (channel.statsSentAt ?? -Infinity) + STATS_EVERY_MS - Date.now();
    const send = () => {
      channel.statsTimer = undefined;
      channel.statsSentAt = Date.now();
      if (this.channels.get(channel.topic) === channel) {
        channel.push(WorkerEvent.stats, { uid: this.options.grant.user.uuid, type: "stats", body: this.options.counts() });
      }
    };
    if (wait <= 0) send();
    else channel.statsTimer = setTimeout(send, wait).unref();
  }

  private handle(channel: Channel, frame: Frame, bytes: number, files?: Attachments): void {
    const handled =
      this.options.endpoint === "client" ? this.fromDriver(channel, frame, bytes, files) : this.fromWorker(channel, frame, files);
    if (!handled) this.reply(frame, "error", { reason: `unknown event "${frame.event}" on ${this.options.endpoint} socket` });
  }

  private fromDriver(channel: Channel, frame: Frame, bytes: number, files?: Attachments): boolean {
    switch (frame.event) {
      case ClientEvent.task: {
        if (channel.lobby)
          return (this.reply(frame, "error", { reason: `join ${Topic.clientPrefix}<uuid>:<id> to send tasks` }), true);
        const push = this.parse(TaskPush, frame);
        if (!push) return true;
        // A refused task also has its error `result` already (scheduler.ts): the Python client reads no replies.
        const { task, refused } = this.options.scheduler.submit(channel, push, bytes, files);
        this.reply(
          frame,
          refused === null ? "ok" : "error",
          refused === null ? { task_id: task.id } : { reason: refused, task_id: task.id },
        );
        return true;
      }
      case ClientEvent.setValidation:
        // Bookkeeping only on a loopback cluster: checked, acknowledged, not stored.
        if (this.parse(SetValidation, frame)) this.reply(frame, "ok", {});
        return true;
      default:
        return false;
    }
  }

  private fromWorker(channel: Channel, frame: Frame, files?: Attachments): boolean {
    switch (frame.event) {
      case WorkerEvent.inputRequest: {
        const request = this.parse(InputRequest, frame);
        if (!request) return true;
        if (this.options.scheduler.offer(channel, request.tid) === "full") {
          this.reply(frame, "error", {
            reason: `this channel already holds ${this.options.maxSlotsPerWorker} slots (maxSlotsPerWorker); offer again when one is free`,
          });
        } else this.reply(frame, "ok", {});
        return true;
      }
      case WorkerEvent.result: {
        const result = this.parse(WorkerResult, frame);
        if (!result) return true;
        const delivered = this.options.scheduler.complete(channel, result, files);
        this.reply(frame, "ok", { delivered });
        if (delivered) this.sendStats(channel);
        return true;
      }
      default:
        return false;
    }
  }

  private parse<T>(schema: Schema<T>, frame: Frame): T | null {
    const parsed = schema.safeParse(frame.payload);
    if (parsed.success) return parsed.data;
    const reason = `invalid ${frame.event} payload: ${describeIssues(parsed.error)}`;
    this.options.log(reason);
    this.reply(frame, "error", { reason });
    return null;
  }

  private reply(frame: Frame, status: "ok" | "error", response: unknown): void {
    this.send({
      joinRef: frame.joinRef,
      ref: frame.ref,
      topic: frame.topic,
      event: PhxEvent.reply,
      payload: { status, response },
    });
  }

  private send(frame: Frame): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    this.corkTillTick();
    this.ws.send(encodeFrame(frame, this.options.vsn));
  }

  /** A binary push (no ref), written as pieces: a file's bytes pass through without being joined or copied here. */
  private sendBinary(joinRef: Ref, topic: string, event: string, pieces: Uint8Array[]): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    this.corkTillTick();
    const all = [binaryPushHead(joinRef, topic, event), ...pieces];
    // One WebSocket message in fragments, sent back to back, so nothing else can come between them.
    all.forEach((piece, i) => this.ws.send(piece, { binary: true, fin: i === all.length - 1 }));
  }

  /**
   * Frames to this socket from another socket's batch (tasks to a worker, results to a driver) go
   * out together at the end of this tick, not one system call each.
   */
  private corkTillTick(): void {
    if (this.corked) return;
    this.corked = true;
    this.transport.cork();
    process.nextTick(() => {
      this.corked = false;
      this.transport.uncork();
    });
  }

  private closeAll(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.idleTimer);
    for (const channel of [...this.channels.values()]) {
      try {
        this.leave(channel);
      } catch (err) {
        this.options.log(`error closing ${channel.topic}: ${(err as Error).stack ?? String(err)}`);
      }
    }
  }
}

/** Whether a join payload asks for `field` (`{"bundle_refs": 1}`, `{"binary_files": 1}`; docs/protocol.md). */
function asksFor(payload: unknown, field: string): boolean {
  return typeof payload === "object" && payload !== null && Boolean((payload as Record<string, unknown>)[field]);
}
