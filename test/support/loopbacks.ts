/** Loopback clusters for a unit test file: each on a free port, all closed after the file's tests. */
import { afterAll } from "vitest";
import { startLoopback, type LoopbackOptions, type LoopbackServer } from "../../packages/loopback/src/server.js";

const servers: LoopbackServer[] = [];
afterAll(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

export async function cluster(options: LoopbackOptions = {}): Promise<LoopbackServer> {
  const server = await startLoopback({ port: 0, ...options });
  servers.push(server);
  return server;
}
