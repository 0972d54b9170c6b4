// A worker never frees an ES module it imported, nor the wasm memory that module keeps: a page running
// `--target web` glue task after task must not run out of wasm memories (V8 allows a process only so
// many). Found by the soak: every task after the 124th failed with "Cannot allocate Wasm memory".
import { Client } from "motivus-driver";
import { expect, fixtures, test } from "./support/cluster.js";

test("a page runs 200 --target web tasks one after another without running out of wasm memory", async ({ page, cluster }) => {
  test.setTimeout(180_000);
  await page.goto(`${cluster.origin}/worker.html?autostart=1&threads=1`);
  await expect.poll(() => cluster.stats().offered_slots).toBe(1);
  const client = await Client.connect({ uri: cluster.driverUri, logDir: null });
  const sql = {
    wasm_path: `${fixtures}/wasm-bindgen/web/sql_fmt_bg.wasm`,
    loader_path: `${fixtures}/wasm-bindgen/web/sql_fmt.js`,
    entry: "format",
  };
  for (let i = 0; i < 200; i++) {
    expect(await client.selectTask(client.callAsync({ ...sql, params: [`select ${i}`, "q.sql"] })), `task ${i}`).toBe(
      `select\n  ${i}`,
    );
  }
  await client.close();
});
