// The README's journey, word for word, for a C program with a data package: start the loopback as
// `npm start` does (`--headless 1 --algorithms test/fixtures/registry`), export what its banner
// prints, and run a registry algorithm whose version holds a `.data.zip` with the published Python
// client. The driver asks the registry at `localhost:<port>` (the banner's ALGORITHM_REPO_HOST), so
// the registry's `data_url` names `localhost`, while the headless page works at `127.0.0.1`: the
// worker must still get its data package (issue: "One cluster, one origin").
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startCli } from "../support/cli.js";
import { runPublishedDriver } from "../support/python.js";
import { expect, root, test } from "./support/cluster.js";

// The driver an author writes for the datapkg algorithm of the registry (a C program that copies
// /pkg/greeting.txt, from its --preload-file data package, to stdout and /output/greeting.txt).
const wasiInputs = `${root}/test/fixtures/wasi/inputs`;

const DRIVER = `import asyncio
from motivus.client import Client


async def main():
    motivus = await Client.connect()
    task = {
        'algorithm': 'datapkg',
        'algorithm_version': '1.0.0',
        'result_files': {'/output/greeting.txt': 'results/greeting.txt'},
    }
    ids = [motivus.call_async(task)]
    print(await motivus.barrier(ids))


asyncio.run(main())
`;

// A WASI algorithm of the registry (a version folder holding a lone .wasm: test/fixtures/wasi's C
// program), by name and version: the registry serves it with an empty loader.
const WASI_DRIVER = `import asyncio
from motivus.client import Client


async def main():
    motivus = await Client.connect()
    task = {
        'algorithm': 'wordfreq',
        'algorithm_version': '1.0.0',
        'arguments': ['--top', '8', '/output/report.txt', '/input/alpha.txt', '/input/beta.txt', '/input/gamma.txt'],
        'preload_files': {f'/input/{name}.txt': motivus.read_file(f'${wasiInputs}/{name}.txt') for name in ['alpha', 'beta', 'gamma']},
        'result_files': {'/output/report.txt': 'results/report.txt'},
    }
    print(await motivus.barrier([motivus.call_async(task)]))


asyncio.run(main())
`;

test("npm start, the banner's exports, and a registry algorithm with a data package: the headless worker fetches the package", async () => {
  test.setTimeout(120_000);
  // `npm start` builds, then runs `node packages/loopback/bin/motivus-loopback.js --headless 1 --algorithms test/fixtures/registry`; a free port here.
  const cli = startCli(["--headless", "1", "--algorithms", "test/fixtures/registry", "--port", "0"]);
  try {
    const uri = (await cli.line(/^export WEBSOCKET_URI=(\S+)$/))[1]!;
    const repo = (await cli.line(/^export ALGORITHM_REPO_HOST=(\S+)$/))[1]!;
    expect(repo).toMatch(/^localhost:\d+$/); // what the README prints, not the page's 127.0.0.1
    await expect
      .poll(async () => (await (await fetch(`http://${repo}/api/loopback/stats`)).json()).offered_slots, { timeout: 30_000 })
      .toBe(1);

    const dir = await mkdtemp(join(tmpdir(), "motivus-readme-"));
    const printed = await runPublishedDriver(dir, DRIVER, { WEBSOCKET_URI: uri, ALGORITHM_REPO_HOST: repo }, 60_000);
    expect(cli.output.join("\n")).not.toMatch(/is refused/);
    // The program's return value (exit code 0), and the file it wrote from its data package.
    expect(printed.trim().split("\n").at(-1)).toBe("[0]");
    expect(await readFile(join(dir, "results/greeting.txt"), "utf8")).toBe("hello from the data package\n");
    await cli.line(/task 1 done in \d+ ms/);

    const wasi = await runPublishedDriver(dir, WASI_DRIVER, { WEBSOCKET_URI: uri, ALGORITHM_REPO_HOST: repo }, 60_000);
    expect(wasi.trim().split("\n").at(-1)).toBe("[0]");
    expect(await readFile(join(dir, "results/report.txt"), "utf8")).toBe(
      await readFile(`${root}/test/fixtures/wasi/expected/c-wordfreq/report.txt`, "utf8"),
    );
  } finally {
    cli.child.kill("SIGTERM");
  }
  expect(await new Promise((ok) => cli.child.once("exit", ok))).toBe(0);
});
