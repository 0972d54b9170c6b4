/**
 * What the widget remembers, in the host origin's localStorage under one key:
 * the visitor's consent and settings, and what this browser contributed (totals
 * and the last 14 days). Withdrawing consent removes the key. Storage that
 * throws (blocked cookies, a sandboxed frame) leaves the widget working for the
 * page's life, remembering nothing.
 */
export const STORE_KEY = "motivus-worker";
export const DAYS = 14;

export interface Saved {
  consent: boolean;
  /** The visitor wants it working (Start) or not (Stop). */
  running: boolean;
  threads?: number;
  share?: number;
  tasks: number;
  cpuMs: number;
  /** Local date `YYYY-MM-DD` → [tasks, CPU ms], the last `DAYS` days at most. */
  days: Record<string, [number, number]>;
}

const empty = (): Saved => ({ consent: false, running: false, tasks: 0, cpuMs: 0, days: {} });

function storage(): Storage | null {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null;
  }
}

/** What is stored, or the empty record; anything malformed counts as nothing stored. */
export function load(): Saved {
  try {
    const raw = storage()?.getItem(STORE_KEY);
    const value = raw ? (JSON.parse(raw) as Partial<Saved>) : null;
    if (!value || typeof value !== "object") return empty();
    const num = (v: unknown, fallback?: number) => (typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : fallback);
    const days: Saved["days"] = {};
    for (const [day, pair] of Object.entries(value.days ?? {}))
      if (/^\d{4}-\d\d-\d\d$/.test(day) && Array.isArray(pair)) days[day] = [num(pair[0], 0)!, num(pair[1], 0)!];
    return {
      consent: value.consent === true,
      running: value.running === true,
      threads: num(value.threads),
      share: num(value.share),
      tasks: num(value.tasks, 0)!,
      cpuMs: num(value.cpuMs, 0)!,
      days,
    };
  } catch {
    return empty();
  }
}

export function save(saved: Saved): void {
  try {
    storage()?.setItem(STORE_KEY, JSON.stringify(saved));
  } catch {
    // full or refused: the widget keeps working, remembering nothing
  }
}

export function forget(): Saved {
  try {
    storage()?.removeItem(STORE_KEY);
  } catch {
    // as above
  }
  return empty();
}

/** `YYYY-MM-DD` of a local date. */
export function dayOf(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** The last `DAYS` local days, oldest first, with what was contributed on each. */
export function lastDays(saved: Saved, today = new Date()): { day: string; tasks: number; cpuMs: number }[] {
  return Array.from({ length: DAYS }, (_, i) => {
    const date = new Date(today.getFullYear(), today.getMonth(), today.getDate() - (DAYS - 1 - i));
    const day = dayOf(date);
    const [tasks, cpuMs] = saved.days[day] ?? [0, 0];
    return { day, tasks, cpuMs };
  });
}

/** Count one task that ran `ms` (today), keeping only the last `DAYS` days. */
export function addTask(saved: Saved, ms: number, now = new Date()): Saved {
  const today = dayOf(now);
  const [tasks, cpuMs] = saved.days[today] ?? [0, 0];
  const days: Saved["days"] = { ...saved.days, [today]: [tasks + 1, cpuMs + ms] };
  const keep = new Set(lastDays({ ...saved, days }, now).map((d) => d.day));
  for (const day of Object.keys(days)) if (!keep.has(day)) delete days[day];
  return { ...saved, tasks: saved.tasks + 1, cpuMs: saved.cpuMs + ms, days };
}
