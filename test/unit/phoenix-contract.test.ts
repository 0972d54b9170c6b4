// The phoenix internals the driver relies on (packages/driver/src/phoenix-adapter.ts), checked against
// the installed phoenix package through the adapter itself, with a real Socket over a real WebSocket
// to a minimal server that speaks Phoenix V2 frames. An upgrade of phoenix that changes one of them
// fails here, not in a user's tasks; and the installed release must be the one the driver pins.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Channel, Socket } from "phoenix";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WebSocket, WebSocketServer } from "ws";
import { frameChannel, type PushReply } from "../../packages/driver/src/phoenix-adapter.js";
import { until } from "../support/until.js";

const driverDir = fileURLToPath(new URL("../../packages/driver/", import.meta.url));

/** The package.json of the phoenix the driver resolves (its `exports` hide it: found from its entry point). */
function installedPhoenix(): { name: string; version: string } {
  let dir = dirname(createRequire(join(driverDir, "package.json")).resolve("phoenix"));
  for (;;) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name: string; version: string };
      if (manifest.name === "phoenix") return manifest;
    } catch {
      // no package.json here: go up
    }
    if (dirname(dir) === dir) throw new Error("the driver resolves no phoenix package");
    dir = dirname(dir);
  }
}

type V2Frame = [string | null, string | null, string, string, unknown];

/** A cluster of the fewest words: joins and heartbeats answered ok, `task` pushes answered with an error; every frame kept. */
async function phoenixServer() {
  const frames: V2Frame[] = [];
  const sockets = new Set<WebSocket>();
  const server = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  server.on("connection", (ws) => {
    sockets.add(ws);
    ws.on("close", () => sockets.delete(ws));
    ws.on("message", (data) => {
      const frame = JSON.parse(String(data)) as V2Frame;
      frames.push(frame);
      const [joinRef, ref, topic, event] = frame;
      const reply =
        event === "task"
          ? { status: "error", response: { reason: "refused by the test server" } }
          : { status: "ok", response: {} };
      ws.send(JSON.stringify([joinRef, ref, topic, "phx_reply", reply]));
    });
  });
  await new Promise((listening) => server.once("listening", listening));
  const { port } = server.address() as { port: number };
  return {
    frames,
    url: `ws://127.0.0.1:${port}/socket`,
    /** Drop every connection, as a network failure would. */
    drop: () => sockets.forEach((ws) => ws.terminate()),
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

describe("the phoenix package the driver uses", () => {
  it("is the exact release packages/driver/package.json pins", () => {
    const pin = (JSON.parse(readFileSync(join(driverDir, "package.json"), "utf8")) as { dependencies: Record<string, string> })
      .dependencies.phoenix;
    expect(pin, "the driver pins phoenix to one exact version, no range").toMatch(/^\d+\.\d+\.\d+$/);
    expect(installedPhoenix().version).toBe(pin);
  });

  it("has the untyped methods the adapter calls", () => {
    // Socket#push(frame, channel) and Socket#makeRef(); Channel#joinRef().
    expect(typeof Socket.prototype.push).toBe("function");
    expect(Socket.prototype.push.length).toBe(2);
    expect(typeof Socket.prototype.makeRef).toBe("function");
    expect(typeof (Channel.prototype as unknown as { joinRef: unknown }).joinRef).toBe("function");
  });
});

describe("the adapter's frames through the installed phoenix", () => {
  let server: Awaited<ReturnType<typeof phoenixServer>>;
  let socket: Socket;
  beforeEach(async () => {
    server = await phoenixServer();
    socket = new Socket(server.url, {
      transport: WebSocket as never,
      reconnectAfterMs: () => 10,
      rejoinAfterMs: () => 10,
    });
    socket.connect();
  });
  afterEach(async () => {
    socket.disconnect();
    await server.close();
  });

  const joined = async (channel: Channel) => {
    channel.join();
    await until(() => channel.state === "joined");
  };
  const joinsOf = (topic: string) => server.frames.filter(([, , t, event]) => t === topic && event === "phx_join");
  const pushesOf = (event: string) => server.frames.filter(([, , , e]) => e === event);

  it("a pushed frame goes out as it is, under the channel's current join ref and a ref of its own", async () => {
    const channel = socket.channel("room:contract");
    await joined(channel);
    const ref = frameChannel(socket, channel).push("task", { n: 1 });
    await until(() => pushesOf("task").length === 1);
    const [join] = joinsOf("room:contract");
    expect(pushesOf("task")[0]).toEqual([join![1], ref, "room:contract", "task", { n: 1 }]);
    expect(typeof ref).toBe("string");
    expect(ref).not.toBe(join![1]);
  });

  it("after the connection drops and the channel rejoins, a frame carries the new join's ref", async () => {
    const channel = socket.channel("room:rejoin");
    await joined(channel);
    const frames = frameChannel(socket, channel); // made once, as the driver's client makes it
    server.drop();
    await until(() => joinsOf("room:rejoin").length === 2 && channel.state === "joined");
    frames.push("task", { n: 2 });
    await until(() => pushesOf("task").length === 1);
    const rejoin = joinsOf("room:rejoin")[1]!;
    expect(pushesOf("task")[0]![0]).toBe(rejoin[1]);
  });

  it("onReply hears each reply with the ref of the frame it answers", async () => {
    const channel = socket.channel("room:replies");
    await joined(channel);
    const frames = frameChannel(socket, channel);
    const replies: [PushReply, string][] = [];
    frames.onReply((reply, ref) => void replies.push([reply, ref]));
    const refs = [frames.push("task", { n: 1 }), frames.push("task", { n: 2 })];
    await until(() => replies.length === 2);
    expect(replies).toEqual(refs.map((ref) => [{ status: "error", response: { reason: "refused by the test server" } }, ref]));
  });
});
