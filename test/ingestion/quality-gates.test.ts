import { describe, expect, it } from 'vitest';
import { TickFlag } from '../../src/contracts/market.js';
import { StreamQuality, compileQuality, type QualityEvent } from '../../src/ingestion/quality.js';
import { DEFAULT_QUALITY, IngestionConfigError, resolveIngestionOptions, type QualityOptions } from '../../src/ingestion/types.js';
import { tick } from './helpers.js';

function gate(over: Partial<QualityOptions> = {}, mode: 'contiguous' | 'monotonic' | 'off' = 'contiguous') {
  const events: QualityEvent[] = [];
  const q = new StreamQuality('binance', 'BTC-USDT', mode, compileQuality({ ...DEFAULT_QUALITY, ...over }));
  return { q, events, check: (t: ReturnType<typeof tick>) => q.check(t, (e) => events.push(e)) };
}

describe('quality gates', () => {
  it('accepts a clean tick without flags', () => {
    const g = gate();
    const t = tick(1);
    expect(g.check(t)).toEqual({ ok: true });
    expect(t.flags).toBe(0);
    expect(g.events).toEqual([]);
  });

  it('drops a book crossed beyond the tolerance and flags one crossed within it', () => {
    const g = gate({ crossedTolerance: 0.001 });
    const beyond = tick(1, { bid: 100.2, ask: 100 });
    expect(g.check(beyond)).toEqual({ ok: false, reason: 'crossed' });
    expect(g.events.map((e) => e.kind)).toEqual(['crossed']);
    const within = tick(2, { bid: 100.05, ask: 100 });
    expect(g.check(within)).toEqual({ ok: true });
    expect(within.flags & TickFlag.CROSSED).toBe(TickFlag.CROSSED);
  });

  it('drops a stale tick (recv - exch beyond staleness) and flags skew in both directions', () => {
    const g = gate({ stalenessMs: 5000, maxTimeSkewMs: 1000, anomalyEventIntervalMs: 0 });
    const base = tick(1);
    const stale = tick(1, { recvTsNs: base.exchTsNs + 5_001_000_000n });
    expect(g.check(stale)).toEqual({ ok: false, reason: 'stale' });
    expect(stale.flags & TickFlag.STALE).toBe(TickFlag.STALE);
    const late = tick(2);
    late.recvTsNs = late.exchTsNs + 1_500_000_000n;
    expect(g.check(late)).toEqual({ ok: true });
    expect(late.flags & TickFlag.SKEW).toBe(TickFlag.SKEW);
    const ahead = tick(3);
    ahead.recvTsNs = ahead.exchTsNs - 1_200_000_000n; // venue clock ahead of ours
    expect(g.check(ahead)).toEqual({ ok: true });
    expect(ahead.flags & TickFlag.SKEW).toBe(TickFlag.SKEW);
    expect(g.events.map((e) => e.kind)).toEqual(['stale', 'skew', 'skew']);
  });

  it('raises a spread anomaly above max_spread_pct but keeps the tick', () => {
    const g = gate({ maxSpreadPct: 1.0 });
    const wide = tick(1, { bid: 98, ask: 100 }); // ~2.02 %
    expect(g.check(wide)).toEqual({ ok: true });
    expect(g.events).toHaveLength(1);
    expect(g.events[0]!.kind).toBe('spread');
  });

  it('quarantines on a sequence gap until a RESYNC tick, emitting gap and resync', () => {
    const g = gate({ quarantineMaxMs: 0 });
    expect(g.check(tick(1)).ok).toBe(true);
    expect(g.check(tick(2)).ok).toBe(true);
    expect(g.check(tick(5))).toEqual({ ok: false, reason: 'quarantined' });
    expect(g.events[0]).toMatchObject({ kind: 'gap', expectedSequence: 3n, receivedSequence: 5n });
    expect(g.check(tick(6))).toEqual({ ok: false, reason: 'quarantined' });
    expect(g.q.quarantined).toBe(true);
    const resync = tick(100, { flags: TickFlag.RESYNC });
    expect(g.check(resync).ok).toBe(true);
    expect(g.check(tick(101)).ok).toBe(true);
    expect(g.events.map((e) => e.kind)).toEqual(['gap', 'resync']);
  });

  it('restarts a quarantined stream from a full tick after quarantineMaxMs of tick time', () => {
    const g = gate({ quarantineMaxMs: 50 });
    g.check(tick(1));
    expect(g.check(tick(3)).ok).toBe(false); // gap at t=3 ms
    expect(g.check(tick(40)).ok).toBe(false); // 37 ms later: still waiting
    const t = tick(60);
    expect(g.check(t).ok).toBe(true);
    expect(t.flags & (TickFlag.RESYNC | TickFlag.GAP)).toBe(TickFlag.RESYNC | TickFlag.GAP);
  });

  it('drops duplicates and reordered ticks; monotonic mode tolerates jumps; off ignores sequence', () => {
    const c = gate();
    c.check(tick(10));
    expect(c.check(tick(10))).toEqual({ ok: false, reason: 'out_of_order' });
    expect(c.check(tick(9))).toEqual({ ok: false, reason: 'out_of_order' });
    const m = gate({}, 'monotonic');
    m.check(tick(10));
    expect(m.check(tick(25)).ok).toBe(true);
    expect(m.check(tick(20))).toEqual({ ok: false, reason: 'out_of_order' });
    const o = gate({}, 'off');
    o.check(tick(10));
    expect(o.check(tick(3)).ok).toBe(true);
  });

  it('treats a gap explained by our own mailbox evictions as GAP-flagged, not quarantine', () => {
    const g = gate();
    g.check(tick(1));
    g.q.evictedSinceLast = 3;
    const t = tick(5);
    expect(g.check(t).ok).toBe(true);
    expect(t.flags & TickFlag.GAP).toBe(TickFlag.GAP);
    expect(g.q.quarantined).toBe(false);
  });

  it('rejects invalid ticks with a reason naming the bad field', () => {
    const g = gate();
    expect(g.check(tick(1, { bid: Number.NaN }))).toEqual({ ok: false, reason: 'invalid' });
    expect(g.check(tick(2, { exchTsNs: 0n }))).toEqual({ ok: false, reason: 'invalid' });
    expect(g.check(tick(3, { bid: 0, ask: 0 }))).toEqual({ ok: false, reason: 'invalid' });
    expect(g.events[0]!.detail).toContain('bid=NaN');
  });

  it('rate-limits anomaly events per kind and reports the suppressed count', () => {
    const g = gate({ anomalyEventIntervalMs: 1000 }, 'off');
    for (let i = 1; i <= 5; i++) g.check(tick(i, { bid: 101, ask: 100 }));
    expect(g.events).toHaveLength(1);
    g.check(tick(2000, { bid: 101, ask: 100 }));
    expect(g.events).toHaveLength(2);
    expect(g.events[1]!.detail).toContain('+4 suppressed');
  });

  it('validates options and names the offending key', () => {
    expect(() => resolveIngestionOptions({ shards: 0 })).toThrow(IngestionConfigError);
    expect(() => resolveIngestionOptions({ quality: { stalenessMs: -1 } })).toThrow(/quality.stalenessMs/);
    expect(resolveIngestionOptions({ shards: 8 }).quality.maxTimeSkewMs).toBe(1000);
  });
});
