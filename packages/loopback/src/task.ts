/** A task as the loopback cluster holds it, and the channels it moves between. */
import type { Attachments, TaskBody, TaskPush } from "motivus-protocol";
import type { TaskFiles } from "./bundle-store.js";

/** A joined channel the scheduler can push events to. */
export interface Peer {
  /** Unique per joined channel, for the server's lifetime: two sockets joining one topic are two peers. */
  readonly id: number;
  /** The channel topic, for logs. */
  readonly topic: string;
  /** A worker channel that may run `trusted_work` (accounts.ts says who is). */
  readonly trusted: boolean;
  /**
   * A worker: a task's body as this worker gets it (its links to the cluster on the origin it
   * reached the cluster by, links.ts; its bundle files by reference if it asked, bundle-store.ts);
   * absent: as the driver sent it.
   */
  bodyFor?(task: Task): TaskBody;
  /** It reads binary frames (it said so when it joined): files may go to it as bytes (attachments.ts). */
  readonly binaryFiles: boolean;
  /** `files`: sent beside the payload in one binary frame; only to a peer that reads them. */
  push(event: string, payload: unknown, files?: Attachments): void;
}

export interface Task {
  readonly id: number;
  readonly driver: Peer;
  readonly push: TaskPush;
  /** The length of the frame it came in, counted against `maxQueuedBytes`. */
  readonly bytes: number;
  /** Its preload files, when they came as bytes in a binary frame (its body names them with empty strings). */
  readonly attached?: Attachments;
  readonly queuedAt: number;
  /** Its inline wasm and loader, held in the bundle store from admission until it leaves the cluster. */
  files?: TaskFiles;
  dispatchedAt?: number;
  /** How many times it was handed to a worker. */
  attempts: number;
  /** Where it runs now, if it does. */
  run?: Run;
}

export interface Run {
  readonly worker: Peer;
  readonly tid: string;
  readonly lease: NodeJS.Timeout;
}
