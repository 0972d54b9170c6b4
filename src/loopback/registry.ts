/**
 * The local algorithm registry: a folder laid out `<name>/<version>/` holding
 * one `.wasm`, one `.js` loader and optionally one `.data.zip`. Answers the
 * marketplace's `GET /api/package_registry/algorithms/?name=` so a driver that
 * names `algorithm` + `algorithm_version` works offline.
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { RegistryResponse } from "../protocol/cluster.js";

/** URL path under which the registry's files are served. */
export const ALGORITHMS_PATH = "/algorithms/";

async function entries(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}

export async function lookup(root: string | null, name: string, origin: string): Promise<RegistryResponse> {
  if (!root || !name || name.includes("/") || name.startsWith(".")) return { data: [] };
  const versions = [];
  for (const version of (await entries(join(root, name))).sort()) {
    const files = await entries(join(root, name, version));
    const pick = (test: (f: string) => boolean) => files.find(test);
    const wasm = pick((f) => f.endsWith(".wasm"));
    const loader = pick((f) => f.endsWith(".js"));
    if (!wasm || !loader) continue;
    const data = pick((f) => f.endsWith(".data.zip"));
    const url = (file: string) => `${origin}${ALGORITHMS_PATH}${encodeURIComponent(name)}/${encodeURIComponent(version)}/${encodeURIComponent(file)}`;
    versions.push({ name: version, wasm_url: url(wasm), loader_url: url(loader), data_url: data ? url(data) : null });
  }
  return { data: versions.length ? [{ name, versions }] : [] };
}
