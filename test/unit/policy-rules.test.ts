// The policy's rules as pure functions: the browser's signals and the visitor's choice in, one budget out.
import { describe, expect, it } from "vitest";
import { resolveRules } from "../../packages/worker/src/policy/options.js";
import {
  budgetFor,
  DEFAULT_RULES,
  defaultThreads,
  describeBudget,
  Reason,
  restMs,
  VISIBLE_SIGNALS,
  type Signals,
} from "../../packages/worker/src/policy/rules.js";
import { resolveConfig } from "../../packages/worker/src/config.js";

const choice = { threads: 4, share: 1 };
const budget = (signals: Partial<Signals>, rules = DEFAULT_RULES, chosen = choice) =>
  budgetFor(chosen, { ...VISIBLE_SIGNALS, ...signals }, rules);

describe("budget rules", () => {
  it("a visible, online, only tab with no battery or pressure readings gets what the visitor chose", () => {
    expect(budget({})).toEqual({ threads: 4, paused: null, share: 1, connect: true, limits: [], maxDataBytes: null });
    expect(describeBudget(budget({}))).toBe("4 threads");
    expect(describeBudget(budget({}, DEFAULT_RULES, { threads: 1, share: 0.5 }))).toBe("1 thread at 50 % CPU");
  });

  it("a hidden page: pause by default, or one thread, or carry on, as the option says", () => {
    expect(budget({ hidden: true })).toMatchObject({ paused: Reason.hidden, connect: true });
    expect(describeBudget(budget({ hidden: true }))).toMatch(
      /^paused: this page is hidden \(running tasks finish; offered slots may still get a task\)$/,
    );
    expect(budget({ hidden: true }, resolveRules({ whenHidden: "one-thread" }))).toMatchObject({
      threads: 1,
      paused: null,
      limits: [Reason.hidden],
    });
    expect(budget({ hidden: true }, resolveRules({ whenHidden: "continue" }))).toMatchObject({
      threads: 4,
      paused: null,
      limits: [],
    });
  });

  it("battery: charging → full; discharging → one thread; below 20 % and discharging → pause", () => {
    expect(budget({ battery: { charging: true, level: 0.05 } })).toMatchObject({ threads: 4, paused: null });
    expect(budget({ battery: { charging: false, level: 0.8 } })).toMatchObject({
      threads: 1,
      paused: null,
      limits: [Reason.battery],
    });
    expect(describeBudget(budget({ battery: { charging: false, level: 0.8 } }))).toBe("1 thread (on battery: one thread)");
    expect(budget({ battery: { charging: false, level: 0.19 } })).toMatchObject({ paused: Reason.batteryLow });
    expect(describeBudget(budget({ battery: { charging: false, level: 0.19 } }))).toMatch(
      /^paused: the battery is low \(below 20 %, not charging\)/,
    );
    expect(budget({ battery: { charging: false, level: 0.19 } }, resolveRules({ battery: false }))).toMatchObject({
      threads: 4,
      paused: null,
    });
    expect(budget({ battery: { charging: false, level: 0.3 } }, resolveRules({ lowBattery: 0.5 }))).toMatchObject({
      paused: Reason.batteryLow,
    });
  });

  it("compute pressure: nominal and fair change nothing, serious → one thread, critical → pause", () => {
    expect(budget({ pressure: "fair" })).toMatchObject({ threads: 4, paused: null });
    expect(budget({ pressure: "serious" })).toMatchObject({ threads: 1, limits: [Reason.pressureSerious] });
    expect(budget({ pressure: "critical" })).toMatchObject({ paused: Reason.pressureCritical, connect: true });
    expect(budget({ pressure: "critical" }, resolveRules({ pressure: false }))).toMatchObject({ paused: null, threads: 4 });
  });

  it("offline and another tab let go of the connection; a stopped rule of one tab lets every tab work", () => {
    expect(budget({ online: false })).toMatchObject({ paused: Reason.offline, connect: false });
    expect(describeBudget(budget({ online: false }))).toBe("waiting: you are offline");
    expect(budget({ tab: "other" })).toMatchObject({ paused: Reason.otherTab, connect: false });
    expect(describeBudget(budget({ tab: "other" }))).toBe("waiting: working in another tab of this site");
    expect(budget({ tab: "other" }, resolveRules({ oneTab: false }))).toMatchObject({ paused: null, connect: true });
  });

  it("the strongest reason is the one shown; every limit still applies", () => {
    const all = budget({
      online: false,
      tab: "other",
      hidden: true,
      battery: { charging: false, level: 0.1 },
      pressure: "critical",
    });
    expect(all.paused).toBe(Reason.offline);
    expect(budget({ hidden: true, battery: { charging: false, level: 0.1 } }).paused).toBe(Reason.hidden);
    expect(budget({ battery: { charging: false, level: 0.5 }, pressure: "serious" })).toMatchObject({
      threads: 1,
      limits: [Reason.battery, Reason.pressureSerious],
    });
  });

  it("data saver: data packages above the limit are refused, and the budget says so", () => {
    expect(budget({ saveData: true })).toMatchObject({ maxDataBytes: 5 * 1024 * 1024, limits: [Reason.saveData], threads: 4 });
    expect(describeBudget(budget({ saveData: true }))).toBe("4 threads (data saver: data packages over 5 MiB are refused)");
    expect(budget({ saveData: true }, resolveRules({ saveDataMaxBytes: 1024 })).maxDataBytes).toBe(1024);
  });
});

