/**
 * The worker's standing with the cluster, as one table: which event moves which state to which.
 * A move the table does not list is ignored, not thrown: most events come from the network, a
 * timer or the browser (a join reply after a leave, a retry timer after the channel came back), so
 * a late one is a race to drop, and an exception there would reach the host page.
 */

/** `waiting`: started, but the policy holds the connection back (offline, or another tab of this site works). */
export type WorkerState = "idle" | "connecting" | "running" | "waiting" | "reconnecting" | "stopped" | "error";

/** What happens to a worker. */
export type StateEvent =
  /** `start()`: the visitor agreed. */
  | "start"
  /** A connection attempt begins: the first one, or a retry after back-off. */
  | "connect"
  /** The policy lets the worker connect again (back online, this tab's turn). */
  | "release"
  /** The channel is joined (the first time, or Phoenix rejoined after a drop). */
  | "joined"
  /** The channel dropped; Phoenix reconnects by itself. */
  | "lost"
  /** The policy says not to connect (offline, another tab of this site works). */
  | "hold"
  /** A connection attempt after the first start failed; it is retried with back-off. */
  | "connectFailed"
  /** `stop()`. */
  | "stop"
  /** `start()` failed; `stop` came first (its teardown), this marks the error. */
  | "fail";

type Moves = Readonly<Partial<Record<WorkerState, WorkerState>>>;

/** Every move there is; a self-loop (`connecting → connecting`) only updates the reason. */
export const TRANSITIONS: Readonly<Record<StateEvent, Moves>> = {
  start: { idle: "connecting", stopped: "connecting", error: "connecting" },
  connect: { connecting: "connecting", reconnecting: "connecting" },
  release: { waiting: "connecting" },
  joined: { connecting: "running", reconnecting: "running" },
  lost: { running: "reconnecting" },
  hold: { connecting: "waiting", running: "waiting", reconnecting: "waiting", waiting: "waiting" },
  connectFailed: { connecting: "reconnecting" },
  // Stopping a worker never started leaves it idle.
  stop: {
    connecting: "stopped",
    running: "stopped",
    waiting: "stopped",
    reconnecting: "stopped",
    stopped: "stopped",
    error: "stopped",
  },
  fail: { stopped: "error" },
};

/** Where `event` moves `state`, or null when the table has no such move. */
export function nextState(state: WorkerState, event: StateEvent): WorkerState | null {
  return TRANSITIONS[event][state] ?? null;
}

/** Started and not stopped: the states `stop` leaves. */
export function isActive(state: WorkerState): boolean {
  return state === "connecting" || state === "running" || state === "waiting" || state === "reconnecting";
}

export interface StateChange {
  state: WorkerState;
  /** Why: the policy's reason for waiting, the connection's for reconnecting, the error's message. */
  reason: string | null;
}

/** The current state, moved only through the table; each change (state or reason) is reported once. */
export class Lifecycle {
  private now: StateChange = { state: "idle", reason: null };

  constructor(private readonly report: (change: StateChange) => void) {}

  get state(): WorkerState {
    return this.now.state;
  }

  get reason(): string | null {
    return this.now.reason;
  }

  get active(): boolean {
    return isActive(this.now.state);
  }

  /** Whether the table has a move for `event` from here. */
  can(event: StateEvent): boolean {
    return nextState(this.now.state, event) !== null;
  }

  /** Apply `event`; false, and nothing changes, when the table has no move for it from here. */
  move(event: StateEvent, reason: string | null = null): boolean {
    const state = nextState(this.now.state, event);
    if (state === null) return false;
    if (state !== this.now.state || reason !== this.now.reason) {
      this.now = { state, reason };
      this.report({ state, reason });
    }
    return true;
  }
}
