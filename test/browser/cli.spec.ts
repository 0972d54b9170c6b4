// `motivus-loopback --headless 1` as a user runs it: the command starts the cluster and a
// headless Chromium worker; the docs' driver, copied verbatim, runs with the published Python
// client against it and prints the docs' answer.
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { docsDriver } from "../support/docs.js";
import { startCli } from "../support/cli.js";
import { runPublishedDriver, runPythonDriver } from "../support/python.js";
import { expect, fixtures, test } from "./support/cluster.js";

test("the docs' driver, verbatim, prints [0, 0, 0, 0, 0, 1, 1, 1, 1, 1] with the published client against --headless 1", async () => {
  test.setTimeout(120_000);
  const cli = startCli(["--port", "0", "--headless", "1", "--deadline", "5", "--algorithms", `${fixtures}/registry`]);
  try {
    const uri = (await cli.line(/export WEBSOCKET_URI=(\S+)/))[1]!;
    const repo = (await cli.line(/export ALGORITHM_REPO_HOST=(\S+)/))[1]!;
    // host:port only: the published client writes `http://${ALGORITHM_REPO_HOST}/api/...` itself.
    expect(repo).toMatch(/^localhost:\d+$/);
    await expect
      .poll(async () => (await (await fetch(`http://${repo}/api/loopback/stats`)).json()).offered_slots, { timeout: 30_000 })
      .toBe(1);

    const env = { WEBSOCKET_URI: uri, ALGORITHM_REPO_HOST: repo };
    const dir = await mkdtemp(join(tmpdir(), "motivus-docs-"));
    const printed = await runPublishedDriver(dir, await docsDriver(), env);
    expect(printed.trim().split("\n").at(-1)).toBe("[0, 0, 0, 0, 0, 1, 1, 1, 1, 1]");
    // One readable line per task event.
    await cli.line(/task 1 done in \d+ ms/);
    expect(cli.output.join("\n")).toMatch(/task 1 queued \(trusted_work[\s\S]*task 1 dispatched to worker/);

    // A task that fails is logged as failed, with its reason, in one line.
    const failed = (await runPythonDriver(
      dir,
      { algorithm: "kmeans", algorithm_version: "0.0.1", params: [[[1, 2]], 3] },
      env,
    )) as { error?: string };
    expect(failed.error).toMatch(/kmeans/);
    await cli.line(/task 2 failed in \d+ ms on worker \w+: .*kmeans/);

    // --deadline reaches the headless page: a program that never ends is stopped after 5 s.
    const forever = (await runPythonDriver(
      dir,
      { wasm_path: `${fixtures}/c/build/classic/forever.wasm`, loader_path: `${fixtures}/c/build/classic/forever.js` },
      env,
    )) as { error?: string };
    expect(forever.error).toMatch(/deadline of 5 s/);
    await cli.line(/task 3 failed in \d+ ms on worker \w+: the task ran past its deadline of 5 s/);
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
  for (const flag of [
    "--port",
    "--host",
    "--token",
    "--algorithms",
    "--headless",
    "--threads",
    "--deadline",
    "--quiet",
    "--help",
  ])
    expect(help).toContain(flag);
  expect(help).toContain("export WEBSOCKET_URI=ws://localhost:<port>/client_socket/websocket");
  expect(help).toContain("export ALGORITHM_REPO_HOST=localhost:<port>");
});

test("a bad flag stops the command before it starts anything", async () => {
  const cli = startCli(["--port", "0", "--deadline", "0"]);
  const code = await new Promise((ok) => cli.child.once("exit", ok));
  expect(code).toBe(1);
  expect(cli.output.join("\n")).toContain("--deadline takes a number of seconds above 0");
  expect(cli.output.join("\n")).not.toContain("loopback cluster on");
});
