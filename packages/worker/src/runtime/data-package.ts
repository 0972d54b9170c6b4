/**
 * The `.data.zip` behind `data_link`. For Emscripten it holds the single `.data` file of
 * `--preload-file` (the loader knows its layout); for a WASI program its entries are the files
 * themselves, unpacked at `/`. Unpacking stops past DATA_PACKAGE_LIMIT bytes: a small zip must not
 * inflate into all of the worker's memory.
 */
import { unzipSync } from "fflate";
import { RunnerError, describe } from "./errors.js";
import { RuntimeErrorCode } from "../messages/runner.js";

export const DATA_PACKAGE_LIMIT = 1024 * 1024 * 1024;

function unzip(zip: ArrayBuffer): Record<string, Uint8Array> {
  let total = 0;
  try {
    return unzipSync(new Uint8Array(zip), {
      filter: (file) => {
        total += file.originalSize;
        if (total > DATA_PACKAGE_LIMIT) throw new RangeError(`it inflates past ${DATA_PACKAGE_LIMIT / 1024 / 1024} MiB`);
        return true;
      },
    });
  } catch (error) {
    throw new RunnerError(
      RuntimeErrorCode.badDataPackage,
      `the data package (${zip.byteLength} bytes) is not a readable zip: ${describe(error)}; data_link must point to a .data.zip`,
    );
  }
}

/** The single `.data` file of an Emscripten data package. */
export function unpackDataPackage(zip: ArrayBuffer): Uint8Array {
  const entries = unzip(zip);
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

/** Every file of a data package by its path (a WASI program's starting filesystem). */
export function unpackDataFiles(zip: ArrayBuffer): Record<string, Uint8Array> {
  return Object.fromEntries(Object.entries(unzip(zip)).filter(([name]) => !name.endsWith("/")));
}
