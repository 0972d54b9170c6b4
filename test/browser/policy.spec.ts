// The policy in a real Chromium against a real loopback cluster: each browser signal changes the
// budget, the status text and what the cluster sees (offered slots, connected workers). Where the
// browser's state is simulated, the test's name says how.
import type { Page } from "@playwright/test";
import { Client } from "motivus-driver";
import { expect, fixtures, test } from "./support/cluster.js";

const echo = `${fixtures}/c/build/modularize`;

const status = (page: Page) => page.locator("#status");

/** Run `n` echo tasks to the end: a slot the budget no longer wants is retired (or not offered again) after its task. */
async function runTasks(driverUri: string, n: number): Promise<void> {
  const client = await Client.connect({ uri: driverUri, logDir: null });
  try {
    const ids = Array.from({ length: n }, () =>
      client.callAsync({ wasm_path: `${echo}/echo.wasm`, loader_path: `${echo}/echo.js`, arguments: ["x"] }),
    );
    for (const id of ids) expect(await client.selectTask(id)).toBe(0);
  } finally {
    await client.close();
  }
}

test("hidden page (simulated: document.hidden overridden, visibilitychange dispatched): no new tasks, running ones finish; visible again: back to work", async ({
  page,
  cluster,
}) => {
  await page.goto(`${cluster.origin}/pages/policy.html?threads=2`);
  await expect.poll(() => cluster.stats().offered_slots).toBe(2);
  await expect(status(page)).toHaveText("2 threads");

  const setHidden = (hidden: boolean) =>
    page.evaluate((hidden) => {
      Object.defineProperty(document, "hidden", { configurable: true, get: () => hidden });
      Object.defineProperty(document, "visibilityState", { configurable: true, get: () => (hidden ? "hidden" : "visible") });
      document.dispatchEvent(new Event("visibilitychange"));
    }, hidden);
  await setHidden(true);
  await expect(status(page)).toHaveText("paused: this page is hidden (running tasks finish; offered slots may still get a task)");
  expect(await page.evaluate(() => (window as any).worker.budget.paused)).toBe("hidden");
  // The two offers stay promised: the cluster still sends tasks for them, and they run; their slots are not offered again.
  await runTasks(cluster.driverUri, 2);
  await expect.poll(() => cluster.stats().offered_slots).toBe(0);
  expect(cluster.stats().done).toBe(2);

  await setHidden(false);
  await expect(status(page)).toHaveText("2 threads");
  await expect.poll(() => cluster.stats().offered_slots).toBe(2);
});

test("battery (simulated: an init script replaces navigator.getBattery): discharging → one thread, below 20 % → pause, charging → full", async ({
  page,
  cluster,
}) => {
  await page.addInitScript(() => {
    const battery = new EventTarget() as EventTarget & { charging: boolean; level: number };
    battery.charging = true;
    battery.level = 1;
    (navigator as any).getBattery = () => Promise.resolve(battery);
    (window as any).setBattery = (charging: boolean, level: number) => {
      const was = battery.charging;
      battery.charging = charging;
      battery.level = level;
      battery.dispatchEvent(new Event(was === charging ? "levelchange" : "chargingchange"));
    };
  });
  await page.goto(`${cluster.origin}/pages/policy.html?threads=2`);
  await expect.poll(() => cluster.stats().offered_slots).toBe(2);
  await expect(status(page)).toHaveText("2 threads");

  await page.evaluate(() => (window as any).setBattery(false, 0.8));
  await expect(status(page)).toHaveText("1 thread (on battery: one thread)");
  await runTasks(cluster.driverUri, 2); // the surplus slot retires after its task
  await expect.poll(() => cluster.stats().offered_slots).toBe(1);

  await page.evaluate(() => (window as any).setBattery(false, 0.15));
  await expect(status(page)).toHaveText(/^paused: the battery is low \(below 20 %, not charging\)/);
  await runTasks(cluster.driverUri, 1);
  await expect.poll(() => cluster.stats().offered_slots).toBe(0);

  await page.evaluate(() => (window as any).setBattery(true, 0.16));
  await expect(status(page)).toHaveText("2 threads");
  await expect.poll(() => cluster.stats().offered_slots).toBe(2);
});

