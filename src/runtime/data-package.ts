/** The `.data.zip` behind `data_link`: a zip holding the single `.data` file of Emscripten's `--preload-file`. */
import { unzipSync } from "fflate";
import { RunnerError, describe } from "./errors.js";
import { RuntimeErrorCode } from "../protocol/runner.js";

export function unpackDataPackage(zip: ArrayBuffer): Uint8Array {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(new Uint8Array(zip));
  } catch (error) {
    throw new RunnerError(
      RuntimeErrorCode.badDataPackage,
      `the data package (${zip.byteLength} bytes) is not a readable zip: ${describe(error)}; data_link must point to a .data.zip`,
    );
  }
  const files = Object.keys(entries).filter((name) => !name.endsWith("/"));
  const only = files.length === 1 ? files[0] : undefined;
  const data = only !== undefined && only.endsWith(".data") ? entries[only] : undefined;
  if (!data) {
    throw new RunnerError(
      RuntimeErrorCode.badDataPackage,
      `the data package must hold exactly one .data file, but it holds ${files.length ? files.join(", ") : "nothing"}`,
    );
  }
  return data;
}
