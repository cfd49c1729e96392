import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TickBatch, TickRegion, replay, type TickInput } from '../../src/native/index.js';
import { syntheticTicks } from '../../scripts/gen-golden-synthetic.js';

const here = path.dirname(fileURLToPath(import.meta.url));

describe('multi-producer rings', () => {
  it('two processes pushing into one ring at once: every tick arrives once, each producer in order', async () => {
    const N = 30_000;
    const region = TickRegion.create({ name: `kestrel-test-mp-${process.pid}`, symbols: ['X'], tickCapacity: 1 << 17, replace: true });
    try {
      const child = fork(path.join(here, 'fixtures/ring-producer.ts'), [region.name, String(N), '2'], {
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      await new Promise<void>((r) => child.once('message', () => r()));
      const childDone = new Promise<void>((r) => child.once('message', () => r()));
      child.send('go');
      for (let i = 0; i < N; i++) region.pushTick(0, { tsNs: BigInt(i), flags: 0, bid: i, ask: i + 1, bidSize: 1, askSize: 0 });
      await childDone;
      const out = new TickBatch(4096);
      const next = new Map<number, number>([
        [1, 0],
        [2, 0],
      ]);
      let total = 0;
      let inOrder = true;
      for (;;) {
        const r = region.popTicks(0, out);
        expect(r.missed).toBe(0);
        if (r.delivered === 0) break;
        for (let i = 0; i < r.delivered; i++) {
          const t = out.get(i);
          const want = next.get(t.bidSize)!;
          if (t.bid !== want) inOrder = false;
          next.set(t.bidSize, want + 1);
        }
        total += r.delivered;
      }
      expect(total).toBe(2 * N);
      expect(inOrder).toBe(true);
      expect([...next.values()]).toEqual([N, N]);
    } finally {
      region.unlink();
      region.close();
    }
  });
});

describe('per-symbol strategy state', () => {
  it('interleaving two symbols gives each the same signals and features as running it alone', () => {
    const a = syntheticTicks({ ticks: 5000, seed: 3n }).ticks;
    const b = syntheticTicks({ ticks: 5000, seed: 4n, mu: 2000, sigma: 0.2 }).ticks;
    const alone = (ticks: TickInput[]) => {
      const batch = new TickBatch(ticks.length);
      for (const t of ticks) batch.push(t);
      return replay(batch, { featureStride: 1 });
    };
    const ra = alone(a);
    const rb = alone(b);
    const mixed = new TickBatch(10_000);
    const order: Array<[number, number]> = [];
    for (let i = 0; i < 5000; i++) {
      mixed.push(a[i]!, 0);
      order.push([0, i]);
      mixed.push(b[i]!, 1);
      order.push([1, i]);
    }
    const rm = replay(mixed, { symbols: 2, featureStride: 1 });
    expect(ra.signals.length + rb.signals.length).toBeGreaterThan(0);
    const bySym = (sym: number) =>
      rm.signals
        .filter((s) => s.symbolId === sym)
        .map((s) => ({ i: order[Number(s.sourceSeq)]![1], size: s.size, side: s.side, z: s.zscore }));
    const own = (r: typeof ra) => r.signals.map((s) => ({ i: Number(s.sourceSeq), size: s.size, side: s.side, z: s.zscore }));
    expect(bySym(0)).toEqual(own(ra));
    expect(bySym(1)).toEqual(own(rb));
    // feature rows: mixed row 2i+1 is symbol 1 after its i-th tick
    expect(rm.features[2 * 4999 + 1]!['mu']).toBe(rb.features[4999]!['mu']);
    expect(rm.features[2 * 4999]!['vpin']).toEqual(ra.features[4999]!['vpin']);
  });
});
