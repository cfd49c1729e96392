/**
 * Prometheus view of a risk gateway, computed at scrape time: VaR against its limit (the > 80 %
 * alert), whether VaR is degraded, and the gateway's decision counters.
 */
import { scrapedGauge } from '../observability/metrics.js';
import type { StaticRiskGateway } from './static-gateway.js';

export function exportRiskMetrics(gw: StaticRiskGateway): () => void {
  const stops = [
    scrapedGauge('risk_var_utilisation_ratio', 'portfolio VaR / max_var (0 without a VaR limit); 1 = at the limit', [], (g) => {
      const l = gw.limits();
      g.set(l.maxVar > 0 ? l.var / l.maxVar : 0);
    }),
    scrapedGauge('risk_var_degraded', '1 while VaR is degraded (stale marks, too few bars): caps are scaled down', [], (g) => {
      g.set(gw.limits().varDegraded ? 1 : 0);
    }),
    scrapedGauge('risk_decisions_total', 'risk.check decisions since start', ['decision'], (g) => {
      for (const [k, v] of Object.entries(gw.stats)) g.set({ decision: k }, v);
    }),
  ];
  return () => {
    for (const s of stops) s();
  };
}