test("compute pressure (simulated: an init script fakes PressureObserver): serious → one thread, critical → pause, nominal → full", async ({
  page,
  cluster,
}) => {
  await page.addInitScript(() => {
    const observers = new Set<(records: { state: string; source: string; time: number }[]) => void>();
    (window as any).PressureObserver = class {
      constructor(private readonly callback: (records: { state: string; source: string; time: number }[]) => void) {}
      observe() {
        observers.add(this.callback);
        return Promise.resolve();
      }
      disconnect() {
        observers.delete(this.callback);
      }
    };
    (window as any).setPressure = (state: string) => {
      for (const callback of observers) callback([{ state, source: "cpu", time: performance.now() }]);
      return observers.size;
    };
  });
  await page.goto(`${cluster.origin}/pages/policy.html?threads=2`);
  await expect.poll(() => cluster.stats().offered_slots).toBe(2);

  expect(await page.evaluate(() => (window as any).setPressure("serious"))).toBe(1);
  await expect(status(page)).toHaveText("1 thread (the computer is busy: one thread)");
  await runTasks(cluster.driverUri, 2);
  await expect.poll(() => cluster.stats().offered_slots).toBe(1);

  await page.evaluate(() => (window as any).setPressure("critical"));
  await expect(status(page)).toHaveText(/^paused: the computer is under critical load/);
  await runTasks(cluster.driverUri, 1);
  await expect.poll(() => cluster.stats().offered_slots).toBe(0);

  await page.evaluate(() => (window as any).setPressure("nominal"));
  await expect(status(page)).toHaveText("2 threads");
  await expect.poll(() => cluster.stats().offered_slots).toBe(2);
});

test("two tabs of one origin (two real pages, Web Locks): only one computes; close it and the other takes over", async ({
  context,
  cluster,
}) => {
  const first = await context.newPage();
  await first.goto(`${cluster.origin}/pages/policy.html?threads=1`);
  await expect.poll(() => cluster.stats().offered_slots).toBe(1);
  await expect(status(first)).toHaveText("1 thread");

  const second = await context.newPage();
  await second.goto(`${cluster.origin}/pages/policy.html?threads=3`);
  await expect(status(second)).toHaveText("waiting: working in another tab of this site");
  await expect(second.locator("#state")).toHaveText("waiting");
  expect(await second.evaluate(() => (window as any).started)).toBe("waiting");
  // Offered slots from the first page only, and one worker channel: the second never connected.
  await new Promise((ok) => setTimeout(ok, 1000));
  expect(cluster.stats()).toMatchObject({ workers: 1, offered_slots: 1 });

  await first.close();
  await expect(status(second)).toHaveText("3 threads");
  await expect(second.locator("#state")).toHaveText("running");
  await expect.poll(() => cluster.stats()).toMatchObject({ workers: 1, offered_slots: 3 });
  await runTasks(cluster.driverUri, 3);
});

test("offline (simulated: context.setOffline; the first request back online fails, by page.route): lets go of the cluster and waits quietly; online again: retries and resumes", async ({
  page,
  context,
  cluster,
}) => {
  const errors: string[] = [];
  page.on("console", (msg) => msg.type() === "error" && errors.push(msg.text()));
  await page.goto(`${cluster.origin}/pages/policy.html?threads=2`);
  await expect.poll(() => cluster.stats().offered_slots).toBe(2);

  await context.setOffline(true);
  await expect(status(page)).toHaveText("waiting: you are offline");
  await expect(page.locator("#state")).toHaveText("waiting");
  await expect.poll(() => cluster.stats().workers, { timeout: 40_000 }).toBe(0);
  await new Promise((ok) => setTimeout(ok, 2000));
  expect(errors).toEqual([]); // no reconnect attempts while offline

  // Back online, the network's first request still fails (as it often does right after the event):
  // the worker tries again instead of giving up.
  let refused = 0;
  await page.route("**/auth/guest", (route) => (refused++ === 0 ? route.abort("internetdisconnected") : route.continue()));
  await context.setOffline(false);
  await expect(status(page)).toHaveText("2 threads");
  await expect(page.locator("#state")).toHaveText("running");
  expect(refused).toBe(2);
  await expect.poll(() => cluster.stats()).toMatchObject({ workers: 1, offered_slots: 2 });
  await runTasks(cluster.driverUri, 2);
});
