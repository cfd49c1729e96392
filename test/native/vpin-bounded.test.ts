/**
 * One trade of finite but absurd size must not stall the engine (issue 10 item 2): the VPIN bucket
 * fill is closed-form for whole buckets, so the work per bar close is bounded by the window, not by
 * the bar's volume. The replay runs in a child process so that a regression is a failed test, not a
 * hung worker.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = path.dirname(fileURLToPath(import.meta.url));

function runChild(qty: number, timeoutMs: number, copies = 1): { elapsedMs: number; vpin: number; nBuckets: number } {
  const res = spawnSync(
    process.execPath,
    ['--import', 'tsx', path.join(here, 'fixtures/vpin-huge-trade.ts'), String(qty), String(copies)],
    {
      encoding: 'utf8',
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
    },
  );
  if (res.error || res.status !== 0) {
    throw new Error(
      `replay of a trade of size ${qty} did not finish within ${timeoutMs} ms (${res.error?.message ?? `exit ${res.status}`})`,
    );
  }
  return JSON.parse(res.stdout.trim()) as { elapsedMs: number; vpin: number; nBuckets: number };
}

describe('VPIN bucket fill is bounded per tick', () => {
  it('a single trade of size 1e17 is absorbed in well under 100 ms', () => {
    // The child's own start-up (tsx, addon load) is outside the measured replay; the kill timeout only
    // has to be generous enough for a loaded 2-core machine.
    const r = runChild(1e17, 20_000);
    expect(r.elapsedMs).toBeLessThan(100);
    // 0.4 + 1e17 in bar 0: every whole bucket is counted; the window is full, so VPIN is defined.
    expect(r.nBuckets).toBe(1e17);
    // Bar 0 is the first bar (sd 0 -> phi 0.5): every bucket of it is balanced.
    expect(r.vpin).toBe(0);
  }, 30_000);

  it('the size of the trade does not change the cost (1e3 vs 1e15)', () => {
    const small = runChild(1e3, 20_000);
    const huge = runChild(1e15, 20_000);
    expect(small.nBuckets).toBe(1000);
    expect(huge.nBuckets).toBe(1e15);
    expect(huge.elapsedMs).toBeLessThan(100);
  }, 60_000);

  it('a bar whose volume overflows to +Infinity saturates the bucket count instead of spinning', () => {
    const r = runChild(1e308, 20_000, 2);
    expect(r.elapsedMs).toBeLessThan(100);
    expect(r.nBuckets).toBe(2 ** 63); // 2^63 - 1 saturated, as a double
    expect(r.vpin).toBe(0);
  }, 30_000);
});
