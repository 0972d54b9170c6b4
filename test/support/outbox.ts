/** A fake of the pool's outbox (the cluster connection, outside the pool): it records offers and results. */
import type { WorkerResult } from "motivus-protocol";

export function recordingOutbox() {
  return {
    joined: true,
    offers: [] as string[],
    results: [] as WorkerResult[],
    offer(tid: string) {
      this.offers.push(tid);
    },
    sendResult(result: WorkerResult) {
      this.results.push(result);
    },
  };
}
