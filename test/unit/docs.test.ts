// The documentation names real things: every repository path a doc names (in backticks, in a code
// block, or as a relative link) exists, every link to a heading finds it, and the README stays short.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** The docs: README.md, CONTRIBUTING.md, docs/*.md, bench/README.md, packages/*\/README.md. */
function docs(): string[] {
  const inDir = (dir: string, pick: (name: string) => boolean) =>
    existsSync(join(root, dir))
      ? readdirSync(join(root, dir))
          .filter(pick)
          .map((name) => `${dir}/${name}`)
      : [];
  return [
    ...["README.md", "CONTRIBUTING.md"].filter((doc) => existsSync(join(root, doc))),
    ...inDir("docs", (name) => name.endsWith(".md")),
    "bench/README.md",
    ...inDir("packages", () => true)
      .map((dir) => `${dir}/README.md`)
      .filter((doc) => existsSync(join(root, doc))),
  ];
}

/** Where a repository path starts. */
const REPO_PATH = /^(packages|test|bench|scripts|docs|\.ci)\//;
/**
 * Where a package's own path starts: named relative to the doc's folder (a package's README says
 * `dist/csp.json`), so the old single-package layout (`src/`, `dist/`, `bin/`, `demo/` at the root)
 * shows up as missing anywhere else.
 */
const PACKAGE_PATH = /^(src|dist|bin|demo)\//;

/**
 * Paths that exist only once something ran, each with what makes it: a doc may name them on a fresh
 * checkout. A package's dist/ is checked apart (see `built`).
 */
const GENERATED: [prefix: string, madeBy: string][] = [
  ["test/browser/pages/built/", "playwright's global set-up"],
  ["test/corpus/emscripten/node_modules/", "scripts/corpora.sh"],
  ["test/corpus/wasm-bindgen/node_modules/", "scripts/corpora.sh"],
  ["test/corpus/wasi/node_modules/", "scripts/corpora.sh"],
  ["test/corpus/wasi/pypi/", "scripts/corpora.sh"],
  ["bench/profiles/", "BENCH_PROFILE=1 npm run bench"],
  ["packages/worker/src/generated/", "npm run build (packages/worker/scripts/inline-scripts.mjs)"],
];

/**
 * A path in a package's dist/ before the build: it is there once built when its package ships it
 * (named in the package.json's `exports` or `files`) or when `tsc` makes it from a source file
 * (`dist/x.js` and `dist/x.d.ts` from `src/x.ts`).
 */
function built(path: string): boolean {
  const m = /^packages\/([^/]+)\/dist(?:\/(.*))?$/.exec(path.replace(/\/$/, ""));
  if (!m) return false;
  const [, name, file = ""] = m;
  const pkgDir = join(root, "packages", name!);
  if (!existsSync(join(pkgDir, "package.json"))) return false;
  if (existsSync(join(pkgDir, "dist"))) return false; // built: the path itself must exist
  if (file === "") return true;
  const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")) as { exports?: unknown; files?: string[] };
  const shipped = JSON.stringify(pkg.exports ?? {}).includes(`"./dist/${file}"`) || (pkg.files ?? []).includes(`dist/${file}`);
  const source = file.replace(/\.d\.ts$|\.js$/, ".ts");
  return shipped || (source !== file && existsSync(join(pkgDir, "src", source)));
}

interface Named {
  doc: string;
  line: number;
  /** As written. */
  text: string;
  /** Resolved, relative to the repository's root. */
  path: string;
  anchor: string | null;
}

/** Drops trailing punctuation a sentence puts after a path, and a `:12` line number. */
const clean = (token: string) => token.replace(/[.,;:)'"]+$/, "").replace(/:\d+$/, "");

/** A pattern or a placeholder, not a path: `test/corpus/*`, `DIR/<name>/`, `test/{unit,browser}`, `…`. */
const isPattern = (token: string) => /[*<>{}…$]/.test(token);

/** Every repository path `doc` names, with the line it is on. */
function namedPaths(doc: string): Named[] {
  const text = readFileSync(join(root, doc), "utf8");
  const found: Named[] = [];
  const add = (raw: string, line: number, relativeToDoc: boolean) => {
    const [target = "", anchor = null] = raw.split("#");
    if (isPattern(target)) return;
    const path = target === "" ? doc : normalize(relativeToDoc ? join(dirname(doc), target) : target);
    found.push({ doc, line, text: raw, path: path.replace(/\\/g, "/"), anchor });
  };
  const addWord = (word: string, line: number) => {
    if (REPO_PATH.test(word)) add(word, line, false);
    else if (PACKAGE_PATH.test(word)) add(word, line, true);
  };
  let fenced = false;
  text.split("\n").forEach((lineText, i) => {
    const line = i + 1;
    if (/^\s*(```|~~~)/.test(lineText)) {
      fenced = !fenced;
      return;
    }
    // In a code block: every word that starts like a repository path (commands). Not a package's own
    // path: a block's folder is the reader's (a layout drawn as a tree, a command run in a package).
    if (fenced) {
      for (const word of lineText.split(/[\s=("'`]+/)) if (REPO_PATH.test(clean(word))) add(clean(word), line, false);
      return;
    }
    // Links and images: relative targets, against the doc's folder.
    for (const m of lineText.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = m[1]!;
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, …
      add(target, line, true);
    }
    // Inline code: each word that starts like a repository path, against the root.
    for (const m of lineText.matchAll(/(`+)([^`]+?)\1/g)) {
      for (const word of m[2]!.split(/\s+/)) addWord(clean(word), line);
    }
  });
  return found;
}

/** GitHub's anchor of each heading of a Markdown file. */
function anchors(file: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fenced = false;
  for (const line of readFileSync(join(root, file), "utf8").split("\n")) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const m = !fenced && /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const slug = m[1]!
      .toLowerCase()
      .replace(/<[^>]+>/g, "")
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    out.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return out;
}

describe("the docs", () => {
  it("name only paths that exist", () => {
    const missing = ["README.md", "CONTRIBUTING.md"].filter((doc) => !existsSync(join(root, doc)));
    let checked = 0;
    for (const doc of docs()) {
      for (const named of namedPaths(doc)) {
        checked++;
        const outside = relative(root, join(root, named.path)).startsWith("..");
        const generated = GENERATED.find(([prefix]) => `${named.path}/`.startsWith(prefix));
        if (outside || generated || existsSync(join(root, named.path)) || built(named.path)) continue;
        missing.push(`${doc}:${named.line}: ${named.text}${named.text === named.path ? "" : ` (${named.path})`}`);
      }
    }
    expect(checked).toBeGreaterThan(100); // the scan found the docs' paths at all
    expect(missing, `paths the docs name that do not exist:\n${missing.join("\n")}\n`).toEqual([]);
  });

  it("link to headings that exist", () => {
    const broken: string[] = [];
    for (const doc of docs()) {
      for (const named of namedPaths(doc)) {
        if (named.anchor === null || !named.path.endsWith(".md") || !existsSync(join(root, named.path))) continue;
        if (!anchors(named.path).has(named.anchor)) broken.push(`${doc}:${named.line}: ${named.text}`);
      }
    }
    expect(broken, `links to headings that do not exist:\n${broken.join("\n")}\n`).toEqual([]);
  });

  it("keep the README under 150 lines", () => {
    const lines = readFileSync(join(root, "README.md"), "utf8").split("\n");
    if (lines.at(-1) === "") lines.pop();
    expect(lines.length, "README.md: move detail to docs/").toBeLessThan(150);
  });
});
