/** Wait until `test` holds, polling; fails after `timeoutMs`. */
export async function until(test: () => boolean, timeoutMs = 15_000): Promise<void> {
  const start = Date.now();
  while (!test()) {
    if (Date.now() - start > timeoutMs) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}
