/**
 * The script that runs inside the sandbox frame (serialised into its srcdoc).
 * It turns the runtime source into a blob URL once, then starts one Web Worker
 * per `spawn`, handing it the host's MessagePort. Workers made from the
 * frame's blob URLs inherit the frame's opaque origin and CSP.
 */
import type { FromFrame, ToFrame } from "./protocol.js";

export function frameMain(): void {
  let runtimeUrl: string | null = null;
  const workers = new Map<number, Worker>();
  const tell = (message: FromFrame) => parent.postMessage(message, "*");
  addEventListener("message", (event: MessageEvent<ToFrame>) => {
    if (event.source !== parent) return;
    const message = event.data;
    if (message.kind === "runtime") {
      runtimeUrl = URL.createObjectURL(new Blob([message.source], { type: "text/javascript" }));
    } else if (message.kind === "spawn" && runtimeUrl) {
      const worker = new Worker(runtimeUrl, { name: `motivus-${message.id}` });
      worker.addEventListener("error", (e) => {
        e.preventDefault();
        tell({ kind: "crashed", id: message.id, message: e.message || "the worker stopped" });
      });
      worker.postMessage({ port: message.port }, [message.port]);
      workers.set(message.id, worker);
      tell({ kind: "spawned", id: message.id });
    } else if (message.kind === "terminate") {
      workers.get(message.id)?.terminate();
      workers.delete(message.id);
    }
  });
  tell({ kind: "ready" });
}
