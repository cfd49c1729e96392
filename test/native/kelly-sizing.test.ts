/**
 * Kelly sizing on the real Binance capture with the shipped default config (issue 10 item 11): the
 * Kelly stake f* is a fraction of capital capped at 1 (no leverage), so with capital 100,000 and a
 * BTC mid near 60,000 sizes follow kelly_fraction · confidence and stay under max_size. Before, f*
 * (in the hundreds) was multiplied in uncapped and every signal sat at max_size.
 */
import { describe, expect, it } from 'vitest';
import { TickBatch, replay } from '../../src/native/index.js';
import { binanceSlice, defaultSessionParams } from '../../scripts/gen-golden.js';

describe('Kelly sizing with the default config on the real capture', async () => {
  const params = defaultSessionParams();
  const ticks = await binanceSlice(Number.MAX_SAFE_INTEGER); // the whole capture (~346 s)
  const batch = new TickBatch(ticks.length);
  for (const t of ticks) batch.push(t);
  const r = replay(batch, { params, featureStride: Number.MAX_SAFE_INTEGER });
  const sizes = r.signals.map((s) => s.size);

  it('signals exist and their sizes vary, not pinned at max_size', () => {
    expect(r.signals.length).toBeGreaterThanOrEqual(10);
    expect(sizes.filter((s) => s >= params.max_size).length).toBeLessThan(sizes.length);
    expect(new Set(sizes).size).toBe(sizes.length);
    expect(Math.max(...sizes) / Math.min(...sizes)).toBeGreaterThan(1.5);
  });

  it('each size is kelly_fraction · confidence · min(f*, 1) · capital / mid, capped at max_size', () => {
    const featureAt = new Map(r.features.map((f) => [f['index'], f]));
    for (const s of r.signals) {
      const f = featureAt.get(Number(s.sourceSeq))!;
      const mid = f['mid']!;
      const fStar = (Math.abs(mid - f['mu']!) * 0.5 * mid) / ((f['sigma']! * f['sigma']! * 0.75) / (2 * f['kappa']!));
      expect(fStar).toBeGreaterThan(0);
      const want = Math.min(params.max_size, (params.kelly_fraction * s.confidence * Math.min(fStar, 1) * params.capital) / mid);
      expect(Math.abs(s.size / want - 1)).toBeLessThan(1e-12);
      expect(s.refPrice).toBe(mid);
    }
  });
});
