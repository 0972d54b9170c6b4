/**
 * The Waterbear wire protocol (docs/protocol.md): every topic, event name and
 * payload that crosses a cluster socket, as constants and zod schemas with the
 * types inferred from them. Inbound JSON is parsed with these at the boundary;
 * nothing past it sees raw JSON. Unknown extra fields are tolerated (zod
 * objects strip them; `looseObject` keeps them where a payload is passed on
 * untouched). `zod/mini` because these schemas ship in the page's bundle.
 */
import { z } from "zod/mini";

/** Phoenix channel events that are part of the transport, not the domain. */
export const PhxEvent = {
  join: "phx_join",
  leave: "phx_leave",
  reply: "phx_reply",
  error: "phx_error",
  close: "phx_close",
  heartbeat: "heartbeat",
} as const;

/** The Phoenix socket's own topic, for heartbeats. */
export const PHOENIX_TOPIC = "phoenix";

/** Domain events on the worker socket (`/socket`). */
export const WorkerEvent = {
  /** worker → cluster: offer one processing slot. */
  inputRequest: "input_request",
  /** cluster → worker: a task for an offered slot. */
  input: "input",
  /** worker → cluster: a task's answer. */
  result: "result",
  /** cluster → worker: stop a task, send nothing. */
  abortTask: "abort_task",
  /** cluster → worker: statistics, display only. */
  stats: "stats",
} as const;

/** Domain events on the driver socket (`/client_socket`). */
export const ClientEvent = {
  /** driver → cluster: run a task. */
  task: "task",
  /** cluster → driver: a task's answer. */
  result: "result",
  /** driver → cluster: grade a result (bookkeeping). */
  setValidation: "set_validation",
} as const;

/** Socket paths, relative to the cluster's origin. */
export const SocketPath = {
  worker: "/socket/websocket",
  client: "/client_socket/websocket",
} as const;

/** HTTP routes a worker and a driver use. */
export const HttpPath = {
  guestToken: "/auth/guest",
  user: "/api/user",
  registry: "/api/package_registry/algorithms/",
} as const;

const base64 = z.string();
const fileMap = z.record(z.string(), z.string());

/**
 * *ours*: a bundle file (wasm or loader) by reference, in place of its inline base64, for a worker that
 * announced `BUNDLE_REFS` when it joined (docs/protocol.md, "Bundles by reference"). The bytes are at
 * `url`, on the cluster's origin (a path, resolved there, or an absolute URL); their SHA-256 (hex) and
 * size say what they must be.
 */
export const BundleFileRef = z.object({
  sha256: z.string().check(z.regex(/^[0-9a-f]{64}$/)),
  size: z.number().check(z.int(), z.gte(0)),
  url: z.string(),
});
export type BundleFileRef = z.infer<typeof BundleFileRef>;

/** *ours*: the worker's join payload field that asks for bundles by reference (a real cluster ignores it). */
export const BUNDLE_REFS = "bundle_refs";
/** *ours*: where the loopback cluster serves the bundle files it keeps, by SHA-256: `<path><sha256>`. */
export const BUNDLE_STORE_PATH = "/api/loopback/bundles/";
/**
 * *ours*: the field of the driver channel's join reply by which a cluster says it keeps bundle files
 * a driver uploads (`PUT <path><sha256>?kind=wasm|loader`), its value the store's path on the
 * cluster's origin. Only then does a driver send `wasm_ref` / `loader_ref`; a real Waterbear cluster
 * replies `{}`, and gets the bytes inline.
 */
export const BUNDLE_STORE = "bundle_store";

/** The `body` of a task: what the driver asks a worker to run. */
export const TaskBody = z.looseObject({
  run_type: z.nullish(z.string()),
  params: z.nullish(z.array(z.unknown())),
  arguments: z.nullish(z.union([z.string(), z.array(z.string())])),
  preload_files: z.nullish(fileMap),
  result_files: z.nullish(fileMap),
  wasm: z.nullish(base64),
  loader: z.nullish(base64),
  /** *ours*: `wasm` by reference (then `wasm` is absent). */
  wasm_ref: z.optional(BundleFileRef),
  /** *ours*: `loader` by reference (then `loader` is absent). */
  loader_ref: z.optional(BundleFileRef),
  data_link: z.nullish(z.string()),
  /** *ours*: the export to call instead of `main` (wasm-bindgen). */
  entry: z.nullish(z.string()),
  processing_base_time: z.nullish(z.number()),
  flops: z.nullish(z.number()),
  flop: z.nullish(z.number()),
});
export type TaskBody = z.infer<typeof TaskBody>;

