// A host page that re-renders and throws the sandbox frame away mid-task: the running task is
// answered with an error (its driver is not left waiting), a new frame is made, and the next tasks run.
import { Client, TaskError } from "motivus-driver";
import { expect, fixtures, test } from "./support/cluster.js";

const c = (name: string) => ({
  wasm_path: `${fixtures}/c/build/classic/${name}.wasm`,
  loader_path: `${fixtures}/c/build/classic/${name}.js`,
});

test("the sandbox frame removed by the host page mid-task: the task fails with a reason, a new frame takes over", async ({
  page,
  cluster,
}) => {
  await page.goto(`${cluster.origin}/worker.html?autostart=1&threads=1`);
  await expect.poll(() => cluster.stats().offered_slots).toBe(1);
  const client = await Client.connect({ uri: cluster.driverUri, logDir: null });
  const forever = client.selectTask(client.callAsync(c("forever")));
  await expect.poll(() => cluster.stats().running).toBe(1);
  const frames = () => page.evaluate(() => document.querySelectorAll("iframe[sandbox]").length);
  expect(await frames()).toBe(1);
  await page.evaluate(() => document.querySelector("iframe[sandbox]")!.remove());

  await expect(forever).rejects.toThrow(TaskError);
  await expect(forever).rejects.toThrow(/sandbox frame was removed/);
  await expect.poll(frames).toBe(1);
  expect(await client.selectTask(client.callAsync({ ...c("echo"), arguments: ["after"] }))).toBe(0);
  await client.close();
});
