/**
 * `motivus-loopback` as a user runs it (`node packages/loopback/bin/motivus-loopback.js …`): its output lines, and a
 * wait for the first line that matches. The caller kills `child`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

export interface Cli {
  child: ChildProcess;
  output: string[];
  line(re: RegExp): Promise<RegExpMatchArray>;
}

/** The repository's command by default; `npx motivus-loopback` in `cwd` for an installed package. */
export function startCli(args: string[], { npxIn }: { npxIn?: string } = {}): Cli {
  const [command, first, cwd] = npxIn
    ? ["npx", ["--no-install", "motivus-loopback"], npxIn]
    : [process.execPath, [`${root}/packages/loopback/bin/motivus-loopback.js`], root];
  const child = spawn(command, [...first, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
  const output: string[] = [];
  const waiters: (() => void)[] = [];
  const take = (chunk: Buffer) => {
    output.push(...chunk.toString().split("\n").filter(Boolean));
    waiters.splice(0).forEach((wake) => wake());
  };
  child.stdout!.on("data", take);
  child.stderr!.on("data", take);
  const line = (re: RegExp) =>
    new Promise<RegExpMatchArray>((found) => {
      const check = () => {
        const hit = output.map((l) => l.match(re)).find(Boolean);
        if (hit) found(hit);
        else waiters.push(check);
      };
      check();
    });
  return { child, output, line };
}