export const TaskType = z.enum(["work", "trusted_work"]);
export type TaskType = z.infer<typeof TaskType>;

/** Driver → cluster, event `task`. */
export const TaskPush = z.looseObject({
  body: TaskBody,
  type: z._default(TaskType, "work"),
  ref: z.string(),
  client_id: z.nullish(z.string()),
});
export type TaskPush = z.infer<typeof TaskPush>;

/** Worker → cluster, event `input_request`: offer one processing slot. */
const tid = z.string().check(z.minLength(1));

export const InputRequest = z.object({ tid });
export type InputRequest = z.infer<typeof InputRequest>;

/** Cluster → worker, event `input`: a task matched to an offered slot. */
export const Input = z.looseObject({
  tid,
  type: z._default(z.string(), "work"),
  body: TaskBody,
});
export type Input = z.infer<typeof Input>;

/** Worker → cluster, event `result`. `body` is base64(gzip(JSON)). */
export const WorkerResult = z.object({
  tid,
  type: z._default(z.literal("response"), "response"),
  body: base64,
  stdout: z.nullable(base64),
  stderr: z.nullable(base64),
  /** *ours*: the failure in one line, so a cluster can log it without unpacking the body. */
  error: z.optional(z.nullable(z.string())),
});
export type WorkerResult = z.infer<typeof WorkerResult>;

/** Cluster → driver, event `result`. */
export const DriverResult = z.looseObject({
  type: z.string(),
  body: base64,
  stdout: z.nullable(base64),
  stderr: z.nullable(base64),
  ref: z.string(),
  task_id: z.union([z.number(), z.string()]),
});
export type DriverResult = z.infer<typeof DriverResult>;

/** Cluster → worker, event `abort_task`. */
export const AbortTask = z.object({ tid });
export type AbortTask = z.infer<typeof AbortTask>;

/** Cluster → worker, event `stats`: display only. */
export const Stats = z.looseObject({
  uid: z.nullish(z.union([z.string(), z.number()])),
  type: z.optional(z.literal("stats")),
  body: z.record(z.string(), z.unknown()),
});
export type Stats = z.infer<typeof Stats>;

/** Driver → cluster, event `set_validation`. */
export const SetValidation = z.looseObject({
  is_valid: z.boolean(),
  task_id: z.union([z.number(), z.string()]),
  client_id: z.nullish(z.string()),
});

/** `GET /api/user`. */
export const UserResponse = z.object({
  data: z.looseObject({ uuid: z.string(), is_guest: z.optional(z.boolean()) }),
});

/** `POST /auth/guest`. */
export const GuestResponse = z.object({ token: z.string().check(z.minLength(1)) });

/** `GET <registry>/api/package_registry/algorithms/?name=`. */
export const RegistryResponse = z.object({
  data: z.array(
    z.looseObject({
      name: z.optional(z.string()),
      versions: z.array(
        z.looseObject({
          name: z.string(),
          wasm_url: z.string(),
          loader_url: z.string(),
          data_url: z.nullish(z.string()),
        }),
      ),
    }),
  ),
});
export type RegistryResponse = z.infer<typeof RegistryResponse>;

/**
 * The decoded result body: `data` plus one base64 entry per result file; on failure `error`
 * and *ours* `error_code` (see protocol/errors.ts).
 */
export type ResultContent = { data?: unknown; error?: string; error_code?: number } & Record<string, unknown>;

const WORKER_PREFIX = "room:worker:";
const CLIENT_PREFIX = "room:client:";

/** Topics. A channel id is `<user uuid>:<random uuid>`. */
export const Topic = {
  workerPrefix: WORKER_PREFIX,
  clientLobby: "room:client?",
  clientPrefix: CLIENT_PREFIX,
  worker: (userUuid: string, id: string) => `${WORKER_PREFIX}${userUuid}:${id}`,
  client: (userUuid: string, id: string) => `${CLIENT_PREFIX}${userUuid}:${id}`,
} as const;

/** Cluster statistics, one shape on the `stats` event and over HTTP (`/api/loopback/stats`). */
export interface ClusterCounts {
  drivers: number;
  workers: number;
  offered_slots: number;
  queued: number;
  running: number;
  done: number;
  failed: number;
  aborted: number;
  requeued: number;
}
