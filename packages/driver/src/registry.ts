/**
 * Resolves `algorithm` + `algorithm_version` the way the Python client does:
 * ask the marketplace registry for the version's URLs, download the wasm and
 * the loader, inline them as base64. Each version is fetched once per client.
 */
import { ErrorCode, HttpPath, MotivusError, RegistryResponse, toBase64 } from "motivus-protocol";
import { TaskDefinitionError } from "./task-definition.js";

/** The algorithm registry could not be read (it answered an error, or nothing). */
export class RegistryError extends MotivusError {
  override name = "RegistryError";
  readonly code = ErrorCode.registryFailed;
}

/** One algorithm version as the registry gives it: its wasm and loader (base64) and its data package's link. */
export interface RegistryVersion {
  wasm: string;
  loader: string;
  dataLink: string | null;
}

export class Registry {
  private resolved = new Map<string, Promise<RegistryVersion>>();
  private readonly host: string;

  /**
   * `host`: an origin (`http://localhost:7070`) or, as the Python client's `ALGORITHM_REPO_HOST`
   * takes it, a bare `host:port`, to which that client adds `http://`; both work here.
   */
  constructor(host: string) {
    this.host = /^[a-z][a-z0-9+.-]*:\/\//i.test(host) ? host : `http://${host}`;
  }

  resolve(name: string, version: string): Promise<RegistryVersion> {
    const key = `${name}@${version}`;
    let bundle = this.resolved.get(key);
    if (!bundle) {
      bundle = this.fetchBundle(name, version);
      bundle.catch(() => this.resolved.delete(key));
      this.resolved.set(key, bundle);
    }
    return bundle;
  }

  private async fetchBundle(name: string, version: string): Promise<RegistryVersion> {
    const url = `${this.host.replace(/\/$/, "")}${HttpPath.registry}?name=${encodeURIComponent(name)}`;
    const listing = RegistryResponse.parse(await (await get(url)).json());
    const found = listing.data.flatMap((a) => a.versions).find((v) => v.name === version);
    if (!found) {
      const known = listing.data.flatMap((a) => a.versions.map((v) => v.name));
      throw new TaskDefinitionError(
        `algorithm ${name} has no version ${version} at ${this.host}` +
          (known.length ? ` (known: ${known.join(", ")})` : " (no such algorithm)"),
      );
    }
    const [wasm, loader] = await Promise.all(
      [found.wasm_url, found.loader_url].map(async (u) => toBase64(new Uint8Array(await (await get(u)).arrayBuffer()))),
    );
    return { wasm: wasm!, loader: loader!, dataLink: found.data_url || null };
  }
}

async function get(url: string): Promise<Response> {
  const res = await fetch(url).catch((err: Error) => {
    throw new RegistryError(`GET ${url} failed: ${err.message}`, { cause: err });
  });
  if (!res.ok) throw new RegistryError(`GET ${url} answered ${res.status}`);
  return res;
}
