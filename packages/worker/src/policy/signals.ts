/**
 * Thin adapters over the browser APIs the rules read. Each `watch…` reports
 * the current value (at once, or as soon as the browser tells) and every
 * change, and returns the function that stops watching. An API the browser
 * lacks reports null once and never again: its rule then limits nothing.
 */
import type { PressureState } from "./rules.js";

export type Unwatch = () => void;

/** `document.hidden` and its `visibilitychange` event. */
export function watchVisibility(report: (hidden: boolean) => void): Unwatch {
  const read = () => report(document.hidden);
  read();
  document.addEventListener("visibilitychange", read);
  return () => document.removeEventListener("visibilitychange", read);
}

/** `navigator.onLine` and the `online`/`offline` events. */
export function watchOnline(report: (online: boolean) => void): Unwatch {
  const online = () => report(true);
  const offline = () => report(false);
  report(navigator.onLine !== false);
  addEventListener("online", online);
  addEventListener("offline", offline);
  return () => {
    removeEventListener("online", online);
    removeEventListener("offline", offline);
  };
}

/** The parts of the Battery Status API read here (not in TypeScript's DOM types). */
interface BatteryManager extends EventTarget {
  readonly charging: boolean;
  readonly level: number;
}
type BatteryNavigator = Navigator & { getBattery?: () => Promise<BatteryManager> };

/** Battery Status API, where it exists (Chromium; not Firefox or Safari). Resolves once the first reading is in. */
export function watchBattery(report: (battery: { charging: boolean; level: number } | null) => void): {
  ready: Promise<void>;
  stop: Unwatch;
} {
  const getBattery = (navigator as BatteryNavigator).getBattery;
  let manager: BatteryManager | null = null;
  let stopped = false;
  const read = () => manager && report({ charging: manager.charging, level: manager.level });
  const ready =
    typeof getBattery !== "function"
      ? Promise.resolve(report(null))
      : getBattery.call(navigator).then(
          (battery) => {
            if (stopped) return;
            manager = battery;
            read();
            for (const event of ["chargingchange", "levelchange"]) battery.addEventListener(event, read);
          },
          // Refused (a permissions policy, an insecure context): no reading, no rule.
          () => report(null),
        );
  return {
    ready,
    stop: () => {
      stopped = true;
      for (const event of ["chargingchange", "levelchange"]) manager?.removeEventListener(event, read);
    },
  };
}

/** The Compute Pressure API as far as it is used here (not in TypeScript's DOM types yet). */
interface PressureRecord {
  readonly state: PressureState;
}
interface PressureObserverLike {
  observe(source: "cpu", options?: { sampleInterval?: number }): Promise<void>;
  disconnect(): void;
}
type PressureObserverClass = new (callback: (records: PressureRecord[]) => void) => PressureObserverLike;

/** Compute Pressure (`PressureObserver`, source "cpu") where it exists; states come when the browser has one. */
export function watchPressure(report: (state: PressureState | null) => void): Unwatch {
  const Observer = (globalThis as { PressureObserver?: PressureObserverClass }).PressureObserver;
  if (typeof Observer !== "function") {
    report(null);
    return () => {};
  }
  let observer: PressureObserverLike | null = null;
  try {
    observer = new Observer((records) => {
      const last = records[records.length - 1];
      if (last) report(last.state);
    });
    // Rejected where a permissions policy forbids it, or the platform has no CPU probe.
    observer.observe("cpu", { sampleInterval: 2000 }).catch(() => report(null));
  } catch {
    report(null);
  }
  return () => observer?.disconnect();
}

/** `navigator.connection.saveData` (Network Information API, Chromium), false where it is missing. */
export function saveDataOn(): boolean {
  return (
    (globalThis.navigator as (Navigator & { connection?: { saveData?: boolean } }) | undefined)?.connection?.saveData === true
  );
}

/** `navigator.deviceMemory` in GiB (Chromium, secure contexts), undefined elsewhere. */
export function deviceMemory(): number | undefined {
  return (globalThis.navigator as (Navigator & { deviceMemory?: number }) | undefined)?.deviceMemory;
}
