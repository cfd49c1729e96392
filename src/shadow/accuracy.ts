/**
 * Shadow-trading accuracy monitor (SPEC §15): scores every signal against what the market did next
 * (forward mid move over a horizon measured in tick time), and reports ROC AUC of the confidence,
 * precision/recall, slippage of fills against the touch at signal time, and drift of the hit rate.
 * Deterministic: it sees only tick and signal timestamps, never the wall clock.
 */

export interface ScoredSignal {
  confidence: number;
  /** +1 buy, -1 sell. */
  direction: 1 | -1;
  refMid: number;
  tsNs: bigint;
}

export interface AccuracyReport {
  signals: number;
  scored: number;
  rocAuc: number | undefined;
  precision: number | undefined;
  recall: number | undefined;
  hitRate: number | undefined;
  avgSlippageBps: number | undefined;
  sharpe: number | undefined;
  driftAlerts: number;
}

export interface AccuracyOptions {
  horizonNs: bigint;
  /** Confidence at or above which a signal counts as a positive prediction. */
  threshold: number;
  driftWindow: number;
  driftThreshold: number;
}

export const defaultAccuracyOptions: AccuracyOptions = {
  horizonNs: 5_000_000_000n,
  threshold: 0.9,
  driftWindow: 1000,
  driftThreshold: 0.05,
};

/** ROC AUC via the Mann–Whitney U statistic with average ranks for ties. */
export function rocAuc(scores: readonly number[], labels: readonly boolean[]): number | undefined {
  const n = scores.length;
  const pos = labels.filter(Boolean).length;
  const neg = n - pos;
  if (pos === 0 || neg === 0) return undefined;
  const idx = scores.map((s, i) => [s, i] as const).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(n);
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && idx[j + 1]![0] === idx[i]![0]) j++;
    const avg = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[idx[k]![1]] = avg;
    i = j + 1;
  }
  let rankSumPos = 0;
  for (let i = 0; i < n; i++) if (labels[i]) rankSumPos += ranks[i]!;
  return (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}

export class AccuracyMonitor {
  private readonly pending: ScoredSignal[] = [];
  private readonly scores: number[] = [];
  private readonly labels: boolean[] = [];
  private readonly returns: number[] = [];
  private readonly slippages: number[] = [];
  private signals = 0;
  private driftAlerts = 0;
  private readonly recent: boolean[] = [];
  private hits = 0;
  private drift: number | undefined;

  constructor(private readonly opts: AccuracyOptions = defaultAccuracyOptions) {}

  /**
   * One report over several instruments: each monitor scored its own instrument's signals against
   * its own mids (a mid of one symbol never scores another's signal); the outcomes are pooled.
   */
  static pooled(monitors: readonly AccuracyMonitor[], opts: AccuracyOptions = defaultAccuracyOptions): AccuracyMonitor {
    const all = new AccuracyMonitor(opts);
    for (const m of monitors) {
      all.signals += m.signals;
      all.driftAlerts += m.driftAlerts;
      all.hits += m.hits;
      for (const x of m.scores) all.scores.push(x);
      for (const x of m.labels) all.labels.push(x);
      for (const x of m.returns) all.returns.push(x);
      for (const x of m.slippages) all.slippages.push(x);
    }
    return all;
  }

  onSignal(s: ScoredSignal): void {
    this.signals++;
    this.pending.push(s);
  }

  /** Fill price against the touch the signal saw: positive bps = paid more than the touch. */
  onFill(direction: 1 | -1, fillPrice: number, touchAtSignal: number): void {
    if (touchAtSignal > 0) this.slippages.push((direction * (fillPrice - touchAtSignal) * 1e4) / touchAtSignal);
  }

  /** Advance tick time; scores every pending signal whose horizon has elapsed at this mid. */
  onMid(mid: number, tsNs: bigint): void {
    while (this.pending.length > 0 && tsNs - this.pending[0]!.tsNs >= this.opts.horizonNs) {
      const s = this.pending.shift()!;
      const ret = (s.direction * (mid - s.refMid)) / s.refMid;
      const hit = ret > 0;
      this.scores.push(s.confidence);
      this.labels.push(hit);
      this.returns.push(ret);
      this.trackDrift(hit);
    }
  }

  private trackDrift(hit: boolean): void {
    if (hit) this.hits++;
    this.recent.push(hit);
    if (this.recent.length > this.opts.driftWindow) this.recent.shift();
    const total = this.labels.length;
    if (total < 2 * this.opts.driftWindow || this.recent.length < this.opts.driftWindow) return;
    const recentRate = this.recent.filter(Boolean).length / this.recent.length;
    this.drift = Math.abs(recentRate - this.hits / total);
    if (this.drift > this.opts.driftThreshold) this.driftAlerts++;
  }

  /**
   * |hit rate of the last driftWindow scored signals − hit rate of all| (a Fraction), once enough
   * signals are scored; the drift alert compares it with driftThreshold.
   */
  get hitRateDriftFraction(): number | undefined {
    return this.drift;
  }

  get driftThresholdFraction(): number {
    return this.opts.driftThreshold;
  }

  /** Every scored signal in scoring order: confidence, outcome (forward return signed by direction) and hit. */
  scoredSignals(): Array<{ confidence: number; returnFraction: number; hit: boolean }> {
    return this.scores.map((confidence, i) => ({ confidence, returnFraction: this.returns[i]!, hit: this.labels[i]! }));
  }

  report(): AccuracyReport {
    const scored = this.labels.length;
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (let i = 0; i < scored; i++) {
      const predicted = this.scores[i]! >= this.opts.threshold;
      if (predicted && this.labels[i]) tp++;
      else if (predicted) fp++;
      else if (this.labels[i]) fn++;
    }
    const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    let sharpe: number | undefined;
    if (this.returns.length > 1) {
      const m = mean(this.returns);
      const sd = Math.sqrt(this.returns.reduce((a, r) => a + (r - m) ** 2, 0) / (this.returns.length - 1));
      sharpe = sd > 0 ? m / sd : undefined;
    }
    return {
      signals: this.signals,
      scored,
      rocAuc: rocAuc(this.scores, this.labels),
      precision: tp + fp > 0 ? tp / (tp + fp) : undefined,
      recall: tp + fn > 0 ? tp / (tp + fn) : undefined,
      hitRate: scored > 0 ? this.hits / scored : undefined,
      avgSlippageBps: this.slippages.length > 0 ? mean(this.slippages) : undefined,
      sharpe,
      driftAlerts: this.driftAlerts,
    };
  }
}
