/**
 * Polling waits shared by the tests (one definition instead of one per file). A wait that runs out
 * throws naming what it waited for, so a red test says which condition never came.
 */

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Resolves once `cond()` is true; polls every `pollMs`. */
export async function until(cond: () => boolean, timeoutMs = 5000, what = 'condition', pollMs = 5): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(pollMs);
  }
}

/** Resolves with the first value of `f()` other than undefined/false (which may be async). */
export async function eventually<T>(
  f: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30_000,
  what = 'condition',
  pollMs = 100,
): Promise<T> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (performance.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(pollMs);
  }
}
