// createWorker with the default policy; the status line is describeBudget(budget), as a status shows it.
import { createWorker, describeBudget } from "/dist/browser/motivus-worker.js";

const query = new URLSearchParams(location.search);
const worker = createWorker({ cluster: location.origin, threads: Number(query.get("threads") ?? 2) });
const show = () => {
  document.getElementById("state").textContent = worker.state;
  document.getElementById("status").textContent = describeBudget(worker.budget);
};
worker.on("budget", show);
worker.on("state", show);
show();
window.worker = worker;
window.started = worker.start().then(
  () => worker.state,
  (err) => `error: ${err.message}`,
);
