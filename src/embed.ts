/**
 * The script-tag entry: `<script src=".../motivus-embed.js" data-cluster="wss://…/socket"></script>`.
 * Exposes `window.Motivus.createWorker` and, from the tag's data attributes,
 * a ready `window.Motivus.worker`. It starts only with `data-autostart`
 * (the consent widget comes in its own release); otherwise call `start()`.
 */
import { createWorker, type MotivusWorker, type WorkerOptions } from "./index.js";

const script = document.currentScript as HTMLScriptElement | null;
const data = script?.dataset ?? {};
const options: WorkerOptions = {};
if (data.cluster) options.cluster = data.cluster;
if (data.token) options.token = data.token;
if (data.threads) options.threads = Number(data.threads);
if (script?.src) options.runtimeUrl = new URL("runtime.js", script.src).href;

const worker: MotivusWorker = createWorker(options);
declare global {
  interface Window {
    Motivus: { createWorker: typeof createWorker; worker: MotivusWorker };
  }
}
window.Motivus = { createWorker, worker };
if (data.autostart !== undefined) worker.start().catch((err: Error) => console.error(`motivus: ${err.message}`));
