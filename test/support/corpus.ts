/**
 * The corpora of programs other people published (test/corpus/*, installed from npm and PyPI by
 * `.ci/run`) and the WASI programs built here (test/fixtures/wasi), as task cases: what to send and
 * what the program produced outside the project (expected outputs from a reference runtime).
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const root = fileURLToPath(new URL("../..", import.meta.url));

export interface CorpusCase {
  name: string;
  /** Absolute paths of the program's files; `loader` is null for a WASI program, `wasm` null for SINGLE_FILE. */
  wasm: string | null;
  loader: string | null;
  arguments: string[];
  /** `params`, after the arguments (JSON-encoded unless strings). */
  params: unknown[] | null;
  /** Virtual path → local input file. */
  preloadFiles: Record<string, string>;
  resultFiles: string[];
  /** *ours*: a function on the module to call instead of main (the Python client cannot send it). */
  entry: string | null;
  /** A program this worker cannot run: the task must fail at once with an error matching `error`. */
  knownGap: { error: string; code?: number; why: string } | null;
  expected: {
    exitCode: number;
    stdout: { exact: string } | { pattern: string } | null;
    stderr: { exact: string } | { pattern: string } | null;
    /** Virtual path → local file with the exact bytes, the bytes' sha256, or null: the program does not write it. */
    files: Record<string, { file: string } | { sha256: string } | null>;
  };
}

const emscriptenDir = `${root}/test/corpus/emscripten`;
const wasiDir = `${root}/test/fixtures/wasi`;

interface EmscriptenEntry {
  name: string;
  package: string;
  loader: string;
  wasm: string | null;
  reference: { call?: string };
  known_gap?: { error: string; why: string };
  task: { arguments: string[]; preload_files: Record<string, string>; result_files: string[] };
  expected: { stdoutMode: "exact" | "regex"; stdout: string | null; exitCode: number; files: Record<string, string> };
}

export function emscriptenCorpus(): CorpusCase[] {
  const entries = JSON.parse(readFileSync(`${emscriptenDir}/cases.json`, "utf8")) as EmscriptenEntry[];
  return entries.map((c) => {
    const inPackage = (path: string) => `${emscriptenDir}/node_modules/${c.package}/${path}`;
    const text = c.expected.stdout;
    return {
      name: c.name,
      wasm: c.wasm && !c.wasm.startsWith("(") ? inPackage(c.wasm) : null,
      loader: inPackage(c.loader),
      arguments: c.task.arguments,
      params: null,
      preloadFiles: Object.fromEntries(
        Object.entries(c.task.preload_files).map(([path, file]) => [path, `${emscriptenDir}/${file}`]),
      ),
      resultFiles: c.task.result_files,
      entry: c.reference.call === "exec" ? "exec" : null,
      knownGap: c.known_gap ?? null,
      expected: {
        exitCode: c.expected.exitCode,
        stdout: text === null ? null : c.expected.stdoutMode === "regex" ? { pattern: text } : { exact: text },
        stderr: null,
        files: Object.fromEntries(
          Object.entries(c.expected.files).map(([path, file]) => [path, { file: `${emscriptenDir}/${file}` }]),
        ),
      },
    };
  });
}

type Expectation = string | { file: string } | { regex: string } | null;

interface WasiEntry {
  name: string;
  wasm: string | { registry: "npm" | "pypi"; package: string; path: string };
  arguments: string[];
  params?: unknown[];
  preload_files: Record<string, string>;
  result_files: string[];
  expected: {
    exitCode: number;
    stdout: Expectation;
    stderr: Expectation;
    files: Record<string, string | { sha256: string } | null>;
  };
}

/** Where a third-party WASI program is once `test/corpus/wasi/fetch.sh` has run. */
function wasiProgram(wasm: WasiEntry["wasm"]): string {
  if (typeof wasm === "string") return `${root}/${wasm}`;
  const folder = wasm.registry === "npm" ? "node_modules" : "pypi";
  return `${root}/test/corpus/wasi/${folder}/${wasm.package}/${wasm.path}`;
}

function textExpectation(value: Expectation): CorpusCase["expected"]["stdout"] {
  if (value === null) return null;
  if (typeof value === "string") return { exact: value };
  if ("file" in value) return { exact: readFileSync(`${wasiDir}/${value.file}`, "utf8") };
  return { pattern: `^(?:${value.regex})$` };
}

export function wasiCases(): CorpusCase[] {
  const { cases } = JSON.parse(readFileSync(`${wasiDir}/cases.json`, "utf8")) as { cases: WasiEntry[] };
  return cases.map((c) => ({
    name: c.name,
    wasm: wasiProgram(c.wasm),
    loader: null,
    arguments: c.arguments,
    params: c.params ?? null,
    preloadFiles: Object.fromEntries(Object.entries(c.preload_files).map(([path, file]) => [path, `${wasiDir}/${file}`])),
    resultFiles: c.result_files,
    entry: null,
    knownGap: null,
    expected: {
      exitCode: c.expected.exitCode,
      stdout: textExpectation(c.expected.stdout),
      stderr: textExpectation(c.expected.stderr),
      files: Object.fromEntries(
        Object.entries(c.expected.files).map(([path, file]) => [
          path,
          file === null ? null : typeof file === "string" ? { file: `${wasiDir}/${file}` } : { sha256: file.sha256 },
        ]),
      ),
    },
  }));
}

/** Whether the case's program is installed (the corpora come from registries). */
export const installed = (c: CorpusCase): boolean =>
  (c.wasm === null || existsSync(c.wasm)) && (c.loader === null || existsSync(c.loader));

/** What a run gave: exit code (`data`), stdout, stderr, and result file contents by virtual path. */
export interface CorpusOutcome {
  data: unknown;
  stdout: string;
  stderr: string;
  files: Record<string, Buffer | undefined>;
}

/** Every way `outcome` differs from what the program produced outside the project (empty: none). */
export function differences(c: CorpusCase, outcome: CorpusOutcome): string[] {
  const found: string[] = [];
  if (outcome.data !== c.expected.exitCode) found.push(`exit code ${String(outcome.data)}, expected ${c.expected.exitCode}`);
  for (const [stream, expectation] of [
    ["stdout", c.expected.stdout],
    ["stderr", c.expected.stderr],
  ] as const) {
    const text = outcome[stream];
    // The worker adds its own last line to stderr when a program fails ("the program exited with status 3").
    const same =
      expectation &&
      "exact" in expectation &&
      (stream === "stdout" ? text === expectation.exact : text.startsWith(expectation.exact));
    if (expectation && "exact" in expectation && !same) found.push(`${stream} differs:\n${text.slice(0, 800)}`);
    if (expectation && "pattern" in expectation && !new RegExp(expectation.pattern, "s").test(text))
      found.push(`${stream} does not match:\n${text.slice(0, 800)}`);
  }
  for (const [path, want] of Object.entries(c.expected.files)) {
    const got = outcome.files[path];
    if (want === null) {
      if (got !== undefined) found.push(`${path} was written, but the program does not write it`);
    } else if (got === undefined) found.push(`${path} is missing`);
    else if (
      "file" in want ? !got.equals(readFileSync(want.file)) : createHash("sha256").update(got).digest("hex") !== want.sha256
    ) {
      found.push(`${path} differs (${got.length} bytes)`);
    }
  }
  return found;
}
