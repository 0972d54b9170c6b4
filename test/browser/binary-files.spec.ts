// Files in binary frames (docs/protocol.md) in Chromium: the TS driver's preload file reaches the
// page as bytes in one binary frame, never as base64 in a text frame; the result file goes back the
// same way and arrives whole. The program: the bench's `copy` (reads its input whole, writes it back).
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "motivus-driver";
import { expect, root, test } from "./support/cluster.js";
import { openWorker } from "./support/cache-page.js";
import { decodeServerPush } from "../support/raw-socket.js";

const copy = { wasm_path: `${root}/bench/fixtures/build/copy.wasm`, loader_path: `${root}/bench/fixtures/build/copy.js` };

test("a 3 MiB file goes to the page and comes back as bytes in binary frames, never as base64", async ({ page, cluster }) => {
  const text: string[] = [];
  const binaryIn: Buffer[] = [];
  let binaryOut = 0;
  page.on("websocket", (socket) => {
    socket.on("framereceived", ({ payload }) => (typeof payload === "string" ? text.push(payload) : binaryIn.push(payload)));
    socket.on("framesent", ({ payload }) => (typeof payload === "string" ? text.push(payload) : (binaryOut += payload.length)));
  });
  await openWorker(page, cluster);
  const file = randomBytes(3 * 1024 * 1024);
  const out = join(await mkdtemp(join(tmpdir(), "motivus-binary-")), "out.bin");
  const client = await Client.connect({ uri: cluster.driverUri, logDir: null });
  try {
    const id = client.callAsync({
      ...copy,
      arguments: ["/input/in.bin", "/output/out.bin"],
      preload_files: { "/input/in.bin": file },
      result_files: { "/output/out.bin": out },
    });
    expect(await client.selectTask(id)).toBe(0);
  } finally {
    await client.close();
  }
  expect((await readFile(out)).equals(file)).toBe(true);

  const inputs = binaryIn.map(decodeServerPush).filter((push) => push.event === "input");
  expect(inputs).toHaveLength(1);
  expect(Buffer.from(inputs[0]!.files!.preload_files!["/input/in.bin"]!).equals(file)).toBe(true);
  expect(binaryOut).toBeGreaterThan(file.length); // the result, its file attached
  // No text frame either way carries the file: not even a tenth of its base64.
  expect(Math.max(...text.map((frame) => frame.length))).toBeLessThan(file.length / 10);
});
