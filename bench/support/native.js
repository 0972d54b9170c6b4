/** The compute kernel (bench/fixtures/src/kernel.c) built natively with gcc -O2 at bench time, and run. */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BENCH } from "./paths.js";

/** Build bench/fixtures/src/kernel.c with gcc -O2 into `dir` (once); returns a function running it once (ms, stdout). */
export function nativeKernel(dir) {
  const exe = nativeKernelPath(dir);
  return (steps) => {
    const cpu0 = childrenCpuMs();
    const t0 = performance.now();
    const stdout = execFileSync(exe, [String(steps)], { encoding: "utf8" });
    const ms = performance.now() - t0;
    const cpu1 = childrenCpuMs();
    return { ms, cpuMs: cpu0 === null || cpu1 === null ? null : cpu1 - cpu0, stdout: stdout.trim() };
  };
}

/** The native kernel's executable in `dir`, built with gcc -O2 if not there yet. */
export function nativeKernelPath(dir) {
  const exe = join(dir, "kernel-native");
  if (existsSync(exe)) return exe;
  try {
    execFileSync("gcc", ["-O2", "-ffp-contract=off", "-o", exe, join(BENCH, "fixtures", "src", "kernel.c"), "-lm"], {
      stdio: "pipe",
    });
  } catch (err) {
    throw new Error(
      `gcc could not build the native kernel (apt-get install gcc): ${err.stderr?.toString().trim() || err.message}`,
      { cause: err },
    );
  }
  return exe;
}

/** CPU time (user + system) of this process's waited-for children, from /proc/self/stat (Linux; 10 ms ticks). */
function childrenCpuMs() {
  try {
    const fields = readFileSync("/proc/self/stat", "utf8")
      .replace(/^.*\) /, "")
      .split(" ");
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / 100; // cutime, cstime (fields 16, 17), USER_HZ 100
  } catch {
    return null;
  }
}
