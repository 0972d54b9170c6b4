/**
 * The slots of every joined worker channel, keyed by the channel (its unique
 * id), never by the topic: a second socket on the same topic is another
 * channel and can neither take nor answer the first one's tasks. A channel
 * holds at most `maxSlots` slots, offered and running together; offers past
 * that are refused, and a repeated offer is ignored. Matching picks, among
 * the channels with a free slot, the one running the fewest tasks, the least
 * recently picked on a tie (round-robin), so a worker that offers many slots
 * first does not take every task.
 */
import type { Peer, Task } from "./task.js";

export class WorkerSlots {
  /** Offered tids, oldest first. */
  readonly free = new Set<string>();
  readonly running = new Map<string, Task>();
  /** When it was last picked (a counter, for round-robin on ties). */
  lastPicked = 0;
  /** Whether an offer past the cap was already logged for it. */
  toldFull = false;

  constructor(readonly peer: Peer) {}

  get held(): number {
    return this.free.size + this.running.size;
  }

  /** Take the oldest offered tid. */
  takeFree(): string {
    const tid = this.free.values().next().value as string;
    this.free.delete(tid);
    return tid;
  }
}

export type Offer = "offered" | "repeated" | "full";

export class WorkerChannels {
  private readonly byId = new Map<number, WorkerSlots>();
  private picks = 0;

  constructor(private readonly maxSlots: number) {}

  get(peer: Peer): WorkerSlots | undefined {
    return this.byId.get(peer.id);
  }

  /** Offer one slot of `peer`'s channel. */
  offer(peer: Peer, tid: string): Offer {
    let worker = this.byId.get(peer.id);
    if (!worker) this.byId.set(peer.id, (worker = new WorkerSlots(peer)));
    if (worker.free.has(tid) || worker.running.has(tid)) return "repeated";
    if (worker.held >= this.maxSlots) return "full";
    worker.free.add(tid);
    return "offered";
  }

  /** Forget a channel that closed; its slots with it. */
  remove(peer: Peer): WorkerSlots | undefined {
    const worker = this.byId.get(peer.id);
    this.byId.delete(peer.id);
    return worker;
  }

  /** The channel the next task goes to (see above), or none with a free slot. `trusted`: only trusted channels. */
  pick(trusted: boolean): WorkerSlots | undefined {
    let best: WorkerSlots | undefined;
    for (const worker of this.byId.values()) {
      if (worker.free.size === 0 || (trusted && !worker.peer.trusted)) continue;
      if (
        !best ||
        worker.running.size < best.running.size ||
        (worker.running.size === best.running.size && worker.lastPicked < best.lastPicked)
      )
        best = worker;
    }
    if (best) best.lastPicked = ++this.picks;
    return best;
  }

  /** Whether any channel has a free slot. */
  hasFree(trusted: boolean): boolean {
    for (const worker of this.byId.values()) if (worker.free.size > 0 && (!trusted || worker.peer.trusted)) return true;
    return false;
  }

  offeredSlots(): number {
    let n = 0;
    for (const worker of this.byId.values()) n += worker.free.size;
    return n;
  }

  *all(): IterableIterator<WorkerSlots> {
    yield* this.byId.values();
  }
}
