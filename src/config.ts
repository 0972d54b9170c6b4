/** Options of `createWorker`, validated with zod, and the defaults a user would expect. */
import { z } from "zod/mini";
import { describeIssues } from "./protocol/issues.js";

export const PRODUCTION_CLUSTER = "wss://waterbear.api.motivus.cl/socket";

const defaultThreads = () => Math.max(1, Math.floor((globalThis.navigator?.hardwareConcurrency ?? 2) / 2));

const count = (min: number, max: number) => z.number().check(z.int(), z.gte(min), z.lte(max));

export const WorkerOptions = z.strictObject({
  /** The worker socket: `wss://host/socket` (or `…/socket/websocket`), or an http(s) origin of a loopback cluster. */
  cluster: z._default(z.string(), PRODUCTION_CLUSTER),
  /** A volunteer's token; without one a guest token is fetched. */
  token: z.optional(z.string().check(z.minLength(1))),
  /** Processing slots, one Web Worker each. */
  threads: z.optional(count(1, 64)),
  /** A task running longer is ended and answered with an error. */
  deadlineMs: z._default(count(1, 2 ** 31 - 1), 5 * 60_000),
  heartbeatIntervalMs: z._default(count(1, 25_000), 5_000),
  /** A task's data package (`data_link`) larger than this is refused. */
  maxDataLinkBytes: z._default(count(1, 2 ** 32), 256 * 1024 * 1024),
  /** Where the Web Worker runtime script is; default: `runtime.js` beside this library. */
  runtimeUrl: z.optional(z.string()),
  /** Element the hidden sandbox frame is attached to; default `document.body`. */
  container: z.optional(z.custom<Element>((v) => typeof Element !== "undefined" && v instanceof Element)),
});
export type WorkerOptions = z.input<typeof WorkerOptions>;

export interface ResolvedConfig {
  socketUrl: string;
  httpOrigin: string;
  token: string | undefined;
  threads: number;
  deadlineMs: number;
  heartbeatIntervalMs: number;
  maxDataLinkBytes: number;
  runtimeUrl: string | undefined;
  container: Element | undefined;
}

export class OptionsError extends Error {
  override name = "OptionsError";
}

export function resolveConfig(input: WorkerOptions = {}): ResolvedConfig {
  const parsed = WorkerOptions.safeParse(input);
  if (!parsed.success) {
    throw new OptionsError(`invalid motivus worker options: ${describeIssues(parsed.error)}`);
  }
  const o = parsed.data;
  let url: URL;
  try {
    url = new URL(o.cluster);
  } catch {
    throw new OptionsError(`cluster: "${o.cluster}" is not a URL; use wss://host/socket or http://localhost:7070`);
  }
  const secure = url.protocol === "wss:" || url.protocol === "https:";
  let path = url.pathname.replace(/\/websocket\/?$/, "").replace(/\/$/, "");
  if (url.protocol.startsWith("http") && path === "") path = "/socket";
  return {
    socketUrl: `${secure ? "wss" : "ws"}://${url.host}${path}`,
    httpOrigin: `${secure ? "https" : "http"}://${url.host}`,
    token: o.token,
    threads: o.threads ?? defaultThreads(),
    deadlineMs: o.deadlineMs,
    heartbeatIntervalMs: o.heartbeatIntervalMs,
    maxDataLinkBytes: o.maxDataLinkBytes,
    runtimeUrl: o.runtimeUrl,
    container: o.container,
  };
}
