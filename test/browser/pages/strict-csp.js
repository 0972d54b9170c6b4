import { createWorker } from "/dist/browser/motivus-worker.js";

const worker = createWorker({ cluster: location.origin, threads: 1 });
window.startResult = worker.start().then(
  () => `started (${worker.state})`,
  (err) => `refused: ${err.message} (state ${worker.state})`,
);
