/**
 * Runs inside the sandbox frame (serialised into its srcdoc, so it may use
 * nothing from outside this function). It turns the runtime source into a
 * blob URL once, then starts one Web Worker per `spawn`, handing it the host's
 * MessagePort. Workers made from the frame's blob URLs inherit the frame's
 * opaque origin and CSP. Only the parent is obeyed; a `spawn` that comes
 * before the runtime waits for it. A `ping` is answered at once: while its
 * workers run tasks the host asks, and a frame whose process died (an
 * algorithm ran it out of memory) answers nothing.
 */
import type { FromFrame, ToFrame } from "../../messages/sandbox.js";

export function frameMain(): void {
  let runtimeUrl: string | null = null;
  const waiting: Extract<ToFrame, { kind: "spawn" }>[] = [];
  const workers = new Map<number, Worker>();
  const tell = (message: FromFrame) => parent.postMessage(message, "*");
  const spawn = ({ id, port }: Extract<ToFrame, { kind: "spawn" }>, url: string) => {
    try {
      const worker = new Worker(url, { name: `motivus-${id}` });
      worker.addEventListener("error", (e) => {
        e.preventDefault();
        tell({ kind: "crashed", id, message: e.message || "the worker stopped" });
      });
      worker.postMessage({ port }, [port]);
      workers.set(id, worker);
      tell({ kind: "spawned", id });
    } catch (error) {
      tell({ kind: "crashed", id, message: `the sandbox could not start a worker: ${(error as Error)?.message ?? error}` });
    }
  };
  addEventListener("message", (event: MessageEvent<ToFrame>) => {
    if (event.source !== parent || event.data === null || typeof event.data !== "object") return;
    const message = event.data;
    if (message.kind === "runtime" && runtimeUrl === null && typeof message.source === "string") {
      const url = URL.createObjectURL(new Blob([message.source], { type: "text/javascript" }));
      runtimeUrl = url;
      for (const early of waiting.splice(0)) spawn(early, url);
    } else if (message.kind === "spawn" && typeof message.id === "number" && message.port instanceof MessagePort) {
      if (runtimeUrl) spawn(message, runtimeUrl);
      else waiting.push(message);
    } else if (message.kind === "ping" && typeof message.id === "number") {
      tell({ kind: "pong", id: message.id });
    } else if (message.kind === "terminate") {
      workers.get(message.id)?.terminate();
      workers.delete(message.id);
    }
  });
  tell({ kind: "ready" });
}
