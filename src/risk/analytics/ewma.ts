/**
 * Risk analytics for the risk gateway: RiskMetrics EWMA volatility, parametric (normal) VaR and
 * CVaR/ES, drawdown tracking and EWMA correlation. Formulas and reference numbers:
 * ../shared/data/reference/REFERENCE_VALUES.md (RiskMetrics 1996, Hull Example 5.2).
 */

/** Inverse standard normal CDF (Acklam's rational approximation + one Halley refinement step). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile needs 0 < p < 1, got ${p}`);
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const plow = 0.02425;
  let x: number;
  if (p < plow) {
    const q = Math.sqrt(-2 * Math.log(p));
    x =
      (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) /
      ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  } else if (p <= 1 - plow) {
    const q = p - 0.5;
    const r = q * q;
    x =
      ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
      (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x =
      -(((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) /
      ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  // Halley step against the exact CDF brings the error to ~1e-15.
  const e = 0.5 * erfc(-x / Math.SQRT2) - p;
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
}

/* eslint-disable no-loss-of-precision -- Cody's published coefficients are kept digit for digit; the nearest double is what runs. */
/** Complementary error function (W. J. Cody's rational Chebyshev approximations, ~1e-16 relative). */
export function erfc(x: number): number {
  const ax = Math.abs(x);
  let r: number;
  if (ax < 0.5) {
    const t = x * x;
    const top =
      (((0.185777706184603153 * t + 3.1611237438705656) * t + 113.864154151050156) * t + 377.485237685302021) * t + 3209.37758913846947;
    const bot = (((t + 23.6012909523441209) * t + 244.024637934444173) * t + 1282.61652607737228) * t + 2844.23683343917062;
    return 1 - (x * top) / bot;
  } else if (ax < 4) {
    const top =
      (((((((2.15311535474403846e-8 * ax + 5.64188496988670089e-1) * ax + 8.88314979438837594) * ax + 66.1191906371416295) * ax +
        298.635138197400131) *
        ax +
        881.95222124176909) *
        ax +
        1712.04761263407058) *
        ax +
        2051.07837782607147) *
        ax +
      1230.33935479799725;
    const bot =
      (((((((ax + 15.7449261107098347) * ax + 117.693950891312499) * ax + 537.181101862009858) * ax + 1621.38957456669019) * ax +
        3290.79923573345963) *
        ax +
        4362.61909014324716) *
        ax +
        3439.36767414372164) *
        ax +
      1230.33935480374942;
    r = Math.exp(-ax * ax) * (top / bot);
  } else {
    const z = 1 / (ax * ax);
    const top =
      ((((1.63153871373020978e-2 * z + 3.05326634961232344e-1) * z + 3.60344899949804439e-1) * z + 1.25781726111229246e-1) * z +
        1.60837851487422766e-2) *
        z +
      6.58749161529837803e-4;
    const bot =
      ((((z + 2.56852019228982242) * z + 1.87295284992346725) * z + 5.27905102951428412e-1) * z + 6.05183413124413191e-2) * z +
      2.33520497626869185e-3;
    r = (Math.exp(-ax * ax) / ax) * (1 / Math.sqrt(Math.PI) - (z * top) / bot);
  }
  return x < 0 ? 2 - r : r;
}
/* eslint-enable no-loss-of-precision */

export function normalPdf(x: number): number {
  return Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
}

/** Parametric VaR multiplier: z_α (one-tailed). */
export function varMultiplier(confidence: number): number {
  return normalQuantile(confidence);
}

/** Normal expected shortfall multiplier: φ(z_α)/(1−α). */
export function cvarMultiplier(confidence: number): number {
  return normalPdf(normalQuantile(confidence)) / (1 - confidence);
}

/** Effective window K = ln(tol)/ln(λ) of an EWMA. */
export function effectiveWindow(lambda: number, tolerance: number): number {
  return Math.log(tolerance) / Math.log(lambda);
}

