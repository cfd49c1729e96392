/**
 * Prometheus view of an executor (for /metrics): event counters as gauges refreshed every
 * `intervalMs` (so the hot path only bumps plain integers), rejects by taxonomy reason, in-flight and
 * queued orders, breaker states, and the signal → wire latency histogram observed at send time.
 * Also the market-data side every trading process has: age of the last message per stream.
 */
import type { Clock } from '../clock/clock.js';
import { rejectName } from '../contracts/index.js';
import { gauge, histogram, scrapedGauge } from '../observability/metrics.js';
import type { Executor } from './executor.js';
import type { SnapshotStore } from './types.js';

const BREAKER_VALUE = { CLOSED: 0, HALF_OPEN: 1, OPEN: 2 } as const;

/** `venues`: breakers shown from the start (closed), not only once a venue was first used. */
export function exportExecutorMetrics(ex: Executor, intervalMs = 1000, venues: readonly string[] = []): () => void {
  for (const v of venues) ex.breakers.get(v);
  const events = gauge('executor_events_total', 'executor events since start (signals, orders, sent, acks, fills, inDoubt, failed, …)', [
    'event',
  ]);
  const rejects = gauge('executor_rejects_total', 'refusals since start by reject reason', ['reason']);
  const inflight = gauge('executor_inflight_orders', 'orders holding a concurrency slot');
  const queued = gauge('executor_queued_signals', 'signals waiting in the priority lanes');
  const breaker = gauge('circuit_state', 'venue circuit breaker: 0 closed, 1 half-open, 2 open', ['venue']);
  const latency = histogram(
    'executor_signal_to_wire_seconds',
    'signal emission to ord.req on the wire (bus/ring transit, checks, WAL fdatasync)',
    [],
    [25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 50e-3],
  );
  ex.onSend((_o, s) => {
    if (s && s.emitTsNs > 0n) {
      // Emission → send: includes bus/ring transit, which is what the SPEC latency target covers.
      const ns = Number(ex.clock.nowNs() - s.emitTsNs);
      if (ns >= 0) latency.observe(ns / 1e9);
    }
  });
  const refresh = (): void => {
    for (const [k, v] of Object.entries(ex.counters)) events.set({ event: k }, v);
    for (const [r, v] of ex.rejects) rejects.set({ reason: rejectName(r) }, v);
    inflight.set(ex.inflightCount);
    queued.set(ex.queuedCount);
    for (const b of ex.breakers.all()) breaker.set({ venue: b.venue }, BREAKER_VALUE[b.state]);
  };
  refresh();
  const t = setInterval(refresh, intervalMs);
  t.unref();
  return () => clearInterval(t);
}

/** Seconds since the last top-of-book per (venue, symbol), computed at scrape time (feed-stale alert). */
export function exportFeedMetrics(store: SnapshotStore, clock: Clock): () => void {
  return scrapedGauge(
    'feed_last_message_age_seconds',
    'seconds since the last accepted top-of-book message per stream',
    ['venue', 'symbol'],
    (g) => {
      const now = clock.nowNs();
      for (const { venue, symbol, snapshot } of store.entries()) g.set({ venue, symbol }, Math.max(0, Number(now - snapshot.tsNs) / 1e9));
    },
  );
}
