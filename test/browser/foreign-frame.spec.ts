// A frame of another origin inside the host page forges the messages of the host ↔ sandbox frame
// protocol (crashed, spawned, ready, runtime, spawn, terminate) at the host and at the sandbox
// frame. Nothing is trusted: no worker is ended or spawned by it, tasks keep their right answers,
// and the attacker never hears from a worker.
import { Client } from "motivus-driver";
import { expect, fixtures, test } from "./support/cluster.js";

const echo = { wasm_path: `${fixtures}/c/build/classic/echo.wasm`, loader_path: `${fixtures}/c/build/classic/echo.js` };

test("forged frame messages from a foreign frame are ignored by the host page and the sandbox frame", async ({
  page,
  cluster,
}) => {
  await page.goto(`${cluster.origin}/worker.html?autostart=1&threads=2`);
  await expect.poll(() => cluster.stats().offered_slots).toBe(2);
  const failures: string[] = [];
  await page.exposeFunction("reportFailure", (error: string) => void failures.push(error));
  await page.evaluate(() =>
    (window as any).motivusWorker.on("taskFailed", ({ error }: { error: string }) => (window as any).reportFailure(error)),
  );

  // Another origin: localhost instead of 127.0.0.1.
  const foreign = cluster.origin.replace("127.0.0.1", "localhost");
  await page.evaluate((src) => {
    const iframe = document.createElement("iframe");
    iframe.src = src;
    document.body.append(iframe);
  }, `${foreign}/pages/attacker.html`);
  const isAttacker = (url: string) => url.includes("attacker.html");
  await expect.poll(() => page.frames().some((f) => isAttacker(f.url()))).toBe(true);
  const attacker = page.frames().find((f) => isAttacker(f.url()))!;
  await attacker.waitForFunction(() => typeof (window as any).attack === "function");
  const targets = await attacker.evaluate(() => (window as any).attack());
  expect(targets).toBeGreaterThanOrEqual(3); // the host, and the sandbox frame among its frames

  const client = await Client.connect({ uri: cluster.driverUri, logDir: null });
  const ids = [1, 2, 3, 4].map((i) => client.callAsync({ ...echo, arguments: [`task-${i}`], result_files: {} }));
  expect(await client.barrier(ids)).toEqual([0, 0, 0, 0]);
  await client.close();

  expect(failures).toEqual([]);
  // The workers the host spawned are still the only ones, still offering.
  await expect.poll(() => cluster.stats().offered_slots).toBe(2);
  expect(await attacker.evaluate(() => (window as any).received.filter((r: { where: string }) => r.where !== "window"))).toEqual(
    [],
  );
});
