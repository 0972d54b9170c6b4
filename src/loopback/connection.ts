/**
 * One WebSocket of the loopback cluster: Phoenix frames in, channel joins and
 * leaves, heartbeats, and the domain events of PROTOCOL.md handed to the
 * scheduler. A driver socket (`/client_socket`) and a worker socket
 * (`/socket`) differ only in which topics and events they accept.
 */
import type { WebSocket } from "ws";
import { ClientEvent, type ClusterCounts, InputRequest, PHOENIX_TOPIC, PhxEvent, SetValidation, TaskPush, Topic, WorkerEvent, WorkerResult } from "../protocol/cluster.js";
import { describeIssues } from "../protocol/issues.js";
import type { User } from "./accounts.js";
import { decodeFrame, encodeFrame, FrameError, type Frame, type Ref, type Vsn } from "../protocol/frame.js";
import type { Peer, Scheduler } from "./scheduler.js";

export type Endpoint = "worker" | "client";

/** Any zod schema (classic or mini). */
type Schema<T> = { safeParse(value: unknown): { success: true; data: T } | { success: false; error: { issues: readonly { path: PropertyKey[]; message: string }[] } } };

export interface ConnectionOptions {
  endpoint: Endpoint;
  vsn: Vsn;
  user: User;
  scheduler: Scheduler;
  /** The cluster's statistics, pushed to a worker after each of its results. */
  counts: () => ClusterCounts;
  /** Close a socket silent for this long (production: 30 s). */
  idleTimeoutMs: number;
  log: (line: string) => void;
}

interface Channel extends Peer {
  joinRef: Ref;
  /** The lobby `room:client?` only answers the join; it holds no tasks. */
  lobby: boolean;
}

export class Connection {
  private channels = new Map<string, Channel>();
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly options: ConnectionOptions,
  ) {
    ws.on("message", (data, isBinary) => this.receive(isBinary ? null : data.toString()));
    ws.on("close", () => this.closeAll());
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

  private touch(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.options.log(`closing a silent ${this.options.endpoint} socket (no frame for ${this.options.idleTimeoutMs} ms)`);
      this.ws.close(1000, "heartbeat timeout");
      this.closeAll();
    }, this.options.idleTimeoutMs);
    this.idleTimer.unref();
  }

  private receive(text: string | null): void {
    this.touch();
    if (text === null) {
      this.options.log("ignored a binary frame: this cluster speaks JSON frames only");
      return;
    }
    let frame: Frame;
    try {
      frame = decodeFrame(text, this.options.vsn);
    } catch (err) {
      if (!(err instanceof FrameError)) throw err;
      this.options.log(`ignored a malformed frame: ${err.message}`);
      return;
    }
    if (frame.topic === PHOENIX_TOPIC && frame.event === PhxEvent.heartbeat) return this.reply(frame, "ok", {});
    if (frame.event === PhxEvent.join) return this.join(frame);
    const channel = this.channels.get(frame.topic);
    if (!channel) return this.reply(frame, "error", { reason: "unmatched topic" });
    if (frame.event === PhxEvent.leave) {
      this.reply(frame, "ok", {});
      return this.leave(channel);
    }
    this.handle(channel, frame);
  }

  private join(frame: Frame): void {
    const { topic } = frame;
    const lobby = this.options.endpoint === "client" && topic === Topic.clientLobby;
    const prefix = this.options.endpoint === "client" ? Topic.clientPrefix : Topic.workerPrefix;
    if (!lobby && !topic.startsWith(prefix)) return this.reply(frame, "error", { reason: "unmatched topic" });
    if (!lobby && topic.slice(prefix.length).split(":")[0] !== this.options.user.uuid) {
      return this.reply(frame, "error", { reason: "unauthorized" });
    }
    // Phoenix semantics: joining a topic again replaces the earlier join.
    const previous = this.channels.get(topic);
    if (previous) this.leave(previous);
    const channel: Channel = {
      topic,
      joinRef: frame.joinRef ?? frame.ref,
      lobby,
      push: (event, payload) => this.send({ joinRef: channel.joinRef, ref: null, topic, event, payload }),
    };
    this.channels.set(topic, channel);
    this.reply(frame, "ok", lobby ? { uuid: this.options.user.uuid } : {});
  }

  private leave(channel: Channel): void {
    if (this.channels.get(channel.topic) !== channel) return;
    this.channels.delete(channel.topic);
    if (channel.lobby) return;
    if (this.options.endpoint === "client") this.options.scheduler.driverLeft(channel);
    else this.options.scheduler.workerLeft(channel);
  }

  private handle(channel: Channel, frame: Frame): void {
    const handled = this.options.endpoint === "client" ? this.fromDriver(channel, frame) : this.fromWorker(channel, frame);
    if (!handled) this.reply(frame, "error", { reason: `unknown event "${frame.event}" on ${this.options.endpoint} socket` });
  }

  private fromDriver(channel: Channel, frame: Frame): boolean {
    switch (frame.event) {
      case ClientEvent.task: {
        const push = channel.lobby ? null : this.parse(TaskPush, frame);
        if (channel.lobby) this.reply(frame, "error", { reason: `join ${Topic.clientPrefix}<uuid>:<id> to send tasks` });
        else if (push) this.reply(frame, "ok", { task_id: this.options.scheduler.submit(channel, push).id });
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

  private fromWorker(channel: Channel, frame: Frame): boolean {
    switch (frame.event) {
      case WorkerEvent.inputRequest: {
        const request = this.parse(InputRequest, frame);
        if (!request) return true;
        this.options.scheduler.offer(channel, request.tid);
        this.reply(frame, "ok", {});
        return true;
      }
      case WorkerEvent.result: {
        const result = this.parse(WorkerResult, frame);
        if (!result) return true;
        const delivered = this.options.scheduler.complete(channel, result);
        this.reply(frame, "ok", { delivered });
        if (delivered) channel.push(WorkerEvent.stats, { uid: this.options.user.uuid, type: "stats", body: this.options.counts() });
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
    this.send({ joinRef: frame.joinRef, ref: frame.ref, topic: frame.topic, event: PhxEvent.reply, payload: { status, response } });
  }

  private send(frame: Frame): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(encodeFrame(frame, this.options.vsn));
  }

  private closeAll(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.idleTimer);
    for (const channel of [...this.channels.values()]) this.leave(channel);
  }
}
