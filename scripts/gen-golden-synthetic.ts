/**
 * Deterministic synthetic tick stream for golden vectors and engine tests: an Ornstein–Uhlenbeck
 * mid path (exact discretisation) with a quoted spread, sizes, trades, and optional injected
 * CROSSED / STALE / GAP ticks. Seeded splitmix64 + Box–Muller, so it is reproducible anywhere;
 * the golden files store the generated ticks themselves, so other engines never need this code.
 */
import { LAYOUT, TickBatch, type TickInput } from '../src/native/index.js';

export class SplitMix64 {
  private s: bigint;
  constructor(seed: bigint) {
    this.s = BigInt.asUintN(64, seed);
  }
  nextU64(): bigint {
    this.s = BigInt.asUintN(64, this.s + 0x9e3779b97f4a7c15n);
    let z = this.s;
    z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
    z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
    return z ^ (z >> 31n);
  }
  /** Uniform in (0, 1). */
  uniform(): number {
    return (Number(this.nextU64() >> 11n) + 0.5) / 2 ** 53;
  }
  normal(): number {
    return Math.sqrt(-2 * Math.log(this.uniform())) * Math.cos(2 * Math.PI * this.uniform());
  }
}

export interface SyntheticOptions {
  seed?: bigint;
  ticks?: number;
  startNs?: bigint;
  /** Mean tick spacing (ns); actual spacing is uniform in [0.5, 1.5] times this. */
  spacingNs?: number;
  mu?: number;
  kappa?: number;
  /** OU sigma (price units per sqrt second). */
  sigma?: number;
  spread?: number;
  /** Probability that a tick is a trade. */
  tradeProb?: number;
  /** Inject tainted ticks (crossed, stale, gap) at fixed positions. */
  inject?: boolean;
  /** Final jump of the mid, in stationary standard deviations, held for the last `jumpTicks`. */
  jumpSigmas?: number;
  jumpTicks?: number;
}

export function syntheticTicks(o: SyntheticOptions = {}): { batch: TickBatch; ticks: TickInput[] } {
  const n = o.ticks ?? 6000;
  const rng = new SplitMix64(o.seed ?? 42n);
  const mu = o.mu ?? 30000;
  const kappa = o.kappa ?? 0.2;
  const sigma = o.sigma ?? 2.0;
  const spread = o.spread ?? 0.5;
  const spacing = o.spacingNs ?? 20_000_000;
  const tradeProb = o.tradeProb ?? 0.25;
  const jumpTicks = o.jumpTicks ?? 0;
  const sigmaEq = sigma / Math.sqrt(2 * kappa);
  let ts = o.startNs ?? 1_723_161_254_000_000_000n;
  let x = mu;
  const ticks: TickInput[] = [];
  for (let i = 0; i < n; i++) {
    const dtNs = Math.round(spacing * (0.5 + rng.uniform()));
    ts += BigInt(dtNs);
    const dt = dtNs / 1e9;
    const a = Math.exp(-kappa * dt);
    x = x * a + mu * (1 - a) + sigma * Math.sqrt((1 - a * a) / (2 * kappa)) * rng.normal();
    const mid = i >= n - jumpTicks ? mu + (o.jumpSigmas ?? 0) * sigmaEq : x;
    // prices on a 0.01 tick grid, as a venue would quote them
    const bid = Math.round((mid - spread / 2) * 100) / 100;
    const ask = Math.max(bid + 0.01, Math.round((mid + spread / 2) * 100) / 100);
    const u = rng.uniform();
    if (u < tradeProb && i < n - jumpTicks) {
      const buy = rng.uniform() < 0.5;
      const qty = Math.round(rng.uniform() * 0.5 * 1e5) / 1e5 + 0.00001;
      ticks.push({
        tsNs: ts,
        flags: LAYOUT.kFlagTrade | (buy ? LAYOUT.kFlagBuyAggressor : 0),
        bid: buy ? ask : bid,
        ask: buy ? ask : bid,
        bidSize: qty,
        askSize: 0,
      });
    } else {
      const bs = Math.round(rng.uniform() * 3 * 1e5) / 1e5;
      const as = Math.round(rng.uniform() * 3 * 1e5) / 1e5;
      ticks.push({ tsNs: ts, flags: 0, bid, ask, bidSize: bs, askSize: as });
    }
    if (o.inject) {
      const t = ticks[ticks.length - 1]!;
      if (i === Math.floor(n * 0.3)) ticks[ticks.length - 1] = { ...t, flags: LAYOUT.kFlagCrossed, bid: t.ask, ask: t.bid };
      if (i === Math.floor(n * 0.4)) ticks[ticks.length - 1] = { ...t, flags: t.flags | LAYOUT.kFlagStale };
      if (i === Math.floor(n * 0.5)) ticks[ticks.length - 1] = { ...t, flags: t.flags | LAYOUT.kFlagGap };
    }
  }
  const batch = new TickBatch(n);
  for (const t of ticks) batch.push(t);
  return { batch, ticks };
}
