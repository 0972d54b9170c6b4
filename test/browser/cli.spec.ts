// `motivus-loopback --headless 1` as a user runs it: the command starts the
// cluster and a headless Chromium worker; the Python V1 driver resolves
// k-means through the local registry and gets the seed's answer.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runPythonDriver } from "../support/python.js";
import { expect, fixtures, root, test } from "./support/cluster.js";

function startCli(args: string[]): { child: ChildProcess; output: string[]; line(re: RegExp): Promise<RegExpMatchArray> } {
  const child = spawn(process.execPath, [`${root}/bin/motivus-loopback.js`, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const output: string[] = [];
  const waiters: (() => void)[] = [];
  const take = (chunk: Buffer) => {
    output.push(...chunk.toString().split("\n").filter(Boolean));
    waiters.splice(0).forEach((w) => w());
  };
  child.stdout!.on("data", take);
  child.stderr!.on("data", take);
  const line = (re: RegExp) =>
    new Promise<RegExpMatchArray>((ok) => {
      const check = () => {
        const hit = output.map((l) => l.match(re)).find(Boolean);
        if (hit) ok(hit);
        else waiters.push(check);
      };
      check();
    });
  return { child, output, line };
}

test("the Python V1 driver gets k-means [0,0,0,0,0,1,1,1,1,1] from a browser started by --headless 1", async () => {
  test.setTimeout(90_000);
  const cli = startCli(["--port", "0", "--headless", "1", "--algorithms", `${fixtures}/registry`]);
  try {
    const uri = (await cli.line(/export WEBSOCKET_URI=(\S+)/))[1]!;
    const repo = (await cli.line(/export ALGORITHM_REPO_HOST=(\S+)/))[1]!;
    await expect.poll(async () => (await (await fetch(`${repo}/api/loopback/stats`)).json()).offered_slots, { timeout: 30_000 }).toBe(1);

    const dir = await mkdtemp(join(tmpdir(), "motivus-cli-"));
    const data = await runPythonDriver(
      dir,
      {
        algorithm: "kmeans",
        algorithm_version: "0.0.1",
        arguments: ["--k=2"],
        preload_files: { "/input/matrix.txt": `${fixtures}/c/data/matrix.txt` },
        result_files: { "/output/labels.json": "results/labels.json" },
      },
      { WEBSOCKET_URI: uri, ALGORITHM_REPO_HOST: repo },
    );
    expect(data).toBe(0);
    expect(await readFile(join(dir, "results", "labels.json"), "utf8")).toBe("[0,0,0,0,0,1,1,1,1,1]");
    // One readable line per task event.
    await cli.line(/task 1 done in \d+ ms/);
    expect(cli.output.join("\n")).toMatch(/task 1 queued \(trusted_work[\s\S]*task 1 dispatched to worker/);
  } finally {
    cli.child.kill("SIGTERM");
  }
  const code = await new Promise((ok) => cli.child.once("exit", ok));
  expect(code).toBe(0);
  expect(cli.output.join("\n")).toMatch(/SIGTERM: stopping/);
});

test("--help documents every flag", async () => {
  const cli = startCli(["--help"]);
  await new Promise((ok) => cli.child.once("exit", ok));
  const help = cli.output.join("\n");
  for (const flag of ["--port", "--host", "--token", "--algorithms", "--headless", "--threads", "--quiet", "--help"]) expect(help).toContain(flag);
  expect(help).toContain("export WEBSOCKET_URI=ws://localhost:<port>/client_socket/websocket");
});
