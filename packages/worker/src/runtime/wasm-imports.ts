/**
 * Whether a wasm imports a shared memory: an Emscripten `-pthread` build does (its threads share it),
 * and only such a build is given a URL to start its threads from. Read from the binary's import
 * section: the JS API does not say whether an imported memory is shared.
 */
const IMPORT_SECTION = 2;
const KIND_MEMORY = 2;
const LIMITS_SHARED = 0x02;

class Reader {
  at = 8; // after the magic number and the version

  constructor(private readonly bytes: Uint8Array) {}

  get done(): boolean {
    return this.at >= this.bytes.length;
  }

  byte(): number {
    const value = this.bytes[this.at++];
    if (value === undefined) throw new RangeError("the wasm ends early");
    return value;
  }

  /** An unsigned LEB128 number (up to 2^35: section sizes, counts, indices). */
  uleb(): number {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = this.byte();
      value += (byte & 0x7f) * 2 ** shift;
      if (!(byte & 0x80)) return value;
    }
  }

  skipName(): void {
    const length = this.uleb(); // read first: `at += uleb()` would add to the position before the length
    this.at += length;
  }

  skipLimits(flags: number): void {
    this.uleb();
    if (flags & 0x01) this.uleb();
  }
}

export function importsSharedMemory(wasm: ArrayBuffer): boolean {
  const reader = new Reader(new Uint8Array(wasm));
  try {
    while (!reader.done) {
      const id = reader.byte();
      const size = reader.uleb();
      if (id !== IMPORT_SECTION) {
        reader.at += size;
        continue;
      }
      for (let count = reader.uleb(); count > 0; count--) {
        reader.skipName();
        reader.skipName();
        if (sharedMemory(reader)) return true;
      }
      return false;
    }
  } catch {
    // A malformed wasm fails at compile time with a better message than ours.
  }
  return false;
}

/** Reads one import's description; true when it is a shared memory. */
function sharedMemory(reader: Reader): boolean {
  const kind = reader.byte();
  if (kind === 0)
    reader.uleb(); // function: type index
  else if (kind === 1) {
    reader.byte(); // table: reference type, then limits
    reader.skipLimits(reader.byte());
  } else if (kind === KIND_MEMORY) {
    const flags = reader.byte();
    reader.skipLimits(flags);
    return (flags & LIMITS_SHARED) !== 0;
  } else if (kind === 3)
    reader.at += 2; // global: value type, mutability
  else if (kind === 4) {
    reader.byte(); // tag: attribute, type index
    reader.uleb();
  }
  return false;
}
