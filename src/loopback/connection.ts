/**
 * One WebSocket of the loopback cluster: Phoenix frames in, channel joins and
 * leaves, heartbeats, and the domain events of PROTOCOL.md handed to the
 * scheduler. A driver socket (`/client_socket`) and a worker socket
 * (`/socket`) differ only in which topics and events they accept.
 */
import type { WebSocket } from "ws";
import { describeIssues, InputRequest, PhxEvent, SetValidation, TaskPush, Topic, WorkerResult } from "../cluster/protocol.js";
import type { User } from "./accounts.js";
import { decodeFrame, encodeFrame, FrameError, type Frame, type Ref, type Vsn } from "./frame.js";
import type { Peer, Scheduler } from "./scheduler.js";

export type Endpoint = "worker" | "client";

/** Any zod schema (classic or mini). */
type Schema<T> = { safeParse(value: unknown): { success: true; data: T } | { success: false; error: { issues: readonly { path: PropertyKey[]; message: string }[] } } };

export interface ConnectionOptions {
  endpoint: Endpoint;
  vsn: Vsn;
  user: User;
  scheduler: Scheduler;
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
    if (frame.topic === "phoenix" && frame.event === PhxEvent.heartbeat) return this.reply(frame, "ok", {});
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
    const { scheduler } = this.options;
    const route = `${this.options.endpoint}:${frame.event}`;
    switch (route) {
      case "client:task": {
        if (channel.lobby) return this.reply(frame, "error", { reason: "join room:client:<uuid>:<id> to send tasks" });
        const push = this.parse(TaskPush, frame);
        if (!push) return;
        const task = scheduler.submit(channel, push);
        return this.reply(frame, "ok", { task_id: task.id });
      }
      case "client:set_validation":
        // Bookkeeping only on a loopback cluster: checked, acknowledged, not stored.
        return void (this.parse(SetValidation, frame) && this.reply(frame, "ok", {}));
      case "worker:input_request": {
        const request = this.parse(InputRequest, frame);
        if (!request) return;
        scheduler.offer(channel, request.tid);
        return this.reply(frame, "ok", {});
      }
      case "worker:result": {
        const result = this.parse(WorkerResult, frame);
        if (!result) return;
        const delivered = scheduler.complete(channel, result);
        this.reply(frame, "ok", { delivered });
        if (delivered) channel.push("stats", { uid: this.options.user.uuid, type: "stats", body: scheduler.counts() });
        return;
      }
      default:
        return this.reply(frame, "error", { reason: `unknown event "${frame.event}" on ${this.options.endpoint} socket` });
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
