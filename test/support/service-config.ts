/**
 * The one config (config/default.yaml overlaid) for `kestrel run <service>` processes in tests:
 * written as a YAML overlay file, the way a deployment gives it with --config.
 */
import fs from 'node:fs';
import { stringify } from 'yaml';
import { mergeConfig } from '../../src/config/load.js';

type Tree = Record<string, unknown>;

/**
 * Limits no test order reaches (tests about mechanics, not risk): notional caps, VaR, drawdown,
 * stop loss and order rate far above what a test sends.
 */
export const LOOSE_RISK: Tree = {
  strategy: { capital: 1e12, confidence_threshold: 0 },
  risk: {
    max_position_pct: 1,
    max_correlation: 1,
    stop_loss_pct: 1,
    max_order_notional: 1e9,
    position_limits: { per_symbol: 1e12, portfolio: 1e13 },
    var_limits: { max_var: 1e12 },
    drawdown: { max_daily: 1, max_total: 1 },
    rate_limits: { orders_per_second: 100_000, per_venue: { binance: 100_000, kraken: 100_000, okx: 100_000 } },
  },
};

/** Private endpoints of a simulated venue (its order-entry WebSocket and REST URLs). */
export function privateEndpoints(venue: string, wsUrl: string, restUrl: string): Tree {
  return { venues: { [venue]: { endpoints: { private_ws: wsUrl, private_rest: restUrl } } } };
}

/** Write `parts` merged in order (later wins) as a YAML overlay; returns the path. */
export function writeServiceConfig(file: string, ...parts: Tree[]): string {
  const tree = parts.reduce<Tree>((acc, p) => mergeConfig(acc, p), {});
  fs.writeFileSync(file, stringify(tree));
  return file;
}
