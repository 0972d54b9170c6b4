/**
 * A driver's task definition, with the keys of the Python client
 * (`motivus-docs.md`). Validated strictly so a typo names the bad key instead
 * of silently sending a task without it.
 */
import { z } from "zod";
import { describeIssues } from "../protocol/issues.js";

const bytes = z.union([z.string(), z.instanceof(Uint8Array)]);

export const TaskDefinition = z
  .strictObject({
    algorithm: z.string().min(1).optional(),
    algorithm_version: z.string().min(1).optional(),
    params: z.array(z.unknown()).optional(),
    arguments: z.union([z.string(), z.array(z.string())]).optional(),
    /** Virtual path → contents (string as UTF-8, or bytes). */
    preload_files: z.record(z.string().startsWith("/", "must be an absolute path"), bytes).optional(),
    /** Virtual path → where the driver writes it (Node). */
    result_files: z.record(z.string().startsWith("/", "must be an absolute path"), z.string()).optional(),
    wasm_path: z.string().min(1).optional(),
    loader_path: z.string().min(1).optional(),
    /** The bundle inline, as base64 or bytes: for drivers without a disk (browsers). */
    wasm: bytes.optional(),
    loader: bytes.optional(),
    data_link: z.string().optional(),
    /** *ours*: the wasm-bindgen export to call instead of `main`. */
    entry: z.string().min(1).optional(),
    /** Send as `work` (any worker) instead of `trusted_work`, as the Python client does. */
    public_cluster: z.boolean().optional(),
    processing_base_time: z.number().optional(),
    flops: z.number().optional(),
    flop: z.number().optional(),
  })
  .superRefine((def, ctx) => {
    const named = def.algorithm !== undefined || def.algorithm_version !== undefined;
    if (named && (def.algorithm === undefined || def.algorithm_version === undefined)) {
      ctx.addIssue({ code: "custom", path: [def.algorithm ? "algorithm_version" : "algorithm"], message: "algorithm and algorithm_version go together" });
    }
    const hasWasm = def.wasm_path !== undefined || def.wasm !== undefined;
    const hasLoader = def.loader_path !== undefined || def.loader !== undefined;
    if (!named && !(hasWasm && hasLoader)) {
      ctx.addIssue({
        code: "custom",
        path: [hasWasm ? "loader_path" : "wasm_path"],
        message: "required when no algorithm and algorithm_version are given",
      });
    }
  });
export type TaskDefinition = z.input<typeof TaskDefinition>;

export class TaskDefinitionError extends Error {
  override name = "TaskDefinitionError";
}

export function parseTaskDefinition(input: unknown): z.output<typeof TaskDefinition> {
  const parsed = TaskDefinition.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new TaskDefinitionError(`invalid task definition: ${describeIssues(parsed.error)}`);
}
