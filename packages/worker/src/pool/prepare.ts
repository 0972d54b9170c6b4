/**
 * Turn a task from the cluster into what a runner needs: bytes instead of
 * base64 or references, the data package fetched, arguments in their final
 * order, and the algorithm's content key. A worker that already runs this
 * algorithm gets the key alone: nothing of the bundle is decoded, hashed,
 * fetched or copied for it again.
 */
import {
  AttachedField,
  type Attachments,
  type BundleFileRef,
  ErrorCode,
  fromBase64,
  type Input,
  MotivusError,
  ownBuffer,
  type TaskBody,
} from "motivus-protocol";
import type { BundleFiles } from "../cache/bundle-files.js";
import type { DataLinks } from "../cache/data-links.js";
import { Unreachable } from "../cache/download.js";
import type { BundleRef, RunnerTask } from "../messages/runner.js";
import type { BundleKeys } from "./bundle-keys.js";

/** A task this worker will not run as it was sent: the sender's doing, answered with code `refused`. */
export class TaskRefused extends MotivusError {
  override name = "TaskRefused";
  readonly code = ErrorCode.refused;
}

function decode(base64: string, what: string): Uint8Array {
  try {
    return fromBase64(base64);
  } catch {
    throw new TaskRefused(`${what} is not valid base64`);
  }
}

/** A data_link the link policy refuses, or that cannot be fetched, is the task's problem: a refusal. */
async function dataPackage(dataLinks: DataLinks, link: string): Promise<ArrayBuffer> {
  try {
    return await dataLinks.get(link);
  } catch (err) {
    throw new TaskRefused((err as Error).message, { cause: err });
  }
}

/** docs/protocol.md ("Algorithm bundles"): `arguments` (a string split on whitespace, or a list), then `params`, JSON-encoded unless strings. */
export function argumentList(args: string | string[] | null | undefined, params: unknown[] | null | undefined): string[] {
  const given = typeof args === "string" ? args.split(/\s+/).filter(Boolean) : (args ?? []);
  return [...given, ...(params ?? []).map((p) => (typeof p === "string" ? p : JSON.stringify(p)))];
}

/**
 * The cluster's own file could not be fetched: no answer came. Whether the task is lost (the cluster
 * went away with the connection) or refused (it is up, and its file is not) is the pool's to tell.
 */
export class ClusterUnreachable extends MotivusError {
  override name = "ClusterUnreachable";
  readonly code = ErrorCode.lost;
}

/** A referenced bundle file that is not what its reference says, or that the cluster will not serve, is the task's problem: a refusal. */
async function bundleFile(files: BundleFiles | undefined, ref: BundleFileRef, what: string): Promise<Uint8Array> {
  if (!files) throw new TaskRefused(`the task sends its ${what} by reference, and this worker fetches none`);
  try {
    return new Uint8Array(await files.get(ref));
  } catch (err) {
    const message = `the task's ${what}: ${(err as Error).message}`;
    throw err instanceof Unreachable ? new ClusterUnreachable(message, { cause: err }) : new TaskRefused(message, { cause: err });
  }
}

/** One file of a bundle as the task gives it: its content key at once, its bytes only when asked for. */
interface GivenFile {
  key: Promise<string>;
  bytes: () => Promise<Uint8Array>;
}

/** Inline base64 wins over a reference; a reference's key is its SHA-256, so a warm worker needs nothing fetched. */
function givenFile(
  inline: string | null | undefined,
  ref: BundleFileRef | undefined,
  what: string,
  context: PrepareContext,
): GivenFile {
  if (inline == null && ref) return { key: Promise.resolve(ref.sha256), bytes: () => bundleFile(context.bundleFiles, ref, what) };
  const base64 = inline ?? "";
  return { key: context.keys.of(base64, () => decode(base64, what)), bytes: async () => decode(base64, what) };
}

