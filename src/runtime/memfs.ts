/** The task's files in Emscripten's in-memory filesystem: written before the run, read back after. */
import { toBase64 } from "../protocol/body.js";
import { RunnerError, describe } from "./errors.js";
import { RuntimeErrorCode } from "../protocol/runner.js";

/** The part of Emscripten's `FS` we use (exported with `EXPORTED_RUNTIME_METHODS=FS`). */
export interface EmscriptenFS {
  mkdir(path: string): unknown;
  writeFile(path: string, data: Uint8Array): void;
  readFile(path: string): Uint8Array;
  analyzePath(path: string): { exists: boolean };
}

/** Writes each file, creating its parent directories first. */
export function writeFiles(fs: EmscriptenFS, files: Record<string, ArrayBuffer>): void {
  for (const [path, contents] of Object.entries(files)) {
    try {
      makeParents(fs, path);
      fs.writeFile(path, new Uint8Array(contents));
    } catch (error) {
      throw new RunnerError(RuntimeErrorCode.algorithmFailed, `cannot write preload file ${path}: ${describe(error)}${errnoOf(error)}`);
    }
  }
}

/** Emscripten's FS.ErrnoError says only "FS error"; its errno is the useful part. */
function errnoOf(error: unknown): string {
  const errno = (error as { errno?: unknown } | null)?.errno;
  return typeof errno === "number" ? ` (errno ${errno})` : "";
}

/**
 * Creates the parent directories of each result file before the run (*ours*): a program that writes
 * to the path its driver declared must not fail because `/output` does not exist.
 */
export function makeResultDirs(fs: EmscriptenFS, paths: readonly string[]): void {
  for (const path of paths) {
    try {
      makeParents(fs, path);
    } catch (error) {
      throw new RunnerError(RuntimeErrorCode.algorithmFailed, `cannot create the directory of result file ${path}: ${describe(error)}${errnoOf(error)}`);
    }
  }
}

function makeParents(fs: EmscriptenFS, path: string): void {
  const parts = path.split("/").filter(Boolean).slice(0, -1);
  let dir = "";
  for (const part of parts) {
    dir += `/${part}`;
    if (!fs.analyzePath(dir).exists) fs.mkdir(dir);
  }
}

/** Path → base64 contents of each file that exists; each one missing is reported through `missing`. */
export function readFiles(
  fs: EmscriptenFS | undefined,
  paths: readonly string[],
  missing: (note: string) => void,
): Record<string, string> {
  const files: Record<string, string> = {};
  for (const path of paths) {
    try {
      if (!fs) throw new Error("the program has no filesystem");
      if (!fs.analyzePath(path).exists) throw new Error("the program did not write it");
      files[path] = toBase64(fs.readFile(path));
    } catch (error) {
      missing(`result file ${path} is missing: ${describe(error)}`);
    }
  }
  return files;
}
