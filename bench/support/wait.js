/** Waiting on conditions and promises, always with a deadline and a message saying what was awaited. */

export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, fail) => {
    timer = setTimeout(() => fail(new Error(`timed out after ${ms / 1000} s waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves once `check()` (sync or async) is truthy; polls every `everyMs`. */
export async function waitFor(check, ms, what, everyMs = 10) {
  const end = performance.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (performance.now() > end) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await new Promise((ok) => setTimeout(ok, everyMs));
  }
}
