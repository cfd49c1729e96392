/**
 * Prometheus view of the in-process pipeline of a session: tick → signal latency (engine), ring
 * occupancy and drops, and the shadow accuracy monitor's drift. Gauges are computed at scrape time.
 */
import { histogram, scrapedGauge } from '../observability/metrics.js';
import type { TickRegion } from '../native/index.js';
import type { AccuracyMonitor } from '../shadow/accuracy.js';

/** Tick pushed into its ring → signal committed (CLOCK_MONOTONIC on both ends); pass to RingSignalSource. */
export function tickToSignalObserver(): (ns: number) => void {
  const h = histogram(
    'tick_to_signal_seconds',
    'tick pushed into its ring to the engine committing a signal from it',
    [],
    [1e-6, 2.5e-6, 5e-6, 10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 5e-3, 10e-3],
  );
  return (ns) => {
    if (ns >= 0) h.observe(ns / 1e9);
  };
}

export function exportPipelineMetrics(region: TickRegion, signalsMissed: () => number, accuracy: AccuracyMonitor): () => void {
  const stops = [
    scrapedGauge('ring_occupancy', 'records waiting in a shared-memory ring (ring = venue:symbol or signals)', ['ring'], (g) => {
      const c = region.counters();
      for (const r of c.ticks) g.set({ ring: r.symbol }, r.occupancy);
      g.set({ ring: 'signals' }, c.signals.occupancy);
    }),
    scrapedGauge('ring_capacity', 'capacity of each shared-memory ring (records)', ['ring'], (g) => {
      const c = region.counters();
      for (const r of c.ticks) g.set({ ring: r.symbol }, r.capacity);
      g.set({ ring: 'signals' }, c.signals.capacity);
    }),
    scrapedGauge('ring_drops_total', 'records overwritten before they were consumed (drop-oldest), since start', ['ring'], (g) => {
      const c = region.counters();
      for (const r of c.ticks) g.set({ ring: r.symbol }, r.drops);
      // The signal ring's losses are seen by its consumer (missed), not counted as producer drops.
      g.set({ ring: 'signals' }, Math.max(c.signals.drops, signalsMissed()));
    }),
    scrapedGauge(
      'shadow_hit_rate_drift_ratio',
      'shadow accuracy: |recent hit rate − overall hit rate| (absent until enough signals are scored)',
      [],
      (g) => {
        const d = accuracy.hitRateDriftFraction;
        if (d !== undefined) g.set(d);
      },
    ),
    scrapedGauge('shadow_drift_threshold_ratio', 'shadow accuracy: drift above this fraction raises the drift alert', [], (g) => {
      g.set(accuracy.driftThresholdFraction);
    }),
    scrapedGauge('shadow_hit_rate_ratio', 'shadow accuracy: share of scored signals whose direction was right', [], (g) => {
      const h = accuracy.report().hitRate;
      if (h !== undefined) g.set(h);
    }),
  ];
  return () => {
    for (const s of stops) s();
  };
}
