/**
 * The policy of one worker: the visitor's choice and the browser's signals
 * (signals.ts, tab-lock.ts) through the rules (rules.ts) into one budget,
 * reported whenever it changes. Watches nothing until `begin()`; `end()`
 * stops watching and releases the tab lock.
 */
import { budgetFor, sameBudget, VISIBLE_SIGNALS, type Budget, type Choice, type PolicyRules, type Signals } from "./rules.js";
import { saveDataOn, watchBattery, watchOnline, watchPressure, watchVisibility, type Unwatch } from "./signals.js";
import { holdTabLock } from "./tab-lock.js";

/** A first battery reading or lock answer that takes longer than this is not waited for. */
const FIRST_READING_MS = 1000;

export class Policy {
  // Data saver is read once, at creation: the data package limit is set when the worker is made.
  private signals: Signals = { ...VISIBLE_SIGNALS, saveData: saveDataOn() };
  private current: Budget;
  private unwatch: Unwatch[] = [];

  constructor(
    readonly rules: PolicyRules,
    private choice: Choice,
    private readonly report: (budget: Budget) => void,
  ) {
    this.current = budgetFor(choice, this.signals, rules);
  }

  get budget(): Budget {
    return this.current;
  }

  get watching(): boolean {
    return this.unwatch.length > 0;
  }

  /** Start watching; resolves once the first readings that decide whether to connect are in. */
  async begin(): Promise<void> {
    if (this.watching) return;
    const set =
      <K extends keyof Signals>(key: K) =>
      (value: Signals[K]) =>
        this.update({ [key]: value } as Partial<Signals>);
    this.unwatch.push(watchVisibility(set("hidden")), watchOnline(set("online")), watchPressure(set("pressure")));
    const battery = watchBattery(set("battery"));
    this.unwatch.push(battery.stop);
    const waits = [battery.ready];
    if (this.rules.oneTab) {
      const lock = holdTabLock(set("tab"));
      this.unwatch.push(lock.stop);
      waits.push(lock.ready);
    }
    await Promise.race([Promise.all(waits), new Promise((ok) => setTimeout(ok, FIRST_READING_MS))]);
  }

  /** Stop watching and release the tab lock (another tab takes over). */
  end(): void {
    for (const stop of this.unwatch.splice(0)) stop();
    this.update({ ...VISIBLE_SIGNALS, saveData: this.signals.saveData });
  }

  choose(choice: Partial<Choice>): void {
    this.choice = { ...this.choice, ...choice };
    this.update({});
  }

  private update(patch: Partial<Signals>): void {
    this.signals = { ...this.signals, ...patch };
    const next = budgetFor(this.choice, this.signals, this.rules);
    if (sameBudget(next, this.current)) return;
    this.current = next;
    this.report(next);
  }
}
