/**
 * The local algorithm registry: a folder laid out `<name>/<version>/` holding
 * one `.wasm`, one `.js` loader and optionally one `.data.zip`; a version with a
 * `.wasm` and no loader is a WASI command module, served with an empty loader
 * (docs/protocol.md). Answers the
 * marketplace's `GET /api/package_registry/algorithms/?name=` so a driver that
 * names `algorithm` + `algorithm_version` works offline.
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { RegistryResponse } from "motivus-protocol";

/** URL path under which the registry's files are served. */
export const ALGORITHMS_PATH = "/algorithms/";

/** The loader of every WASI algorithm: zero bytes. */
export const EMPTY_LOADER_PATH = "/api/loopback/empty-loader.js";

async function entries(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}

/**
 * `origin`: where the asker reached the registry (its Host), for `wasm_url` and `loader_url`, which
 * the driver downloads itself. `dataOrigin`: one of the cluster's own origins, for `data_url`, which
 * a driver only passes on as a task's `data_link`: the cluster hands it to each worker on the origin
 * that worker reached it by (links.ts), so every worker can fetch it.
 */
export async function lookup(root: string | null, name: string, origin: string, dataOrigin = origin): Promise<RegistryResponse> {
  if (!root || !name || name.includes("/") || name.startsWith(".")) return { data: [] };
  const versions = [];
  for (const version of (await entries(join(root, name))).sort()) {
    const files = await entries(join(root, name, version));
    const pick = (test: (f: string) => boolean) => files.find(test);
    const wasm = pick((f) => f.endsWith(".wasm"));
    const loader = pick((f) => f.endsWith(".js"));
    if (!wasm) continue;
    const data = pick((f) => f.endsWith(".data.zip"));
    const path = (file: string) =>
      `${ALGORITHMS_PATH}${encodeURIComponent(name)}/${encodeURIComponent(version)}/${encodeURIComponent(file)}`;
    versions.push({
      name: version,
      wasm_url: origin + path(wasm),
      loader_url: origin + (loader ? path(loader) : EMPTY_LOADER_PATH),
      data_url: data ? dataOrigin + path(data) : null,
    });
  }
  return { data: versions.length ? [{ name, versions }] : [] };
}
