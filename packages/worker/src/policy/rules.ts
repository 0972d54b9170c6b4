/**
 * How much to run right now, as pure functions: the visitor's choice and what
 * the browser says (visibility, battery, compute pressure, network, other
 * tabs, data saver) in; one budget the pool obeys out. No browser API is
 * touched here (signals.ts reads them), so every rule is unit-tested.
 */
import { MiB } from "motivus-protocol";

/** Why the budget is below the visitor's choice. Each one is a rule, and each shows in the status. */
export const Reason = {
  offline: "offline",
  otherTab: "other-tab",
  hidden: "hidden",
  batteryLow: "battery-low",
  battery: "battery",
  pressureCritical: "pressure-critical",
  pressureSerious: "pressure-serious",
  saveData: "save-data",
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

/** Compute Pressure API states (`PressureObserver`, source "cpu"). */
export type PressureState = "nominal" | "fair" | "serious" | "critical";

/** What the browser says now; a signal the browser does not give is null (and limits nothing). */
export interface Signals {
  hidden: boolean;
  online: boolean;
  /** Whether this tab holds the one-per-origin lock ("other": another tab of this site works). */
  tab: "mine" | "other";
  battery: { charging: boolean; level: number } | null;
  pressure: PressureState | null;
  /** `navigator.connection.saveData`. */
  saveData: boolean;
}

export const VISIBLE_SIGNALS: Signals = {
  hidden: false,
  online: true,
  tab: "mine",
  battery: null,
  pressure: null,
  saveData: false,
};

/** The rules, each an option (`createWorker({ policy })`). */
export interface PolicyRules {
  /** A hidden page: keep going, drop to one thread, or take no new tasks (running ones finish). */
  whenHidden: "continue" | "one-thread" | "pause";
  /** Battery: below `lowBattery` and discharging → pause; discharging → one thread; charging → full. */
  battery: boolean;
  /** Level (0–1) under which a discharging battery pauses the work. */
  lowBattery: number;
  /** Compute pressure: serious → one thread, critical → pause. */
  pressure: boolean;
  /** One working tab per origin (Web Locks); the others wait and take over when it closes. */
  oneTab: boolean;
  /** With data saver on, data packages (`data_link`) larger than this are refused. */
  saveDataMaxBytes: number;
}

export const DEFAULT_RULES: PolicyRules = {
  whenHidden: "pause",
  battery: true,
  lowBattery: 0.2,
  pressure: true,
  oneTab: true,
  saveDataMaxBytes: 5 * 1024 * 1024,
};

/** What the visitor chose. */
export interface Choice {
  threads: number;
  /** Busy fraction of each slot, 0 < share ≤ 1 (CPU share). */
  share: number;
}

/** What the pool obeys. */
export interface Budget {
  /** Slots to keep. */
  threads: number;
  /** Why no new task is taken now, or null. Offered slots stay promised: the cluster may still send a task for one. */
  paused: Reason | null;
  /** Busy fraction of each slot: after a task that took `busy` ms its slot rests `restMs(busy, share)`. */
  share: number;
  /** Whether to hold a connection at all: not while offline, nor while another tab of this site works. */
  connect: boolean;
  /** The rules that keep `threads` (or the data packages) below what was chosen. */
  limits: Reason[];
  /** Data packages above this many bytes are refused (data saver), else null. */
  maxDataBytes: number | null;
}

/** The budget for these signals under these rules. */
export function budgetFor(choice: Choice, signals: Signals, rules: PolicyRules = DEFAULT_RULES): Budget {
  const limits: Reason[] = [];
  let threads = Math.max(1, Math.floor(choice.threads));
  const oneThread = (reason: Reason) => {
    if (threads > 1) threads = 1;
    limits.push(reason);
  };
  const { battery, pressure } = signals;
  const discharging = rules.battery && battery !== null && !battery.charging;
  if (signals.hidden && rules.whenHidden === "one-thread") oneThread(Reason.hidden);
  if (discharging) oneThread(Reason.battery);
  if (rules.pressure && pressure === "serious") oneThread(Reason.pressureSerious);
  const maxDataBytes = signals.saveData ? rules.saveDataMaxBytes : null;
  if (maxDataBytes !== null) limits.push(Reason.saveData);

  // The first that applies is the reason shown; the order is how much each outranks the others.
  const pauses: [boolean, Reason][] = [
    [!signals.online, Reason.offline],
    [rules.oneTab && signals.tab === "other", Reason.otherTab],
    [signals.hidden && rules.whenHidden === "pause", Reason.hidden],
    [discharging && battery!.level < rules.lowBattery, Reason.batteryLow],
    [rules.pressure && pressure === "critical", Reason.pressureCritical],
  ];
  const paused = pauses.find(([applies]) => applies)?.[1] ?? null;
  const connect = paused !== Reason.offline && paused !== Reason.otherTab;
  return { threads, paused, share: clampShare(choice.share), connect, limits, maxDataBytes };
}

/** Whether two budgets ask the pool for the same thing. */
export function sameBudget(a: Budget, b: Budget): boolean {
  return (
    a.threads === b.threads &&
    a.paused === b.paused &&
    a.share === b.share &&
    a.connect === b.connect &&
    a.maxDataBytes === b.maxDataBytes &&
    a.limits.join() === b.limits.join()
  );
}

/**
 * The lowest CPU share, the one bound every choice of it is checked against (options, `setCpuShare`,
 * the script tag, the widget): below it a slot would rest over 19 times as long as it works.
 */
export const MIN_SHARE = 0.05;

/** Whether `share` is a CPU share a visitor or site may choose: from MIN_SHARE to 1. */
export function isShare(share: number): boolean {
  return share >= MIN_SHARE && share <= 1;
}

/** Threads a visitor or site may choose at most: one Web Worker each, and few devices have more cores. */
export const MAX_THREADS = 64;

export function clampShare(share: number): number {
  return Number.isFinite(share) ? Math.min(1, Math.max(MIN_SHARE, share)) : 1;
}

/** How long a slot rests after `busyMs` of work so that its busy fraction is `share`: busy × (1/share − 1). */
export function restMs(busyMs: number, share: number): number {
  const s = clampShare(share);
  return s >= 1 ? 0 : Math.round(Math.max(0, busyMs) * (1 / s - 1));
}

/**
 * Default threads for a device: half its cores (at least one), and fewer on little memory
 * (`navigator.deviceMemory`, GiB: ≤ 2 → one thread, ≤ 4 → two), since every thread holds a
 * WebAssembly instance of its own.
 */
export function defaultThreads(cores: number | undefined, memoryGiB: number | undefined): number {
  const byCores = Math.max(1, Math.floor((cores && cores > 0 ? cores : 2) / 2));
  if (memoryGiB === undefined || !(memoryGiB > 0)) return byCores;
  const byMemory = memoryGiB <= 2 ? 1 : memoryGiB <= 4 ? 2 : Infinity;
  return Math.min(byCores, byMemory);
}

/** Each reason in English words, as a status shows it. */
export function describeReason(
  reason: Reason,
  rules: Pick<PolicyRules, "lowBattery" | "saveDataMaxBytes"> = DEFAULT_RULES,
): string {
  switch (reason) {
    case Reason.offline:
      return "you are offline";
    case Reason.otherTab:
      return "working in another tab of this site";
    case Reason.hidden:
      return "this page is hidden";
    case Reason.batteryLow:
      return `the battery is low (below ${Math.round(rules.lowBattery * 100)} %, not charging)`;
    case Reason.battery:
      return "on battery: one thread";
    case Reason.pressureCritical:
      return "the computer is under critical load";
    case Reason.pressureSerious:
      return "the computer is busy: one thread";
    case Reason.saveData:
      return `data saver: data packages over ${Math.round((rules.saveDataMaxBytes / MiB) * 10) / 10} MiB are refused`;
  }
}

/** The budget in one line of English: `paused: this page is hidden`, `2 threads at 50 % CPU (on battery: one thread)`. */
export function describeBudget(
  budget: Budget,
  rules: Pick<PolicyRules, "lowBattery" | "saveDataMaxBytes"> = DEFAULT_RULES,
): string {
  const notes = budget.limits.filter((r) => r !== budget.paused).map((r) => describeReason(r, rules));
  const head = budget.paused
    ? budget.connect
      ? `paused: ${describeReason(budget.paused, rules)} (running tasks finish; offered slots may still get a task)`
      : `waiting: ${describeReason(budget.paused, rules)}`
    : `${budget.threads} thread${budget.threads === 1 ? "" : "s"}${budget.share < 1 ? ` at ${Math.round(budget.share * 100)} % CPU` : ""}`;
  return notes.length && !budget.paused ? `${head} (${notes.join("; ")})` : head;
}
