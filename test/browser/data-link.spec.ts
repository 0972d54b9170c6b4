// data_link as the host page fetches it for an algorithm: no cookies of the host site go with it,
// a relative or non-https link of another site is refused with a result that says why, and the
// worker goes on working.
import { Client, TaskError } from "motivus-driver";
import { expect, fixtures, test } from "./support/cluster.js";

const datapkg = { wasm_path: `${fixtures}/c/build/classic/datapkg.wasm`, loader_path: `${fixtures}/c/build/classic/datapkg.js` };

test("data_link: no credentials are sent, relative and plain-http foreign links are refused", async ({ page, cluster }) => {
  await page.goto(`${cluster.origin}/worker.html?autostart=1&threads=1`);
  await expect.poll(() => cluster.stats().offered_slots).toBe(1);
  // The visitor is "logged in" to the host site, which is also the cluster here.
  await page.evaluate(() => (document.cookie = "session=secret-of-the-visitor; path=/"));
  const cookies: (string | undefined)[] = [];
  page.on("request", (request) => {
    if (request.url().endsWith(".data.zip")) void request.allHeaders().then((headers) => cookies.push(headers.cookie));
  });

  const client = await Client.connect({ uri: cluster.driverUri, logDir: null });
  const link = `${cluster.origin}/fixtures/c/build/classic/datapkg.data.zip`;
  expect(await client.selectTask(client.callAsync({ ...datapkg, data_link: link }))).toBe(0);
  await expect.poll(() => cookies.length).toBe(1);
  expect(cookies[0]).toBeUndefined();

  for (const [bad, why] of [
    ["/fixtures/c/build/classic/datapkg.data.zip", /not an absolute URL/],
    // plain http on this machine, but not the cluster: another port
    [link.replace(`:${cluster.port}/`, `:${cluster.port + 1}/`), /only https/],
    ["file:///etc/passwd", /only https/],
  ] as const) {
    const failed = client.selectTask(client.callAsync({ ...datapkg, data_link: bad }));
    await expect(failed, bad).rejects.toThrow(TaskError);
    await expect(failed, bad).rejects.toThrow(why);
  }
  // Still working; and the cluster under another of its names (the page works at 127.0.0.1) is
  // still the cluster: it hands the page the link on the page's own origin (src/loopback/links.ts).
  expect(await client.selectTask(client.callAsync({ ...datapkg, data_link: link }))).toBe(0);
  expect(await client.selectTask(client.callAsync({ ...datapkg, data_link: link.replace("127.0.0.1", "localhost") }))).toBe(0);
  await client.close();
});