/** The task's program: its content key, and its bytes unless the slot's worker already runs it. */
async function bundleOf(body: TaskBody, context: PrepareContext): Promise<BundleRef> {
  // An empty wasm with a loader: the loader carries its wasm inside (SINGLE_FILE).
  const hasLoader = Boolean(body.loader) || (body.loader == null && body.loader_ref !== undefined);
  if ((body.wasm == null && !body.wasm_ref) || (body.wasm === "" && !hasLoader)) throw new TaskRefused("the task has no wasm");
  const wasm = givenFile(body.wasm, body.wasm_ref, "wasm", context);
  // An empty loader is a WASI command module's (docs/protocol.md); it is never sent by reference.
  const loader = givenFile(body.loader, body.loader_ref, "loader", context);
  const key = (await Promise.all([wasm.key, loader.key])).join("/");
  if (key === context.warm) return { key, wasm: null, loader: null };
  const [wasmBytes, loaderBytes] = await Promise.all([wasm.bytes(), loader.bytes()]);
  return { key, wasm: wasmBytes.buffer as ArrayBuffer, loader: new TextDecoder().decode(loaderBytes) };
}

export interface PreparedTask {
  task: RunnerTask;
  transfer: Transferable[];
  /** Which algorithm this is (wasm and loader keys): a worker only ever runs one. */
  bundle: string;
}

export interface PrepareContext {
  dataLinks: DataLinks;
  /** Where files sent by reference come from; without it such a task is refused. */
  bundleFiles?: BundleFiles;
  keys: BundleKeys;
  /** The algorithm the slot's worker already holds, if any. */
  warm: string | null;
  startupMs: number;
  /** Result files go back as bytes, not base64 (the cluster reads binary frames). */
  attachResults?: boolean;
}

/** `attached`: files that came beside the task in a binary frame; its `preload_files` name them with empty strings. */
export async function prepareTask(input: Input, context: PrepareContext, attached?: Attachments): Promise<PreparedTask> {
  const { body } = input;
  if (body.run_type && body.run_type !== "wasm")
    throw new TaskRefused(`run_type "${body.run_type}" is not supported; this worker runs "wasm"`);
  const bundle = await bundleOf(body, context);
  const { key } = bundle;
  const preloadFiles: Record<string, ArrayBuffer> = {};
  const bytesOf = attached?.[AttachedField.preload] ?? {};
  for (const [path, contents] of Object.entries(body.preload_files ?? {})) {
    const bytes = bytesOf[path];
    preloadFiles[path] = bytes ? ownBuffer(bytes) : (decode(contents, `preload file ${path}`).buffer as ArrayBuffer);
  }
  const dataLink = body.data_link || null;
  // A copy, so transferring it does not empty the cache.
  const dataZip = dataLink ? (await dataPackage(context.dataLinks, dataLink)).slice(0) : null;
  // The legacy adapter's other fields; its wasm, loader and preload files are rebuilt from the bytes only
  // when a legacy bundle runs, so no big payload crosses to the worker twice. A null or empty
  // preload_files stays as the cluster sent it: the adapter gets exactly the fields it was sent (and
  // no references: the original worker never passed any on).
  const { loader: _loader, wasm: _wasm, wasm_ref: _wasmRef, loader_ref: _loaderRef, preload_files: preload, ...rest } = body;
  const legacyBody: Record<string, unknown> =
    "preload_files" in body && Object.keys(preload ?? {}).length === 0 ? { ...rest, preload_files: preload } : rest;
  const task: RunnerTask = {
    tid: input.tid,
    bundle,
    dataZip,
    dataLink,
    args: argumentList(body.arguments, body.params),
    params: body.params ?? [],
    preloadFiles,
    resultFiles: Object.keys(body.result_files ?? {}),
    entry: body.entry ?? null,
    startupMs: context.startupMs,
    attachResults: context.attachResults === true,
    legacyBody,
  };
  const transfer = [...(bundle.wasm ? [bundle.wasm] : []), ...Object.values(preloadFiles), ...(dataZip ? [dataZip] : [])];
  return { task, transfer, bundle: key };
}
