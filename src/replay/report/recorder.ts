/**
 * Collects what the HTML report draws while a backtest runs: equity, drawdown, position and mid on
 * event time, every fill, and the scored signals. Memory stays bounded whatever the input length:
 * the time series keep at most `maxPoints` samples by deterministic stride doubling (when full,
 * every other sample is dropped and the stride doubles), so the same run always yields the same
 * points; the summary numbers (max drawdown, final equity) are computed on every tick, not on the
 * samples.
 */

export interface ReportFill {
  /** Event time of the fill, in ms since the epoch (charts run on ms). */
  tMs: number;
  /** +1 buy, -1 sell. */
  side: 1 | -1;
  price: number;
  qty: number;
}

export interface ReportScoredSignal {
  confidence: number;
  /** Forward mid move over the accuracy horizon, signed by the signal direction, in bps. */
  outcomeBps: number;
  hit: boolean;
}

export interface ReportSeries {
  /** Sample times in ms since the epoch; every array below has the same length. */
  tMs: number[];
  mid: number[];
  /** Net PnL (realized - fees + unrealized at the mid) in quote currency. */
  equity: number[];
  /** Equity minus its running peak (≤ 0), quote currency. */
  drawdown: number[];
  position: number[];
  /** Ticks each sample stands for (1 until the first decimation). */
  stride: number;
  /** Mark ticks seen (before decimation). */
  marks: number;
  fills: ReportFill[];
  /** Fills beyond `maxFills` are counted here, not drawn. */
  fillsOmitted: number;
  maxDrawdown: number;
  peakEquity: number;
}

export const DEFAULT_MAX_POINTS = 4096;
export const DEFAULT_MAX_FILLS = 20_000;

export class BacktestRecorder {
  private readonly tMs: number[] = [];
  private readonly mid: number[] = [];
  private readonly equity: number[] = [];
  private readonly drawdown: number[] = [];
  private readonly position: number[] = [];
  private readonly fills: ReportFill[] = [];
  private fillsOmitted = 0;
  private stride = 1;
  private marks = 0;
  private peak = 0;
  private maxDrawdown = 0;

  constructor(
    private readonly maxPoints = DEFAULT_MAX_POINTS,
    private readonly maxFills = DEFAULT_MAX_FILLS,
  ) {
    if (!(maxPoints >= 2) || maxPoints % 2 !== 0) throw new RangeError(`maxPoints must be an even number ≥ 2, got ${maxPoints}`);
  }

  /** One mark (a book tick): the state after every decision taken on that tick. */
  onMark(tsNs: bigint, mid: number, positionQty: number, netPnl: number): void {
    if (this.marks === 0 || netPnl > this.peak) this.peak = netPnl;
    const dd = netPnl - this.peak;
    if (dd < this.maxDrawdown) this.maxDrawdown = dd;
    const n = this.marks++;
    if (n % this.stride !== 0) return;
    if (this.tMs.length === this.maxPoints) {
      this.halve();
      if (n % this.stride !== 0) return;
    }
    this.tMs.push(Number(tsNs / 1_000_000n) + Number(tsNs % 1_000_000n) / 1e6);
    this.mid.push(mid);
    this.equity.push(netPnl);
    this.drawdown.push(dd);
    this.position.push(positionQty);
  }

  /** A mark from a position-book entry (absent: flat, nothing traded yet). */
  onMarkEntry(tsNs: bigint, mid: number, e: { quantity: number; avgPrice: number; realizedGross: number; fees: number } | undefined): void {
    this.onMark(tsNs, mid, e?.quantity ?? 0, e ? e.realizedGross - e.fees + (e.quantity !== 0 ? e.quantity * (mid - e.avgPrice) : 0) : 0);
  }

  onFill(tsNs: bigint, side: 1 | -1, price: number, qty: number): void {
    if (this.fills.length >= this.maxFills) {
      this.fillsOmitted++;
      return;
    }
    this.fills.push({ tMs: Number(tsNs / 1_000_000n) + Number(tsNs % 1_000_000n) / 1e6, side, price, qty });
  }

  /** Keeps the samples at even positions: they are exactly the marks whose index is a multiple of the doubled stride. */
  private halve(): void {
    for (const a of [this.tMs, this.mid, this.equity, this.drawdown, this.position]) {
      let w = 0;
      for (let r = 0; r < a.length; r += 2) a[w++] = a[r]!;
      a.length = w;
    }
    this.stride *= 2;
  }

  series(): ReportSeries {
    return {
      tMs: this.tMs.slice(),
      mid: this.mid.slice(),
      equity: this.equity.slice(),
      drawdown: this.drawdown.slice(),
      position: this.position.slice(),
      stride: this.stride,
      marks: this.marks,
      fills: this.fills.slice(),
      fillsOmitted: this.fillsOmitted,
      maxDrawdown: this.maxDrawdown,
      peakEquity: this.peak,
    };
  }
}

/** Samples a decimated series keeps for `marks` mark ticks (what the recorder's stride doubling yields). */
export function expectedPoints(marks: number, maxPoints = DEFAULT_MAX_POINTS): number {
  let stride = 1;
  while (Math.ceil(marks / stride) > maxPoints) stride *= 2;
  return Math.ceil(marks / stride);
}
