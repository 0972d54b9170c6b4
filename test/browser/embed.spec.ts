// The script-tag build (dist/browser/motivus-embed.js) on a host page: it reads its data attributes,
// loads the worker library beside itself once started, finds runtime.js beside that, and works.
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "motivus-driver";
import { expect, fixtures, test } from "./support/cluster.js";

test("one script tag with data-cluster, started by the site's own button through window.Motivus, makes the page a worker", async ({
  page,
  cluster,
}) => {
  await page.goto(`${cluster.origin}/pages/embed.html`);
  await page.waitForFunction(() => typeof (window as any).Motivus?.start === "function");
  expect(cluster.stats().workers).toBe(0);
  await page.click("#help");
  await expect.poll(() => cluster.stats().offered_slots).toBe(1);
  const client = await Client.connect({ uri: cluster.driverUri, logDir: null });
  const out = join(tmpdir(), `embed-${Date.now()}.txt`);
  const build = `${fixtures}/c/build/modularize`;
  const id = client.callAsync({
    wasm_path: `${build}/echo.wasm`,
    loader_path: `${build}/echo.js`,
    arguments: ["from", "embed"],
    result_files: { "/output/args.txt": out },
  });
  expect(await client.selectTask(id)).toBe(0);
  expect(await readFile(out, "utf8")).toBe("from embed\n");
  await client.close();
  await page.evaluate(() => (window as any).Motivus.stop());
  await expect.poll(() => cluster.stats().workers).toBe(0);
});