describe("CPU share", () => {
  it("a slot rests busy × (1/share − 1) so its busy fraction is the share", () => {
    expect(restMs(1000, 1)).toBe(0);
    expect(restMs(1000, 0.5)).toBe(1000);
    expect(restMs(1000, 0.25)).toBe(3000);
    expect(restMs(300, 0.75)).toBe(100);
    for (const share of [0.1, 0.3, 0.5, 0.9]) {
      const busy = 700;
      expect(busy / (busy + restMs(busy, share))).toBeCloseTo(share, 2);
    }
  });

  it("a share outside (0, 1] is clamped, never a negative or endless rest", () => {
    expect(restMs(1000, 2)).toBe(0);
    expect(restMs(1000, 0)).toBe(19_000); // 5 % at least
    expect(restMs(-5, 0.5)).toBe(0);
    expect(budget({}, DEFAULT_RULES, { threads: 2, share: Number.NaN }).share).toBe(1);
  });
});

describe("default threads", () => {
  it("half the cores, at least one", () => {
    expect(defaultThreads(8, undefined)).toBe(4);
    expect(defaultThreads(1, undefined)).toBe(1);
    expect(defaultThreads(undefined, undefined)).toBe(1);
  });

  it("little memory caps them: ≤ 2 GiB one thread, ≤ 4 GiB two", () => {
    expect(defaultThreads(8, 1)).toBe(1);
    expect(defaultThreads(8, 2)).toBe(1);
    expect(defaultThreads(8, 4)).toBe(2);
    expect(defaultThreads(8, 8)).toBe(4);
    expect(defaultThreads(2, 8)).toBe(1);
  });
});

describe("policy options", () => {
  it("each rule has a default and an option; a wrong one is named", () => {
    expect(resolveConfig({}).policy).toEqual(DEFAULT_RULES);
    expect(resolveConfig({ policy: { whenHidden: "continue", oneTab: false } }).policy).toMatchObject({
      whenHidden: "continue",
      oneTab: false,
      battery: true,
    });
    expect(() => resolveConfig({ policy: { whenHidden: "sleep" as never } })).toThrow(/policy\.whenHidden/);
    expect(() => resolveConfig({ policy: { tabs: 1 } as never })).toThrow(/tabs/);
    expect(() => resolveConfig({ cpuShare: 0 })).toThrow(/cpuShare/);
    expect(resolveConfig({ cpuShare: 0.5 }).cpuShare).toBe(0.5);
  });
});
