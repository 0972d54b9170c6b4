/**
 * The driver's one door into `phoenix` internals: what the client does that phoenix.mjs has but its
 * published types do not (a frame pushed with no per-push binding, the ref a reply answers). Each is
 * checked against the installed release by test/unit/phoenix-contract.test.ts, and package.json pins
 * that release exactly: a phoenix upgrade that changes one fails that test, not a user's tasks.
 */
import type { Channel, Socket } from "phoenix";
import { PhxEvent } from "motivus-protocol";

/** The cluster's reply to a push. */
export interface PushReply {
  status?: string;
  response?: { reason?: string };
}

/** One outgoing frame, as phoenix's socket takes it (it encodes it for the socket's serializer version). */
export interface OutgoingFrame {
  topic: string;
  event: string;
  payload: object;
  ref: string;
  join_ref: string;
}

/** What the adapter uses of a Socket beyond its types: `push` takes the frame's channel too. */
export interface SocketInternals {
  /** Sends the frame now when connected, else buffers it; phoenix drops it if its channel has rejoined or closed since. */
  push(frame: OutgoingFrame, channel: Channel): void;
  makeRef(): string;
}

/** What the adapter uses of a Channel beyond its types. */
export interface ChannelInternals {
  /** The ref of the channel's current join: a frame carries it as `join_ref`. */
  joinRef(): string;
  /** Bindings are called with the frame's ref after its payload. */
  on(event: string, callback: (payload: unknown, ref: string) => void): number;
}

/** Frames on one joined channel, each matched to its reply by the frame's ref. */
export interface FrameChannel {
  /** Sends `event` as one frame; its ref, which the reply will carry. */
  push(event: string, payload: object): string;
  /** Every reply on the channel, with the ref of the frame it answers (joins' and leaves' replies too). */
  onReply(callback: (reply: PushReply, ref: string) => void): void;
}

/**
 * Not `channel.push`: that keeps a binding per push until its reply, and every frame the channel
 * receives scans them all, so 5,000 tasks in flight made the driver quadratic. One reply binding and
 * a map by frame ref (the caller's) do the same.
 */
export function frameChannel(socket: Socket, channel: Channel): FrameChannel {
  const sockets = socket as unknown as SocketInternals;
  const channels = channel as unknown as ChannelInternals;
  return {
    push(event, payload) {
      const ref = sockets.makeRef();
      sockets.push({ topic: channel.topic, event, payload, ref, join_ref: channels.joinRef() }, channel);
      return ref;
    },
    onReply(callback) {
      channels.on(PhxEvent.reply, (payload, ref) => callback(payload as PushReply, ref));
    },
  };
}
