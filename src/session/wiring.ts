/** Small mappings between the config, the rings and the execution layer. */
import type { Config } from '../config/schema.js';
import { DEFAULT_STRATEGY_PARAMS, type StrategyParams } from '../native/index.js';

/** Rings are per (venue, canonical symbol): strategy state must not mix two venues' books. */
export function ringName(venue: string, symbol: string): string {
  return `${venue}:${symbol}`;
}

export function ringStream(name: string): { venue: string; symbol: string } {
  const i = name.indexOf(':');
  return i < 0 ? { venue: '', symbol: name } : { venue: name.slice(0, i), symbol: name.slice(i + 1) };
}

/**
 * Strategy parameters from config (names in docs/STRATEGY.md). `timeScale` > 1 when the session
 * replays a recording faster than real time: event time is then compressed by that factor, so the
 * strategy's time constants are compressed by the same factor to see the recorded timeline.
 */
export function engineParams(config: Config, timeScale = 1): Partial<StrategyParams> {
  const d = DEFAULT_STRATEGY_PARAMS;
  const ns = (v: number) => Math.max(1, Math.round(v / timeScale));
  return {
    vpin_bar_ns: ns(d.vpin_bar_ns),
    ou_dt_ns: ns(d.ou_dt_ns),
    cooldown_ns: ns(d.cooldown_ns),
    half_life_min_s: d.half_life_min_s / timeScale,
    half_life_max_s: d.half_life_max_s / timeScale,
    kelly_fraction: config.strategy.kelly_fraction,
    // Wall (or event) time from emission to the executor's intake: not scaled with the data's time scale.
    ttl_ms: config.strategy.signal_ttl_ms,
    min_confidence: config.strategy.confidence_threshold,
    max_size: config.strategy.max_position,
    capital: config.strategy.capital,
    max_slippage_bps: config.execution.max_slippage_bps,
    vr_lag: config.strategy.regime.vr_lag,
    vr_trend: config.strategy.regime.vr_trend,
    vol_ratio_threshold: config.strategy.regime.vol_ratio,
    trend_entries: config.strategy.regime.trend_entries ? 1 : 0,
  };
}