/**
 * RiskMetrics variance recursion σ²_{t+1|t} = λσ²_{t|t−1} + (1−λ)r_t², zero mean. Until the first
 * return arrives the variance is `seedVariance` (NaN = unknown).
 */
export class EwmaVolatility {
  private v: number;
  private n = 0;

  constructor(
    readonly lambda: number,
    seedVariance = Number.NaN,
  ) {
    if (!(lambda > 0 && lambda < 1)) throw new RangeError(`EWMA lambda must be in (0,1), got ${lambda}`);
    this.v = seedVariance;
  }

  update(ret: number): number {
    if (!Number.isFinite(ret)) return this.v;
    this.v = Number.isNaN(this.v) ? ret * ret : this.lambda * this.v + (1 - this.lambda) * ret * ret;
    this.n++;
    return this.v;
  }

  get variance(): number {
    return this.v;
  }

  get sigma(): number {
    return Math.sqrt(this.v);
  }

  get observations(): number {
    return this.n;
  }

  /** One-period VaR of a position worth `exposure` (absolute), as a positive loss amount. */
  valueAtRisk(exposure: number, confidence: number): number {
    return Math.abs(exposure) * this.sigma * varMultiplier(confidence);
  }

  expectedShortfall(exposure: number, confidence: number): number {
    return Math.abs(exposure) * this.sigma * cvarMultiplier(confidence);
  }
}

/** EWMA covariance/correlation of two return series (RiskMetrics, same λ for both). */
export class EwmaCorrelation {
  private vx = Number.NaN;
  private vy = Number.NaN;
  private cxy = Number.NaN;

  constructor(readonly lambda: number) {}

  update(rx: number, ry: number): number {
    if (!Number.isFinite(rx) || !Number.isFinite(ry)) return this.correlation;
    if (Number.isNaN(this.vx)) {
      this.vx = rx * rx;
      this.vy = ry * ry;
      this.cxy = rx * ry;
    } else {
      const l = this.lambda;
      this.vx = l * this.vx + (1 - l) * rx * rx;
      this.vy = l * this.vy + (1 - l) * ry * ry;
      this.cxy = l * this.cxy + (1 - l) * rx * ry;
    }
    return this.correlation;
  }

  get correlation(): number {
    const d = Math.sqrt(this.vx * this.vy);
    return d > 0 ? this.cxy / d : Number.NaN;
  }
}

/** Peak-to-trough drawdown of an equity curve, total and since the start of the current day. */
export class DrawdownTracker {
  private peak = Number.NaN;
  private dayPeak = Number.NaN;
  private day = Number.NaN;
  private maxDd = 0;

  /** `tsNs` is tick/event time; days are UTC days. Returns the current total drawdown fraction. */
  update(equity: number, tsNs: bigint): number {
    const day = Number(tsNs / 86_400_000_000_000n);
    if (day !== this.day) {
      this.day = day;
      this.dayPeak = equity;
    }
    if (!(equity <= this.peak)) this.peak = equity;
    if (!(equity <= this.dayPeak)) this.dayPeak = equity;
    const dd = this.drawdown(equity);
    if (dd > this.maxDd) this.maxDd = dd;
    this.last = equity;
    return dd;
  }

  private last = Number.NaN;

  private drawdown(equity: number): number {
    return this.peak > 0 ? (this.peak - equity) / this.peak : 0;
  }

  get current(): number {
    return this.drawdown(this.last);
  }

  get daily(): number {
    return this.dayPeak > 0 ? (this.dayPeak - this.last) / this.dayPeak : 0;
  }

  get max(): number {
    return this.maxDd;
  }

  /** Start over: the next equity is the new peak (after an operator reset). */
  reset(): void {
    this.peak = Number.NaN;
    this.dayPeak = Number.NaN;
    this.day = Number.NaN;
    this.maxDd = 0;
    this.last = Number.NaN;
  }
}
