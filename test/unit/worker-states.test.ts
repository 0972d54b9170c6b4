// The worker's states (packages/worker/src/cluster/worker-state.ts): which event moves which state to
// which, as createWorker's controller drives them; no browser, no cluster, only the table and its holder.
import { describe, expect, it } from "vitest";
import {
  isActive,
  Lifecycle,
  nextState,
  TRANSITIONS,
  type StateChange,
  type StateEvent,
  type WorkerState,
} from "../../packages/worker/src/cluster/worker-state.js";

const STATES: WorkerState[] = ["idle", "connecting", "running", "waiting", "reconnecting", "stopped", "error"];
const EVENTS = Object.keys(TRANSITIONS) as StateEvent[];

/** A lifecycle and every change it reported. */
function lifecycle(): { life: Lifecycle; reported: StateChange[] } {
  const reported: StateChange[] = [];
  return { life: new Lifecycle((change) => reported.push(change)), reported };
}

/** Apply the events in turn; what each move answered. */
function run(life: Lifecycle, steps: (StateEvent | [StateEvent, string])[]): boolean[] {
  return steps.map((step) => (typeof step === "string" ? life.move(step) : life.move(...step)));
}

describe("a worker's life, event by event", () => {
  it("start, join, lose the channel, rejoin, stop", () => {
    const { life, reported } = lifecycle();
    run(life, ["start", "connect", "joined", ["lost", "the connection to the cluster dropped; reconnecting"], "joined", "stop"]);
    expect(reported).toEqual([
      { state: "connecting", reason: null },
      { state: "running", reason: null },
      { state: "reconnecting", reason: "the connection to the cluster dropped; reconnecting" },
      { state: "running", reason: null },
      { state: "stopped", reason: null },
    ]);
  });

  it("the policy holds it back (its reason changing while it waits) and lets it go", () => {
    const { life, reported } = lifecycle();
    run(life, ["start", ["hold", "you are offline"], ["hold", "working in another tab of this site"], "release", "connect"]);
    expect(reported).toEqual([
      { state: "connecting", reason: null },
      { state: "waiting", reason: "you are offline" },
      { state: "waiting", reason: "working in another tab of this site" },
      { state: "connecting", reason: null },
    ]);
    expect(life.active).toBe(true);
  });

  it("a running worker the policy holds waits; a reconnect that fails waits for its retry, which connects again", () => {
    const { life } = lifecycle();
    run(life, ["start", "connect", "joined", ["hold", "working in another tab of this site"], "release"]);
    expect(life.move("connectFailed", "could not reach the cluster")).toBe(true);
    expect([life.state, life.reason]).toEqual(["reconnecting", "could not reach the cluster"]);
    expect(life.move("connect")).toBe(true);
    expect(life.state).toBe("connecting");
  });

  it("a start that fails reports stopped (the teardown), then error with its message; start again from there", () => {
    const { life, reported } = lifecycle();
    run(life, ["start", "stop", ["fail", "could not load the worker runtime"]]);
    expect(reported.map((c) => c.state)).toEqual(["connecting", "stopped", "error"]);
    expect(life.reason).toBe("could not load the worker runtime");
    expect(life.active).toBe(false);
    expect(life.move("start")).toBe(true);
    expect([life.state, life.reason]).toEqual(["connecting", null]);
  });

  it("stop before any start stays idle and reports nothing; stop twice reports once", () => {
    const { life, reported } = lifecycle();
    expect(life.move("stop")).toBe(false);
    expect(life.state).toBe("idle");
    run(life, ["start", "stop", "stop"]);
    expect(reported.map((c) => c.state)).toEqual(["connecting", "stopped"]);
  });

  it("a second start while started is no move (start() returns at once)", () => {
    const { life, reported } = lifecycle();
    run(life, ["start", "connect", "joined"]);
    expect(life.move("start")).toBe(false);
    expect(life.state).toBe("running");
    expect(reported).toHaveLength(2);
  });
});

describe("moves the table does not have are ignored, never thrown", () => {
  it("late events of the network, a timer or the policy leave the state as it is and report nothing", () => {
    const cases: [WorkerState, StateEvent[], StateEvent][] = [
      ["stopped", ["start", "connect", "stop"], "joined"], // a join reply after the leave
      ["waiting", ["start", "hold"], "lost"], // the channel closing after the policy let go of it
      ["running", ["start", "connect", "joined"], "connect"], // a retry timer after the channel came back
      ["running", ["start", "connect", "joined"], "release"], // the policy allowing what already runs
      ["idle", [], "fail"],
    ];
    for (const [state, before, late] of cases) {
      const { life, reported } = lifecycle();
      run(life, before);
      const count = reported.length;
      expect(life.state).toBe(state);
      expect(life.can(late)).toBe(false);
      expect(life.move(late, "late")).toBe(false);
      expect([life.state, reported.length]).toEqual([state, count]);
    }
  });
});

describe("the table as a whole", () => {
  /** The moves out of `state` to another state, by event. */
  const movesFrom = (state: WorkerState) =>
    Object.fromEntries(
      EVENTS.flatMap((event) => {
        const next = nextState(state, event);
        return next && next !== state ? [[event, next]] : [];
      }),
    );

  it("every state is reachable from idle", () => {
    const seen = new Set<WorkerState>(["idle"]);
    for (const state of seen) for (const next of Object.values(movesFrom(state))) seen.add(next);
    expect([...seen].sort()).toEqual([...STATES].sort());
  });

  it("only start leaves idle; stopped and error are left by start (and by the failed start's error, or a stop)", () => {
    expect(movesFrom("idle")).toEqual({ start: "connecting" });
    expect(movesFrom("stopped")).toEqual({ start: "connecting", fail: "error" });
    expect(movesFrom("error")).toEqual({ start: "connecting", stop: "stopped" });
  });

  it("started (active) is connecting, running, waiting and reconnecting: stop ends each, nothing else does", () => {
    expect(STATES.filter(isActive)).toEqual(["connecting", "running", "waiting", "reconnecting"]);
    for (const state of STATES.filter(isActive)) {
      const { stop, ...others } = movesFrom(state);
      expect(stop).toBe("stopped");
      for (const [event, next] of Object.entries(others)) expect(isActive(next), `${event} from ${state}`).toBe(true);
    }
  });
});
