/** Options of `createWorker`, validated with zod, and the defaults a user would expect. */
import { z } from "zod/mini";
import { isLogger, resolveLogger, type Logger } from "./events.js";
import { PolicyOptions, resolveRules } from "./policy/options.js";
import { defaultThreads as threadsFor, MAX_THREADS, MIN_SHARE, type PolicyRules } from "./policy/rules.js";
import { deviceMemory } from "./policy/signals.js";
import { describeIssues, ErrorCode, MotivusError } from "motivus-protocol";

export const PRODUCTION_CLUSTER = "wss://waterbear.api.motivus.cl/socket";

// Half the cores, fewer on a device with little memory (policy/rules.ts).
const defaultThreads = () => threadsFor(globalThis.navigator?.hardwareConcurrency, deviceMemory());

const count = (min: number, max: number) => z.number().check(z.int(), z.gte(min), z.lte(max));

export const WorkerOptions = z.strictObject({
  /** The worker socket: `wss://host/socket` (or `…/socket/websocket`), or an http(s) origin of a loopback cluster. */
  cluster: z._default(z.string(), PRODUCTION_CLUSTER),
  /** A volunteer's token; without one a guest token is fetched. */
  token: z.optional(z.string().check(z.minLength(1))),
  /** Processing slots, one Web Worker each: 1 to MAX_THREADS (64). */
  threads: z.optional(count(1, MAX_THREADS)),
  /** A task running longer is ended and answered with an error. */
  deadlineMs: z._default(count(1, 2 ** 31 - 1), 5 * 60_000),
  /** A program that has not reached its main by then (loader, instantiation, data package) fails, saying what it waited for. */
  startupMs: z._default(count(1, 2 ** 31 - 1), 30_000),
  heartbeatIntervalMs: z._default(count(1, 25_000), 5_000),
  /** A task's data package (`data_link`) larger than this is refused. */
  maxDataLinkBytes: z._default(count(1, 2 ** 32), 256 * 1024 * 1024),
  /** Data packages kept across page loads (IndexedDB) up to this many bytes, least recently used first out. */
  cacheMaxBytes: z._default(count(0, 2 ** 42), 256 * 1024 * 1024),
  /** Busy fraction of each thread, from 0.05 (MIN_SHARE) to 1 (default 1): a thread rests between tasks to keep to it. */
  cpuShare: z._default(z.number().check(z.gte(MIN_SHARE), z.lte(1)), 1),
  /** When to take fewer or no tasks: hidden page, battery, compute pressure, other tabs, data saver (policy/options.ts). */
  policy: z.optional(PolicyOptions),
  /** Where the Web Worker runtime script is; default: `runtime.js` beside this library. */
  runtimeUrl: z.optional(z.string()),
  /** Element the hidden sandbox frame is attached to; default `document.body`. */
  container: z.optional(z.custom<Element>((v) => typeof Element !== "undefined" && v instanceof Element)),
  /**
   * Where the worker's warnings and errors go (a task for a slot it does not hold, a malformed message
   * from the cluster, a cache that stops persisting, a listener that threw): `{ warn, error }`, each
   * called with a message starting "motivus: " and sometimes the error. A level left out, or no logger,
   * goes to the console; `{ warn() {}, error() {} }` silences the worker.
   */
  logger: z.optional(z.custom<Partial<Logger>>(isLogger, { error: "expected an object with warn and error functions" })),
});
export type WorkerOptions = z.input<typeof WorkerOptions>;

export interface ResolvedConfig {
  socketUrl: string;
  httpOrigin: string;
  token: string | undefined;
  threads: number;
  deadlineMs: number;
  startupMs: number;
  heartbeatIntervalMs: number;
  maxDataLinkBytes: number;
  cacheMaxBytes: number;
  runtimeUrl: string | undefined;
  container: Element | undefined;
  cpuShare: number;
  policy: PolicyRules;
  logger: Logger;
}

export class OptionsError extends MotivusError {
  override name = "OptionsError";
  readonly code = ErrorCode.badOptions;
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
    startupMs: o.startupMs,
    heartbeatIntervalMs: o.heartbeatIntervalMs,
    maxDataLinkBytes: o.maxDataLinkBytes,
    cacheMaxBytes: o.cacheMaxBytes,
    runtimeUrl: o.runtimeUrl,
    container: o.container,
    cpuShare: o.cpuShare,
    policy: resolveRules(o.policy),
    logger: resolveLogger(o.logger),
  };
}
