/** `createWorker({ policy })`: each rule of rules.ts as an option, validated, with its default. */
import { z } from "zod/mini";
import { DEFAULT_RULES, type PolicyRules } from "./rules.js";

export const PolicyOptions = z.strictObject({
  /** A hidden page: "pause" (default: no new tasks, running ones finish), "one-thread" or "continue". */
  whenHidden: z.optional(z.enum(["continue", "one-thread", "pause"])),
  /** Obey the battery (default true): low and discharging → pause, discharging → one thread. */
  battery: z.optional(z.boolean()),
  /** Battery level (0–1) under which a discharging battery pauses the work (default 0.2). */
  lowBattery: z.optional(z.number().check(z.gte(0), z.lte(1))),
  /** Obey compute pressure (default true): serious → one thread, critical → pause. */
  pressure: z.optional(z.boolean()),
  /** One working tab per origin (default true); the others wait and take over when it closes. */
  oneTab: z.optional(z.boolean()),
  /** With data saver on, data packages larger than this are refused (default 5 MiB). */
  saveDataMaxBytes: z.optional(z.number().check(z.int(), z.gte(0))),
});
export type PolicyOptions = z.input<typeof PolicyOptions>;

export function resolveRules(options: PolicyOptions = {}): PolicyRules {
  const rules = { ...DEFAULT_RULES };
  for (const [key, value] of Object.entries(options)) if (value !== undefined) Object.assign(rules, { [key]: value });
  return rules;
}
