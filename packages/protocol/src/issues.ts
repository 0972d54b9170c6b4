/** Zod issues in words, for the errors people read (protocol payloads, task definitions, options). */

/** The shape of a zod issue that `describeIssues` reads (classic and mini alike). */
interface Issue {
  code?: string;
  path: PropertyKey[];
  message: string;
  /** `unrecognized_keys`: the keys nobody asked for. */
  keys?: string[];
  /** `invalid_key`: why a record key was refused. */
  issues?: readonly { message: string }[];
}

/** Say which part of a payload failed, for a person to read: `key: reason; other.key: reason`. */
export function describeIssues(error: { issues: readonly Issue[] }): string {
  return error.issues
    .map((issue) => {
      const where = issue.code === "unrecognized_keys" && issue.keys ? issue.keys.join(", ") : issue.path.map(String).join(".");
      const why = issue.code === "invalid_key" ? (issue.issues?.[0]?.message ?? issue.message) : issue.message;
      return `${where || "payload"}: ${why}`;
    })
    .join("; ");
}
