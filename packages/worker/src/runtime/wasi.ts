/**
 * WASI preview 1 command modules (Go `GOOS=wasip1`, Rust `wasm32-wasi`, clang with wasi-libc, Zig):
 * a task whose loader is empty. The host is `@bjorn3/browser_wasi_shim` over an in-memory tree:
 * argv is the program name, `arguments`, then `params`; `/` is preopened over the task's files
 * (preload files, the data package's entries, the parent directories of the result files); stdin is
 * empty; stdout and stderr go to the transcript; the exit code is `data`. There are no sockets.
 */
import {
  ConsoleStdout,
  Directory,
  File,
  OpenFile,
  PreopenDirectory,
  WASI,
  WASIProcExit,
  type Inode,
} from "@bjorn3/browser_wasi_shim";
import { RuntimeErrorCode } from "../messages/runner.js";
import { unpackDataFiles } from "./data-package.js";
import { RunnerError, describe } from "./errors.js";
import type { ShapeResult } from "./shape-result.js";
import type { WorkerTask } from "./task.js";
import type { Transcript } from "./transcript.js";
import { pollOneoff } from "./wasi-poll.js";
import { correctedImports } from "./wasi-fixes.js";

const NAMESPACES: ReadonlySet<string> = new Set(["wasi_snapshot_preview1", "wasi_unstable"]);
/** argv[0]: what a WASI program calls itself. */
const PROGRAM_NAME = "program.wasm";
const ERRNO_NOSYS = 52;

export async function runWasi(task: WorkerTask, module: WebAssembly.Module, transcript: Transcript): Promise<ShapeResult> {
  const namespace = wasiNamespace(module);
  const root = new Directory(new Map());
  if (task.dataZip) for (const [path, bytes] of Object.entries(unpackDataFiles(task.dataZip))) writeFile(root, path, bytes);
  for (const [path, contents] of Object.entries(task.preloadFiles)) writeFile(root, path, new Uint8Array(contents));
  for (const path of task.resultFiles) directoryOf(root, parentParts(path), true);

  const out = new TextStream((text) => transcript.appendOut(text));
  const err = new TextStream((text) => transcript.appendErr(text));
  const wasi = new WASI(
    [PROGRAM_NAME, ...task.args],
    [],
    [
      new OpenFile(new File(new Uint8Array(0), { readonly: true })),
      new ConsoleStdout(out.write),
      new ConsoleStdout(err.write),
      new PreopenDirectory("/", root.contents),
    ],
    { debug: false }, // its default (undefined) logs every call to the console, which is the program's stdout here
  );
  const imports = completeImports(module, namespace, {
    ...correctedImports(wasi),
    poll_oneoff: pollOneoff(() => wasi.inst.exports.memory),
  });
  let instance: WebAssembly.Instance;
  try {
    instance = await WebAssembly.instantiate(module, { [namespace]: imports });
  } catch (error) {
    throw new RunnerError(
      RuntimeErrorCode.unknownLoader,
      `the WASI program cannot be instantiated: ${describe(error)} (it may need imports other than WASI's)`,
    );
  }
  const status = start(wasi, instance);
  out.end();
  err.end();
  const failure =
    typeof status === "number"
      ? status === 0
        ? null
        : new RunnerError(RuntimeErrorCode.algorithmFailed, `the program exited with status ${status}`)
      : status;
  const files = readResultFiles(root, task.resultFiles, (note) => failure === null && transcript.printErr(note));
  return { data: typeof status === "number" ? status : null, files, error: failure };
}

/** Which WASI the module imports; a module that imports none is not a WASI program. */
function wasiNamespace(module: WebAssembly.Module): string {
  const imports = WebAssembly.Module.imports(module);
  const namespace = imports.find((entry) => NAMESPACES.has(entry.module))?.module;
  const exports = WebAssembly.Module.exports(module).map((entry) => entry.name);
  if (!namespace || !exports.includes("_start")) {
    const said = imports.length
      ? `it imports ${[...new Set(imports.map((entry) => entry.module))].join(", ")}`
      : "it imports nothing";
    throw new RunnerError(
      RuntimeErrorCode.unknownLoader,
      `the task's loader is empty, so its wasm must be a WASI preview 1 command (importing wasi_snapshot_preview1, exporting _start), but ${said}${exports.includes("_start") ? "" : " and exports no _start"}`,
    );
  }
  return namespace;
}

/** Every WASI function the module names, those the shim lacks answering ENOSYS, so instantiation never fails for a name. */
function completeImports(
  module: WebAssembly.Module,
  namespace: string,
  given: Record<string, unknown>,
): WebAssembly.ModuleImports {
  const imports = { ...given } as WebAssembly.ModuleImports;
  for (const entry of WebAssembly.Module.imports(module)) {
    if (entry.module === namespace && entry.kind === "function" && typeof imports[entry.name] !== "function")
      imports[entry.name] = () => ERRNO_NOSYS;
  }
  return imports;
}

/** Runs `_start`: the exit status, or the failure of a program that trapped. */
function start(wasi: WASI, instance: WebAssembly.Instance): number | RunnerError {
  try {
    return wasi.start(instance as unknown as Parameters<WASI["start"]>[0]);
  } catch (error) {
    if (error instanceof WASIProcExit) return error.code;
    return new RunnerError(RuntimeErrorCode.algorithmFailed, `the program crashed: ${describe(error)}`);
  }
}

function parts(path: string): string[] {
  return path.split("/").filter((part) => part !== "" && part !== ".");
}

function parentParts(path: string): string[] {
  return parts(path).slice(0, -1);
}

function directoryOf(root: Directory, names: string[], create: boolean): Directory | null {
  let dir = root;
  for (const name of names) {
    let next: Inode | undefined = dir.contents.get(name);
    if (!next && create) {
      next = new Directory(new Map());
      dir.contents.set(name, next);
    }
    if (!(next instanceof Directory)) return null;
    dir = next;
  }
  return dir;
}

function writeFile(root: Directory, path: string, bytes: Uint8Array): void {
  const names = parts(path);
  const name = names.pop();
  const dir = directoryOf(root, names, true);
  if (!name || !dir)
    throw new RunnerError(RuntimeErrorCode.algorithmFailed, `cannot write preload file ${path}: a part of its path is a file`);
  dir.contents.set(name, new File(bytes));
}

function readResultFiles(root: Directory, paths: readonly string[], missing: (note: string) => void): Record<string, Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  for (const path of paths) {
    const names = parts(path);
    const name = names.pop() ?? "";
    const entry = directoryOf(root, names, false)?.contents.get(name);
    if (entry instanceof File) files[path] = entry.data;
    else missing(`result file ${path} is missing: ${entry ? "it is a directory" : "the program did not write it"}`);
  }
  return files;
}

/** UTF-8 text from a stream of byte chunks, a character split across two writes kept whole. */
class TextStream {
  private readonly decoder = new TextDecoder();

  constructor(private readonly sink: (text: string) => void) {}

  readonly write = (bytes: Uint8Array): void => {
    const text = this.decoder.decode(bytes, { stream: true });
    if (text) this.sink(text);
  };

  end(): void {
    const rest = this.decoder.decode();
    if (rest) this.sink(rest);
  }
}
