/**
 * Turn a task from the cluster into what a runner needs: bytes instead of
 * base64, the data package fetched, arguments in their final order, and the
 * algorithm's content key. A worker that already runs this algorithm gets the
 * key alone: nothing of the bundle is decoded, hashed or copied for it again.
 */
import { ErrorCode, fromBase64, type Input, MotivusError } from "motivus-protocol";
import type { DataLinks } from "../cache/data-links.js";
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

export interface PreparedTask {
  task: RunnerTask;
  transfer: Transferable[];
  /** Which algorithm this is (wasm and loader keys): a worker only ever runs one. */
  bundle: string;
}

export interface PrepareContext {
  dataLinks: DataLinks;
  keys: BundleKeys;
  /** The algorithm the slot's worker already holds, if any. */
  warm: string | null;
  startupMs: number;
}

export async function prepareTask(input: Input, { dataLinks, keys, warm, startupMs }: PrepareContext): Promise<PreparedTask> {
  const { body } = input;
  if (body.run_type && body.run_type !== "wasm")
    throw new TaskRefused(`run_type "${body.run_type}" is not supported; this worker runs "wasm"`);
  // An empty wasm with a loader: the loader carries its wasm inside (SINGLE_FILE).
  if (body.wasm == null || (body.wasm === "" && !body.loader)) throw new TaskRefused("the task has no wasm");
  // An empty loader is a WASI command module's (docs/protocol.md).
  const { wasm: wasm64 } = body;
  const loader64 = body.loader ?? "";
  const [wasmKey, loaderKey] = await Promise.all([
    keys.of(wasm64, () => decode(wasm64, "wasm")),
    keys.of(loader64, () => decode(loader64, "loader")),
  ]);
  const key = `${wasmKey}/${loaderKey}`;
  const bundle: BundleRef =
    key === warm
      ? { key, wasm: null, loader: null }
      : { key, wasm: decode(wasm64, "wasm").buffer as ArrayBuffer, loader: new TextDecoder().decode(decode(loader64, "loader")) };
  const preloadFiles: Record<string, ArrayBuffer> = {};
  for (const [path, contents] of Object.entries(body.preload_files ?? {})) {
    preloadFiles[path] = decode(contents, `preload file ${path}`).buffer as ArrayBuffer;
  }
  const dataLink = body.data_link || null;
  // A copy, so transferring it does not empty the cache.
  const dataZip = dataLink ? (await dataPackage(dataLinks, dataLink)).slice(0) : null;
  // The legacy adapter's other fields; its wasm, loader and preload files are rebuilt from the bytes only
  // when a legacy bundle runs, so no big payload crosses to the worker twice. A null or empty
  // preload_files stays as the cluster sent it: the adapter gets exactly the fields it was sent.
  const { loader: _loader, wasm: _wasm, preload_files: preload, ...rest } = body;
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
    startupMs,
    legacyBody,
  };
  const transfer = [...(bundle.wasm ? [bundle.wasm] : []), ...Object.values(preloadFiles), ...(dataZip ? [dataZip] : [])];
  return { task, transfer, bundle: key };
}
