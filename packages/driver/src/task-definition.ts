/**
 * A driver's task definition, with the keys of the Python client
 * (`motivus-docs.md`). Validated strictly so a typo names the bad key instead
 * of silently sending a task without it.
 */
import { z } from "zod/mini";
import { describeIssues, ErrorCode, MotivusError } from "motivus-protocol";

const bytes = z.union([z.string(), z.instanceof(Uint8Array)]);
const text = z.string().check(z.minLength(1));
const absolutePath = z.string().check(z.startsWith("/", "must be an absolute path"));

export const TaskDefinition = z
  .strictObject({
    algorithm: z.optional(text),
    algorithm_version: z.optional(text),
    params: z.optional(z.array(z.unknown())),
    arguments: z.optional(z.union([z.string(), z.array(z.string())])),
    /** Virtual path → contents (string as UTF-8, or bytes). */
    preload_files: z.optional(z.record(absolutePath, bytes)),
    /** Virtual path → where the driver writes it (Node). */
    result_files: z.optional(z.record(absolutePath, z.string())),
    wasm_path: z.optional(text),
    loader_path: z.optional(text),
    /** The bundle inline, as base64 or bytes: for drivers without a disk (browsers). */
    wasm: z.optional(bytes),
    loader: z.optional(bytes),
    data_link: z.optional(z.string()),
    /** *ours*: the wasm-bindgen export to call instead of `main`. */
    entry: z.optional(text),
    /** Send as `work` (any worker) instead of `trusted_work`, as the Python client does. */
    public_cluster: z.optional(z.boolean()),
    processing_base_time: z.optional(z.number()),
    flops: z.optional(z.number()),
    flop: z.optional(z.number()),
  })
  .check(
    z.superRefine((def, ctx) => {
      const named = def.algorithm !== undefined || def.algorithm_version !== undefined;
      if (named && (def.algorithm === undefined || def.algorithm_version === undefined)) {
        ctx.addIssue({
          code: "custom",
          input: def,
          path: [def.algorithm ? "algorithm_version" : "algorithm"],
          message: "algorithm and algorithm_version go together",
        });
      }
      // A loader is optional: without one the wasm is sent as a WASI command module.
      const hasWasm = def.wasm_path !== undefined || def.wasm !== undefined;
      if (!named && !hasWasm) {
        ctx.addIssue({
          code: "custom",
          input: def,
          path: ["wasm_path"],
          message: "required when no algorithm and algorithm_version are given",
        });
      }
    }),
  );
export type TaskDefinition = z.input<typeof TaskDefinition>;

/** A task definition that is invalid, or names an algorithm version the registry does not have. */
export class TaskDefinitionError extends MotivusError {
  override name = "TaskDefinitionError";
  readonly code = ErrorCode.badTaskDefinition;
}

export function parseTaskDefinition(input: unknown): z.output<typeof TaskDefinition> {
  const parsed = TaskDefinition.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new TaskDefinitionError(`invalid task definition: ${describeIssues(parsed.error)}`);
}
