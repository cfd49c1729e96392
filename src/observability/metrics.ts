/**
 * Prometheus metrics (prom-client). One registry for the process; services register their metrics
 * through these helpers so that names are prefixed and re-registration (tests, restarts) is harmless.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const registry = new Registry();
let defaultsCollected = false;

export function enableDefaultMetrics(): void {
  if (defaultsCollected) return;
  defaultsCollected = true;
  collectDefaultMetrics({ register: registry, prefix: 'kestrel_' });
}

function existing<T>(name: string): T | undefined {
  return registry.getSingleMetric(name) as T | undefined;
}

/**
 * `collect`, when given, runs before every read of the counter (scrape, getSingleMetricAsString):
 * hot paths count in plain numbers and fold them into the counter there.
 */
export function counter(name: string, help: string, labelNames: readonly string[] = [], collect?: () => void): Counter<string> {
  const full = `kestrel_${name}`;
  return (
    existing<Counter<string>>(full) ?? new Counter({ name: full, help, labelNames, registers: [registry], ...(collect ? { collect } : {}) })
  );
}

export function gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge<string> {
  const full = `kestrel_${name}`;
  return existing<Gauge<string>>(full) ?? new Gauge({ name: full, help, labelNames, registers: [registry] });
}

export function histogram(
  name: string,
  help: string,
  labelNames: readonly string[] = [],
  buckets: number[] = [1e-6, 5e-6, 1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 1e-2, 5e-2, 0.1, 0.5, 1],
): Histogram<string> {
  const full = `kestrel_${name}`;
  return existing<Histogram<string>>(full) ?? new Histogram({ name: full, help, labelNames, buckets, registers: [registry] });
}

/**
 * A gauge computed at scrape time (last-message ages, ring occupancy): each live component adds a
 * callback and removes it when it stops, so a process that ran several sessions (tests) never reads
 * a closed one. Values from the callbacks replace the previous scrape's (labels of a stopped
 * component disappear).
 */
const scrapeCollectors = new Map<string, Set<(g: Gauge<string>) => void>>();

export function scrapedGauge(name: string, help: string, labelNames: readonly string[], collect: (g: Gauge<string>) => void): () => void {
  const full = `kestrel_${name}`;
  let set = scrapeCollectors.get(full);
  if (!set) {
    const callbacks = new Set<(g: Gauge<string>) => void>();
    set = callbacks;
    scrapeCollectors.set(full, callbacks);
    if (!existing<Gauge<string>>(full)) {
      new Gauge({
        name: full,
        help,
        labelNames,
        registers: [registry],
        collect() {
          this.reset();
          for (const c of callbacks) c(this);
        },
      });
    }
  }
  set.add(collect);
  const callbacks = set;
  return () => void callbacks.delete(collect);
}
