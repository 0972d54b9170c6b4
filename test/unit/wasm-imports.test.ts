// Whether a wasm imports a shared memory (an Emscripten -pthread build), read from its import section.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { importsSharedMemory } from "../../packages/worker/src/runtime/wasm-imports.js";

const fixture = (name: string) => {
  const bytes = readFileSync(new URL(`../fixtures/emscripten-shapes/${name}`, import.meta.url));
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
};

/** A module that imports one memory, with the limits' flags given, after a function import (the name lengths matter). */
function withMemory(flags: number): ArrayBuffer {
  const name = (text: string) => [text.length, ...Buffer.from(text)];
  const type = [1, 4, 1, 0x60, 0, 0]; // one type: () -> ()
  const entries = [
    ...name("env"),
    ...name("a_long_function_name"),
    0,
    0,
    ...name("env"),
    ...name("memory"),
    2,
    flags,
    1,
    ...(flags & 1 ? [2] : []),
  ];
  const imports = [2, entries.length + 1, 2, ...entries];
  return new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, ...type, ...imports]).buffer;
}

describe("importsSharedMemory", () => {
  it("is true for a shared memory import only, after imports of other kinds", () => {
    expect(importsSharedMemory(withMemory(0x03))).toBe(true);
    expect(importsSharedMemory(withMemory(0x01))).toBe(false);
    expect(importsSharedMemory(withMemory(0x00))).toBe(false);
    for (const flags of [0x00, 0x01, 0x03]) expect(() => new WebAssembly.Module(withMemory(flags))).not.toThrow();
  });

  it("tells emcc's -pthread output from its plain output", () => {
    expect(importsSharedMemory(fixture("threads.wasm"))).toBe(true);
    expect(importsSharedMemory(fixture("pthread.wasm"))).toBe(true);
    expect(importsSharedMemory(fixture("classic.wasm"))).toBe(false);
  });

  it("is false for bytes that are not a whole wasm", () => {
    expect(importsSharedMemory(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 2, 9, 1]).buffer)).toBe(false);
    expect(importsSharedMemory(new ArrayBuffer(0))).toBe(false);
  });
});
