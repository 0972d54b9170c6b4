/**
 * The task's files in an Emscripten program's in-memory filesystem: written before the run, read
 * back after. Builds expose their filesystem in one of two ways:
 * - the whole `FS` (`EXPORTED_RUNTIME_METHODS=FS`, or a script-level `FS` of a classic loader);
 * - only the file packager's `FS_createPath`/`FS_createDataFile`/`FS_createDevice` on `Module`, which
 *   every build with a filesystem exports. Files go in with those; a result file is a device that
 *   keeps what the program writes to it, in order (enough for a program that writes its output
 *   once, front to back; one that seeks in its output needs the whole `FS`).
 */
import { RunnerError, describe } from "./errors.js";
import { RuntimeErrorCode } from "../messages/runner.js";
import { exportedFunction, ownValue } from "./emscripten-loader.js";

/** The part of Emscripten's `FS` we use: what closure-minified builds keep of it, too. */
export interface EmscriptenFS {
  mkdir(path: string): unknown;
  writeFile(path: string, data: Uint8Array): void;
  readFile(path: string): Uint8Array;
}

/** The file packager's exports on `Module`. */
interface PackagerExports {
  FS_createPath(parent: string, path: string, canRead: boolean, canWrite: boolean): unknown;
  FS_createDataFile(
    parent: string,
    name: string,
    data: Uint8Array,
    canRead: boolean,
    canWrite: boolean,
    canOwn: boolean,
  ): unknown;
  FS_createDevice(parent: string, name: string, input: (() => number | null) | null, output: (byte: number) => void): unknown;
}

/** A program's files, however its build exposes them. */
export interface ProgramFiles {
  /** Writes the preload files and prepares each result file's place (its directories, at least). */
  prepare(preload: Record<string, ArrayBuffer>, results: readonly string[]): void;
  /** Path → base64 contents of each result file there is; each one missing is reported through `missing`. */
  read(paths: readonly string[], missing: (note: string) => void): Record<string, Uint8Array>;
}

/** The filesystem `module` (or a script-level `FS`) exposes, if any. */
export function programFiles(module: unknown, scopeFS: unknown): ProgramFiles | null {
  const fs = wholeFS(ownValue(module, "FS")) ?? wholeFS(scopeFS);
  if (fs) return new WholeFiles(fs);
  const packager = Object.fromEntries(PACKAGER.map((name) => [name, exportedFunction(module, name)]));
  return isPackager(packager) ? new PackagerFiles(packager) : null;
}

const PACKAGER = ["FS_createPath", "FS_createDataFile", "FS_createDevice"] as const;

function wholeFS(value: unknown): EmscriptenFS | null {
  if (value === null || typeof value !== "object") return null;
  const fs = value as Partial<Record<keyof EmscriptenFS, unknown>>;
  const whole = ["mkdir", "writeFile", "readFile"].every((name) => typeof fs[name as keyof EmscriptenFS] === "function");
  return whole ? (value as EmscriptenFS) : null;
}

function isPackager(module: unknown): module is PackagerExports {
  const m = module as Partial<Record<keyof PackagerExports, unknown>> | null;
  return (
    typeof m?.FS_createPath === "function" && typeof m.FS_createDataFile === "function" && typeof m.FS_createDevice === "function"
  );
}

/** Emscripten's FS.ErrnoError says only "FS error"; its errno is the useful part. */
function errnoOf(error: unknown): string {
  const errno = (error as { errno?: unknown } | null)?.errno;
  return typeof errno === "number" ? ` (errno ${errno})` : "";
}

function split(path: string): { dir: string; name: string } {
  const at = path.lastIndexOf("/");
  return { dir: at <= 0 ? "/" : path.slice(0, at), name: path.slice(at + 1) };
}

/** Runs `step`, turning what it throws into a task failure that names `what`. */
function attempt(what: string, step: () => void): void {
  try {
    step();
  } catch (error) {
    throw new RunnerError(RuntimeErrorCode.algorithmFailed, `cannot ${what}: ${describe(error)}${errnoOf(error)}`);
  }
}

class WholeFiles implements ProgramFiles {
  constructor(private readonly fs: EmscriptenFS) {}

  prepare(preload: Record<string, ArrayBuffer>, results: readonly string[]): void {
    for (const [path, contents] of Object.entries(preload)) {
      attempt(`write preload file ${path}`, () => {
        this.makeDirs(split(path).dir);
        this.fs.writeFile(path, new Uint8Array(contents));
      });
    }
    // *ours*: a program that writes to the path its driver declared must not fail because `/output` does not exist.
    for (const path of results) attempt(`create the directory of result file ${path}`, () => this.makeDirs(split(path).dir));
  }

  read(paths: readonly string[], missing: (note: string) => void): Record<string, Uint8Array> {
    const files: Record<string, Uint8Array> = {};
    for (const path of paths) {
      let contents: Uint8Array;
      try {
        contents = this.fs.readFile(path);
      } catch {
        missing(`result file ${path} is missing: the program did not write it`);
        continue;
      }
      files[path] = contents;
    }
    return files;
  }

  /** Each directory on the way; one that is there already is fine (EEXIST), a file in the way fails at the write. */
  private makeDirs(dir: string): void {
    let at = "";
    for (const part of dir.split("/").filter(Boolean)) {
      at += `/${part}`;
      try {
        this.fs.mkdir(at);
      } catch {
        // there already
      }
    }
  }
}

class PackagerFiles implements ProgramFiles {
  private readonly written = new Map<string, number[]>();

  constructor(private readonly module: PackagerExports) {}

  prepare(preload: Record<string, ArrayBuffer>, results: readonly string[]): void {
    for (const [path, contents] of Object.entries(preload)) {
      const { dir, name } = split(path);
      attempt(`write preload file ${path}`, () => {
        this.makeDirs(dir);
        this.module.FS_createDataFile(dir, name, new Uint8Array(contents), true, true, true);
      });
    }
    for (const path of results) {
      const { dir, name } = split(path);
      const bytes: number[] = [];
      this.written.set(path, bytes);
      attempt(`create result file ${path}`, () => {
        this.makeDirs(dir);
        this.module.FS_createDevice(
          dir,
          name,
          () => null,
          (byte) => bytes.push(byte),
        );
      });
    }
  }

  read(paths: readonly string[], missing: (note: string) => void): Record<string, Uint8Array> {
    const files: Record<string, Uint8Array> = {};
    for (const path of paths) {
      const bytes = this.written.get(path);
      if (bytes?.length) files[path] = Uint8Array.from(bytes);
      else missing(`result file ${path} is missing: the program wrote nothing to it`);
    }
    return files;
  }

  private makeDirs(dir: string): void {
    if (dir !== "/") this.module.FS_createPath("/", dir.slice(1), true, true);
  }
}
