// createWorker's `logger` option: where the worker's warnings and errors go, the console by default.
import { describe, expect, it } from "vitest";
import { OptionsError, resolveConfig } from "../../packages/worker/src/config.js";
import { Emitter } from "../../packages/worker/src/events.js";

describe("the logger option", () => {
  it("a level given is called on its logger (a logger class keeps its `this`); one left out goes to the console", () => {
    class Collecting {
      readonly lines: string[] = [];
      warn(message: string) {
        this.lines.push(message);
      }
    }
    const given = new Collecting();
    const logger = resolveConfig({ logger: given }).logger;
    logger.warn("motivus: a task came for slot x, which this worker does not hold; ignored");
    expect(given.lines).toEqual(["motivus: a task came for slot x, which this worker does not hold; ignored"]);
    // The level left out: the console's, looked up at the call (so a page's later wrapper hears it).
    const pageWrapper: unknown[][] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => pageWrapper.push(args);
    try {
      logger.error("motivus: boom");
    } finally {
      console.error = original;
    }
    expect(pageWrapper).toEqual([["motivus: boom"]]);
  });

  it("without one, the console; the console itself is a logger", () => {
    expect(() => resolveConfig({})).not.toThrow();
    expect(() => resolveConfig({ logger: console })).not.toThrow();
  });

  it("anything but an object of functions is refused by name", () => {
    expect(() => resolveConfig({ logger: "console" as never })).toThrow(OptionsError);
    expect(() => resolveConfig({ logger: { warn: "loud" } as never })).toThrow(/logger/);
  });

  it("a listener that throws is reported to the logger, and the other listeners still hear", () => {
    const errors: unknown[][] = [];
    const events = new Emitter<{ state: string }>({ warn: () => {}, error: (...args) => errors.push(args) });
    const heard: string[] = [];
    const failure = new Error("listener bug");
    events.on("state", () => {
      throw failure;
    });
    events.on("state", (state) => heard.push(state));
    events.emit("state", "running");
    expect(errors).toEqual([['motivus: a "state" listener threw', failure]]);
    expect(heard).toEqual(["running"]);
  });
});
