/**
 * Static-limit risk gateway: answers risk.check (well inside the 10 ms contract) from configured caps
 * and the positions published on pos.current, and publishes the same caps on risk.limits so that
 * executors' local guards stay fresh (staleness threshold 1 s; published every `publishIntervalMs`).
 * Drawdown: equity (capital + total PnL from pos.pnl) is tracked against its peak, total and since
 * the start of the UTC day; past risk.drawdown.max_total or max_daily the gateway turns reduce-only
 * (risk.limits.reduce_only, so executors' local guards enforce it without a round trip) and
 * publishes a RiskBreach on risk.breach. The daily breach clears on the next UTC day; the total
 * breach holds until an operator resets it (ControlCommand reset_drawdown on ctl.risk, or resetDrawdown()).
 * max_position_pct tightens the per-symbol cap to a fraction of equity (published in risk.limits);
 * stop_loss_pct flattens a symbol (ctl.flatten with the symbol) whose unrealized loss reaches that
 * fraction of its entry notional.
 * max_correlation refuses risk-increasing orders whose exposure would move with a held position's
 * (EWMA correlation of bar returns) and names those symbols in risk.limits.check_symbols, so that
 * executors send such orders to risk.check instead of approving them locally.
 * VaR: bars of marks close on event time (tick timestamps), a symbol's volatility is trusted after
 * minBars returns with fresh marks; the VaR limit is published in risk.limits (max_var, var, VaR per
 * notional per trusted symbol) so that executors' local guards enforce it on every order. It is the
 * SPEC's "fallback to static caps on compute degradation", made fail-closed: while VaR is degraded
 * (a held symbol without trusted volatility, or stale marks) every static cap is tightened by
 * degradedCapFraction, and VaR still gates the legs it can value.
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  ControlCommandSchema,
  PortfolioStateSchema,
  RejectReason,
  RiskBreachSchema,
  type RiskBreach,
  RiskStatusSchema,
  TickSchema,
  patterns,
  RiskCheckRequestSchema,
  RiskCheckResponseSchema,
  RiskLimitsSchema,
  Side,
  SymbolLimitSchema,
  subjects,
  type RiskCheckRequest,
  type RiskCheckResponse,
  type RiskLimits,
} from '../contracts/index.js';
import type { Namespace } from '../contracts/subjects.js';
import type { Bus, Subscription } from '../bus/bus.js';
import { msgIds, publishEvent, type DurableStreams } from '../bus/streams.js';
import { createLogger } from '../observability/logger.js';
import { systemClock, type Clock } from '../clock/clock.js';
import { systemScheduler, type Scheduler, type TimerHandle } from '../clock/scheduler.js';
import { DrawdownTracker, EwmaCorrelation, EwmaVolatility, cvarMultiplier, varMultiplier } from './analytics/ewma.js';

export interface StaticLimitsConfig {
  perSymbolNotional: number;
  portfolioNotional: number;
  maxOrderNotional: number;
  symbols?: Record<string, { maxPosition: number; maxOrderSize: number }>;
  tradingEnabled?: boolean;
  /** Default 250 ms: four refreshes inside the executor's 1 s staleness window. */
  publishIntervalMs?: number;
  /** EWMA VaR/CVaR limit (SPEC risk.var_limits); without it only the static caps apply. */
  var?: VarLimitConfig;
  /** Starting equity for the drawdown and max_position_pct limits: equity = capital + total PnL. */
  capital?: number;
  /** Drawdown limits (SPEC risk.drawdown); need `capital`. Without them drawdown is only reported. */
  drawdown?: DrawdownLimitConfig;
  /** Per-symbol position notional cap as a fraction of equity (SPEC risk.max_position_pct); needs `capital`. */
  maxPositionPct?: number;
  /**
   * Per-position stop (SPEC risk.stop_loss_pct): once a symbol's unrealized loss reaches this fraction
   * of its entry notional, the gateway sends ctl.flatten for that symbol (once per position).
   */
  stopLossPct?: number;
  /**
   * Correlation limit (SPEC risk.max_correlation): a risk-increasing order is refused when its
   * exposure would move with a held position's at an EWMA return correlation above this. Uses the
   * same marks and bars as VaR (`var.barMs`, `var.lambda`; 1 s and 0.94 without `var`).
   */
  maxCorrelation?: number;
}

/** Bars of joint returns before a pair's correlation is trusted (before that: static caps only). */
export const MIN_CORRELATION_BARS = 20;

export interface DrawdownLimitConfig {
  /** Fraction of the day's peak equity, e.g. 0.05. */
  maxDaily: number;
  /** Fraction of the all-time peak equity, e.g. 0.15. */
  maxTotal: number;
}

export interface VarLimitConfig {
  /** One-tailed confidence, e.g. 0.95. */
  confidence: number;
  /** Portfolio VaR cap in quote currency over one bar. */
  maxVar: number;
  /** RiskMetrics decay, e.g. 0.94. */
  lambda: number;
  /** Bar length of the marks (md.norm mids), ms of event time (tick timestamps). Default 1000. */
  barMs?: number;
  /** Returns a symbol needs before its volatility is trusted. Default MIN_VAR_BARS (20). */
  minBars?: number;
  /** A symbol whose latest mark is older than this (by the injected clock) is stale. Default 5000. */
  staleMarkMs?: number;
  /**
   * While VaR is degraded (a held symbol without trusted volatility, or stale marks), every static
   * cap is multiplied by this: fail closed, tightened, never removed. Default 0.5.
   */
  degradedCapFraction?: number;
}

/** Bar returns before a symbol's EWMA volatility is trusted (a first flat bar has σ = 0). */
export const MIN_VAR_BARS = 20;
export const DEFAULT_STALE_MARK_MS = 5_000;
export const DEFAULT_DEGRADED_CAP_FRACTION = 0.5;

/** SPEC risk.position_limits defaults (per_symbol 100k, portfolio 1M). */
export const DEFAULT_STATIC_LIMITS: StaticLimitsConfig = {
  perSymbolNotional: 100_000,
  portfolioNotional: 1_000_000,
  maxOrderNotional: 50_000,
};

export interface RiskGatewayOptions {
  /** Time source of limits staleness, VaR bars and stamps (replay: virtual time). */
  clock: Clock;
  /** Durable streams (NATS): breaches go to stream `risk` with their decision id as msg id. */
  streams?: DurableStreams;
  /** risk.limits publication timer, on the same time base as `clock`. Default: systemScheduler. */
  scheduler?: Scheduler;
  /**
   * Take VaR/correlation marks from md.norm.* on the bus (default true). The backtest kernel feeds
   * `onMark` directly from its event loop instead (no tick round trip through the bus).
   */
  marksFromBus?: boolean;
  /** Start id published as risk.limits.epoch. Default: wall-clock ns at construction, unique per start. */
  epoch?: bigint;
}

export class StaticRiskGateway {
  private version = 0n;
  /** risk.limits are ordered by (epoch, version): a restart must supersede the previous process. */
  readonly epoch: bigint;
  private readonly clock: Clock;
  private readonly positions = new Map<string, { qty: number; px: number }>();
  private readonly subs: Subscription[] = [];
  private timer: TimerHandle | undefined;
  private readonly scheduler: Scheduler;
  private readonly marksFromBus: boolean;
  /**
   * Latest mid per symbol (any venue), its event time, the mid at the previous bar, and whether it
   * ticked during the current bar (a silent symbol gets no return: a flat fake return would decay
   * its volatility through a feed outage).
   */
  private readonly marks = new Map<string, { mid: number; prev: number; tsNs: bigint; ticked: boolean }>();
  /** End of the current bar in event time (tick timestamps); undefined before the first timed mark. */
  private barEndNs: bigint | undefined;
  private readonly vols = new Map<string, EwmaVolatility>();
  /** Pairwise EWMA correlation, key "A|B" with A < B, and how many joint returns fed it. */
  private readonly corrs = new Map<string, { c: EwmaCorrelation; n: number }>();
  readonly stats = { checks: 0, approved: 0, rejected: 0, adjusted: 0, breaches: 0, stops: 0 };
  private readonly dd = new DrawdownTracker();
  /** Set while a drawdown limit is breached: only position-reducing orders pass. */
  private reduceOnly: string | undefined;
  private totalBreached = false;
  /** capital + total PnL, from pos.pnl; capital until the first update. */
  private equity: number;
  /** Symbols whose stop fired; cleared when the position is flat again. */
  private readonly stopped = new Set<string>();
  private readonly log = createLogger('risk-gateway');

  private readonly streams: DurableStreams | undefined;

  /** risk.breach, durably (msg id = the decision: limit, symbol, time) when the process holds streams. */
  private publishBreach(b: RiskBreach): void {
    publishEvent(
      this.bus,
      this.streams,
      subjects.riskBreach(this.ns),
      toBinary(RiskBreachSchema, b),
      msgIds.riskBreach(b.limit, b.symbol, b.tsNs),
    );
  }

  constructor(
    private readonly bus: Bus,
    private cfg: StaticLimitsConfig = DEFAULT_STATIC_LIMITS,
    private readonly ns: Namespace,
    opts: RiskGatewayOptions,
  ) {
    this.equity = cfg.capital ?? 0;
    this.clock = opts.clock;
    this.streams = opts.streams;
    this.scheduler = opts.scheduler ?? systemScheduler;
    this.marksFromBus = opts.marksFromBus ?? true;
    // The start id is an identity, not event time: always from the wall clock, so that a restarted
    // replay gateway (virtual clock at the same start) still gets a new, higher epoch.
    this.epoch = opts.epoch ?? systemClock.nowNs();
  }

  start(): void {
    this.subs.push(
      this.bus.subscribe(subjects.riskCheck(this.ns), (m) => {
        let res: RiskCheckResponse;
        try {
          res = this.evaluate(fromBinary(RiskCheckRequestSchema, m.data));
        } catch (err) {
          res = create(RiskCheckResponseSchema, {
            approved: false,
            reason: RejectReason.UNKNOWN,
            rejectReason: `malformed risk.check: ${String(err)}`,
          });
        }
        if (m.reply) m.respond(toBinary(RiskCheckResponseSchema, res));
      }),
      // Operator commands for the gateway (ctl.risk): echoed once applied, as on the other ctl.* subjects.
      this.bus.subscribe(subjects.control('risk', this.ns), (m) => {
        let reply = create(ControlCommandSchema, { command: 'error', reason: 'malformed control command' });
        try {
          const cmd = fromBinary(ControlCommandSchema, m.data);
          if (cmd.command === 'reset_drawdown') {
            this.log.warn({ operator: cmd.operator, reason: cmd.reason, was: this.reduceOnly }, 'drawdown reset by operator');
            this.resetDrawdown();
            reply = cmd;
          } else
            reply = create(ControlCommandSchema, {
              ...cmd,
              command: 'error',
              reason: `unknown risk command ${JSON.stringify(cmd.command)}`,
            });
        } catch {
          // reply stays the malformed-command error
        }
        if (m.reply) m.respond(toBinary(ControlCommandSchema, reply));
      }),
      this.bus.subscribe(subjects.posPnl(this.ns), (m) => {
        try {
          const st = fromBinary(PortfolioStateSchema, m.data);
          this.onEquity((this.cfg.capital ?? 0) + st.totalPnl, st.tsNs > 0n ? st.tsNs : this.clock.nowNs());
        } catch {
          // A malformed update is dropped; the next one carries the full state.
        }
      }),
      this.bus.subscribe(subjects.posCurrent(this.ns), (m) => {
        try {
          const st = fromBinary(PortfolioStateSchema, m.data);
          this.positions.clear();
          const loss = new Map<string, { entry: number; unrealized: number }>();
          for (const p of st.positions) {
            if (p.venue === '*') continue;
            const cur = this.positions.get(p.symbol) ?? { qty: 0, px: p.avgPrice };
            cur.qty += p.quantity;
            if (p.avgPrice > 0) cur.px = p.avgPrice;
            this.positions.set(p.symbol, cur);
            const l = loss.get(p.symbol) ?? { entry: 0, unrealized: 0 };
            l.entry += Math.abs(p.quantity * p.avgPrice);
            l.unrealized += p.unrealizedPnl;
            loss.set(p.symbol, l);
          }
          if (this.cfg.stopLossPct) this.checkStops(loss);
        } catch {
          // Keep the last good positions; a malformed update is dropped.
        }
      }),
    );
    if ((this.cfg.var || this.cfg.maxCorrelation) && this.marksFromBus) {
      this.subs.push(
        this.bus.subscribe(patterns.mdNormAll(this.ns), (m) => {
          try {
            const t = fromBinary(TickSchema, m.data);
            // Event time: our receive stamp (the clock every venue shares), else the venue's.
            const ts = t.recvTsNs > 0n ? t.recvTsNs : t.exchTsNs;
            if (t.bid > 0 && t.ask > 0 && ts > 0n) this.onMark(t.symbol, (t.bid + t.ask) / 2, ts);
          } catch {
            // malformed tick: no mark from it
          }
        }),
      );
    }
    this.publishLimits();
    this.timer = this.scheduler.every(this.cfg.publishIntervalMs ?? 250, () => this.publishLimits(), { unref: true });
  }

  /** Stop-loss: flatten a symbol (ctl.flatten) whose unrealized loss reached stopLossPct of its entry. */
  private checkStops(bySymbol: Map<string, { entry: number; unrealized: number }>): void {
    const pct = this.cfg.stopLossPct!;
    for (const sym of this.stopped) if (Math.abs(this.positions.get(sym)?.qty ?? 0) < 1e-12) this.stopped.delete(sym);
    for (const [symbol, l] of bySymbol) {
      if (this.stopped.has(symbol) || !(l.entry > 0) || !(l.unrealized < 0)) continue;
      const lossPct = -l.unrealized / l.entry;
      if (lossPct < pct) continue;
      this.stopped.add(symbol);
      this.stats.stops++;
      const reason = `stop loss ${symbol}: ${(lossPct * 100).toFixed(2)}% >= ${(pct * 100).toFixed(2)}%`;
      this.log.warn({ symbol, lossPct, unrealized: l.unrealized }, 'stop loss: flattening');
      const tsNs = this.clock.nowNs();
      try {
        this.publishBreach(create(RiskBreachSchema, { tsNs, limit: 'stop_loss', symbol, value: lossPct, threshold: pct }));
        this.bus.publish(
          subjects.control('flatten', this.ns),
          toBinary(
            ControlCommandSchema,
            create(ControlCommandSchema, { command: 'flatten', symbol, reason, operator: 'risk-gateway', tsNs }),
          ),
        );
      } catch {
        // bus closing
      }
    }
  }

  /** Per-symbol notional cap now: the static cap, tightened by max_position_pct of equity. */
  private perSymbolCap(): number {
    const pct = this.cfg.maxPositionPct;
    const byEquity = pct && this.equity > 0 ? pct * this.equity : Infinity;
    const stat = this.cfg.perSymbolNotional > 0 ? this.cfg.perSymbolNotional : Infinity;
    const cap = Math.min(stat, byEquity);
    return Number.isFinite(cap) ? cap : 0;
  }

  /** Portfolio equity at `tsNs` (event time): drawdown tracking and, with limits, reduce-only. */
  onEquity(equity: number, tsNs: bigint): void {
    this.equity = equity;
    const total = this.dd.update(equity, tsNs);
    const lim = this.cfg.drawdown;
    if (!lim || !((this.cfg.capital ?? 0) > 0)) return;
    const daily = this.dd.daily;
    if (total >= lim.maxTotal) this.totalBreached = true;
    let reason: string | undefined;
    let breach: { limit: string; value: number; threshold: number } | undefined;
    if (this.totalBreached) {
      reason = `total drawdown ${(total * 100).toFixed(2)}% >= ${(lim.maxTotal * 100).toFixed(2)}%`;
      breach = { limit: 'drawdown.max_total', value: total, threshold: lim.maxTotal };
    } else if (daily >= lim.maxDaily) {
      reason = `daily drawdown ${(daily * 100).toFixed(2)}% >= ${(lim.maxDaily * 100).toFixed(2)}%`;
      breach = { limit: 'drawdown.max_daily', value: daily, threshold: lim.maxDaily };
    }
    const changed = (reason === undefined) !== (this.reduceOnly === undefined);
    this.reduceOnly = reason;
    if (changed) {
      if (reason) this.log.warn({ reason, equity }, 'drawdown limit breached: reduce-only');
      else this.log.info({ equity }, 'drawdown back within limits: orders may add risk again');
    }
    if (changed && breach) {
      this.stats.breaches++;
      try {
        this.publishBreach(create(RiskBreachSchema, { tsNs, ...breach }));
      } catch {
        // bus closing
      }
    }
    // Executors must see the change now, not at the next periodic refresh.
    if (changed) this.publishLimits();
  }

  /** Current drawdown fractions (total and since the UTC day began), for the operator console. */
  get drawdown(): { total: number; daily: number } {
    return { total: this.dd.current || 0, daily: this.dd.daily || 0 };
  }

  /** Operator action after a total-drawdown breach: trading may add risk again from the current equity. */
  resetDrawdown(): void {
    this.totalBreached = false;
    this.reduceOnly = undefined;
    this.dd.reset();
    this.publishLimits();
  }

  /** Why only reducing orders pass now, or undefined. */
  get reduceOnlyReason(): string | undefined {
    return this.reduceOnly;
  }

  /**
   * Latest mid of a symbol (VaR marks) at event time `tsNs`. With a timestamp, bars close on event
   * time: the first mark at or past the current bar's end closes it (before being applied), so a feed
   * outage closes no bar and cannot decay VaR. Without one (callers closing bars themselves with
   * onBar) the mark is stamped with the clock, for staleness only.
   */
  private barMs = NaN;
  private barNs = 0n;

  /** The VaR bar in ns, converted once per setting, not per tick (onMark runs for every tick). */
  private barNsOf(ms: number): bigint {
    if (ms !== this.barMs) {
      this.barMs = ms;
      this.barNs = BigInt(Math.max(1, Math.round(ms))) * 1_000_000n;
    }
    return this.barNs;
  }

  onMark(symbol: string, mid: number, tsNs?: bigint): void {
    if (!(mid > 0) || !Number.isFinite(mid)) return;
    if (tsNs !== undefined) {
      const barNs = this.barNsOf(this.cfg.var?.barMs ?? 1000);
      if (this.barEndNs === undefined) this.barEndNs = (tsNs / barNs + 1n) * barNs;
      else if (tsNs >= this.barEndNs) {
        this.onBar();
        this.barEndNs = (tsNs / barNs + 1n) * barNs;
      }
    }
    const ts = tsNs ?? this.clock.nowNs();
    const m = this.marks.get(symbol);
    if (m) {
      m.mid = mid;
      if (ts > m.tsNs) m.tsNs = ts;
      m.ticked = true;
    } else this.marks.set(symbol, { mid, prev: Number.NaN, tsNs: ts, ticked: true });
  }

  /**
   * Close one bar: the log return since the symbol's previous bar feeds its EWMA variance. Symbols
   * without a mark during the bar are skipped: their next return spans the gap.
   */
  onBar(): void {
    const lambda = this.cfg.var?.lambda ?? 0.94;
    const returns: [string, number][] = [];
    for (const [symbol, m] of this.marks) {
      if (!m.ticked) continue;
      m.ticked = false;
      if (m.prev > 0) {
        let v = this.vols.get(symbol);
        if (!v) this.vols.set(symbol, (v = new EwmaVolatility(lambda)));
        const r = Math.log(m.mid / m.prev);
        v.update(r);
        returns.push([symbol, r]);
      }
      m.prev = m.mid;
    }
    if (!this.cfg.maxCorrelation && !this.cfg.var) return;
    returns.sort((a, b) => (a[0] < b[0] ? -1 : 1));
    for (let i = 0; i < returns.length; i++)
      for (let j = i + 1; j < returns.length; j++) {
        const key = `${returns[i]![0]}|${returns[j]![0]}`;
        let e = this.corrs.get(key);
        if (!e) this.corrs.set(key, (e = { c: new EwmaCorrelation(lambda), n: 0 }));
        e.c.update(returns[i]![1], returns[j]![1]);
        e.n++;
      }
  }

  /** EWMA return correlation of two symbols, NaN until MIN_CORRELATION_BARS joint returns. */
  correlation(a: string, b: string): number {
    const e = this.corrs.get(a < b ? `${a}|${b}` : `${b}|${a}`);
    return e && e.n >= MIN_CORRELATION_BARS ? e.c.correlation : Number.NaN;
  }

  /** A held position that an exposure in `symbol` of sign `dir` would move with beyond the limit. */
  private correlatedWith(symbol: string, dir: number): { symbol: string; rho: number } | undefined {
    const max = this.cfg.maxCorrelation;
    if (!max) return undefined;
    for (const [held, p] of this.positions) {
      if (held === symbol || Math.abs(p.qty) < 1e-12) continue;
      const rho = this.correlation(symbol, held);
      if (dir * Math.sign(p.qty) * rho > max) return { symbol: held, rho };
    }
    return undefined;
  }

  /** Symbols where some risk-increasing order could break the correlation limit: executors ask first. */
  private checkSymbols(): string[] {
    const max = this.cfg.maxCorrelation;
    if (!max) return [];
    const out: string[] = [];
    for (const symbol of this.marks.keys()) if (this.correlatedWith(symbol, 1) || this.correlatedWith(symbol, -1)) out.push(symbol);
    return out;
  }

  /** Bar returns seen for a symbol's volatility. */
  bars(symbol: string): number {
    return this.vols.get(symbol)?.observations ?? 0;
  }

  /**
   * Why a symbol's volatility cannot be used now, or undefined when it can: fewer than minBars
   * returns (a first flat bar gives σ = 0, which would read as "no risk"), σ = 0, or a mark older
   * than staleMarkMs by the injected clock.
   */
  untrusted(symbol: string): string | undefined {
    const bad = this.unvalued(symbol);
    if (bad !== undefined) return bad;
    const m = this.marks.get(symbol);
    const staleNs = BigInt(this.cfg.var?.staleMarkMs ?? DEFAULT_STALE_MARK_MS) * 1_000_000n;
    if (!m || this.clock.nowNs() - m.tsNs > staleNs) return `${symbol}: stale marks`;
    return undefined;
  }

  /** Why a symbol has no usable volatility at all (too few bars, σ = 0), or undefined. */
  private unvalued(symbol: string): string | undefined {
    const v = this.vols.get(symbol);
    const min = this.cfg.var?.minBars ?? MIN_VAR_BARS;
    if (!v || v.observations < min) return `${symbol}: ${v?.observations ?? 0} of ${min} bars`;
    if (!(v.variance > 0)) return `${symbol}: no volatility`;
    return undefined;
  }

  /** VaR per unit of notional (z·σ) of each symbol whose volatility is trusted. */
  private varFactors(): { [symbol: string]: number } {
    const z = varMultiplier(this.cfg.var?.confidence ?? 0.95);
    const out: { [symbol: string]: number } = {};
    for (const [sym, v] of this.vols) if (this.untrusted(sym) === undefined) out[sym] = z * v.sigma;
    return out;
  }

  /**
   * Portfolio VaR/CVaR over one bar: z·sqrt(Σ_i Σ_j s_i s_j ρ_ij) with s_i the signed exposure × σ_i
   * and ρ the EWMA correlations of bar returns (`diversified`); while some pair's correlation is not
   * yet trusted, the undiversified bound Σ|s_i|·z (perfect correlation), conservative for a limit.
   * Legs without a volatility (too few bars, σ = 0) cannot be valued: the VaR covers the others.
   * Legs with stale marks keep their last σ (still risk held). Either sets `degraded`, which
   * tightens every static cap (fail closed); it never switches the VaR limit off for the book.
   */
  varOf(extra?: { symbol: string; qty: number }): {
    var: number;
    cvar: number;
    gross: number;
    degraded: boolean;
    degradedReason: string;
    diversified: boolean;
  } {
    const conf = this.cfg.var?.confidence ?? 0.95;
    let sigmaExposure = 0;
    let gross = 0;
    let degraded = false;
    const why: string[] = [];
    const qtys = new Map<string, number>();
    for (const [sym, p] of this.positions) qtys.set(sym, p.qty);
    if (extra) qtys.set(extra.symbol, (qtys.get(extra.symbol) ?? 0) + extra.qty);
    // Signed σ-weighted exposures: the diversified variance needs the directions.
    const legs: { sym: string; s: number }[] = [];
    for (const [sym, q] of qtys) {
      if (q === 0) continue;
      const px = this.marks.get(sym)?.mid ?? this.positions.get(sym)?.px ?? 0;
      const exposure = Math.abs(q * px);
      gross += exposure;
      const v = this.vols.get(sym);
      const bad = this.untrusted(sym);
      if (bad !== undefined) {
        degraded = true;
        why.push(bad);
      }
      if (v && this.unvalued(sym) === undefined) {
        sigmaExposure += exposure * v.sigma;
        legs.push({ sym, s: Math.sign(q) * exposure * v.sigma });
      }
    }
    // Σ_i Σ_j s_i s_j ρ_ij once every pair's correlation is trusted; until then the undiversified
    // bound Σ|s_i| (perfect correlation), which is never smaller.
    let sigmaP = sigmaExposure;
    let diversified = legs.length <= 1;
    if (legs.length > 1) {
      let variance = 0;
      let known = true;
      for (let i = 0; i < legs.length && known; i++)
        for (let j = 0; j < legs.length; j++) {
          const rho = i === j ? 1 : this.correlation(legs[i]!.sym, legs[j]!.sym);
          if (Number.isNaN(rho)) {
            known = false;
            break;
          }
          variance += legs[i]!.s * legs[j]!.s * rho;
        }
      if (known) {
        sigmaP = Math.sqrt(Math.max(0, variance));
        diversified = true;
      }
    }
    return {
      var: sigmaP * varMultiplier(conf),
      cvar: sigmaP * cvarMultiplier(conf),
      gross,
      degraded,
      degradedReason: why.join('; '),
      diversified,
    };
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
    for (const s of this.subs) s.unsubscribe();
    this.subs.length = 0;
  }

  setLimits(cfg: StaticLimitsConfig): void {
    if (cfg.capital !== this.cfg.capital && this.equity === (this.cfg.capital ?? 0)) this.equity = cfg.capital ?? 0;
    this.cfg = cfg;
    this.publishLimits();
  }

  /** Multiplier of every static cap: degradedCapFraction while VaR is degraded, else 1. */
  private capFactor(degraded: boolean): number {
    return degraded ? (this.cfg.var?.degradedCapFraction ?? DEFAULT_DEGRADED_CAP_FRACTION) : 1;
  }

  limits(): RiskLimits {
    const v = this.cfg.var ? this.varOf() : undefined;
    const f = this.capFactor(v?.degraded ?? false);
    return create(RiskLimitsSchema, {
      epoch: this.epoch,
      version: this.version,
      tsNs: this.clock.nowNs(),
      perSymbolNotional: this.perSymbolCap() * f,
      portfolioNotional: this.cfg.portfolioNotional * f,
      maxOrderNotional: this.cfg.maxOrderNotional * f,
      maxVar: this.cfg.var?.maxVar ?? 0,
      var: v?.var ?? 0,
      varPerNotional: this.cfg.var ? this.varFactors() : {},
      varDegraded: v?.degraded ?? false,
      varDegradedReason: v?.degradedReason ?? '',
      tradingEnabled: this.cfg.tradingEnabled ?? true,
      symbols: Object.entries(this.cfg.symbols ?? {}).map(([symbol, s]) =>
        create(SymbolLimitSchema, { symbol, maxPosition: s.maxPosition * f, maxOrderSize: s.maxOrderSize * f }),
      ),
      reduceOnly: this.reduceOnly !== undefined,
      reduceOnlyReason: this.reduceOnly ?? '',
      checkSymbols: this.checkSymbols(),
    });
  }

  private publishLimits(): void {
    this.version++;
    try {
      this.bus.publish(subjects.riskLimits(this.ns), toBinary(RiskLimitsSchema, this.limits()));
      const v = this.varOf();
      const status = create(RiskStatusSchema, {
        tsNs: this.clock.nowNs(),
        var: v.var,
        cvar: v.cvar,
        drawdown: this.dd.current || 0,
        grossExposure: v.gross,
        degraded: v.degraded,
      });
      this.bus.publish(subjects.riskStatus(this.ns), toBinary(RiskStatusSchema, status));
    } catch {
      // Bus closing: the next interval retries; executors treat missing refreshes as stale.
    }
  }

  /** Approve, approve with a reduced size (fit under the symbol caps), or reject with the reason. */
  evaluate(req: RiskCheckRequest): RiskCheckResponse {
    this.stats.checks++;
    const o = req.proposedOrder;
    if (!o) return this.reject(RejectReason.UNKNOWN, 'risk.check without proposed_order');
    if (!(this.cfg.tradingEnabled ?? true)) return this.reject(RejectReason.RISK_LIMIT, 'trading disabled');
    // Valued at the worse of the limit and the mark: a SELL limit far under the market fills near
    // the market, so its limit would understate the notional.
    const px = Math.max(o.price, this.marks.get(o.symbol)?.mid ?? 0) || (this.positions.get(o.symbol)?.px ?? 0);
    if (!(px > 0)) return this.reject(RejectReason.RISK_LIMIT, 'no price to value the order');
    const sign = o.side === Side.SELL ? -1 : 1;
    // The asker's orders in flight are exposure the positions do not show yet.
    const inflightQty = Number.isFinite(req.inflightSymbolQty) ? req.inflightSymbolQty : 0;
    const cur = (this.positions.get(o.symbol)?.qty ?? 0) + inflightQty;
    let gross = Number.isFinite(req.inflightGrossNotional) ? Math.max(0, req.inflightGrossNotional) : 0;
    for (const p of this.positions.values()) gross += Math.abs(p.qty * p.px);
    // VaR degraded now, or by this order (a symbol without trusted volatility): every static cap is
    // tightened for it (fail closed).
    const degraded = this.cfg.var !== undefined && (this.varOf().degraded || this.untrusted(o.symbol) !== undefined);
    const f = this.capFactor(degraded);
    let allowed = o.size;
    const sym = this.cfg.symbols?.[o.symbol];
    if (sym?.maxOrderSize) allowed = Math.min(allowed, sym.maxOrderSize * f);
    if (this.cfg.maxOrderNotional > 0) allowed = Math.min(allowed, (this.cfg.maxOrderNotional * f) / px);
    const reduces = Math.abs(cur + sign * allowed) < Math.abs(cur);
    if (this.reduceOnly !== undefined && !reduces) return this.reject(RejectReason.RISK_LIMIT, `reduce-only: ${this.reduceOnly}`);
    if (!reduces) {
      const maxQty = Math.min(
        sym?.maxPosition ? sym.maxPosition * f : Infinity,
        this.perSymbolCap() > 0 ? (this.perSymbolCap() * f) / px : Infinity,
      );
      // Room left in the order's direction before the symbol cap.
      const room = Math.max(0, maxQty - sign * cur);
      allowed = Math.min(allowed, room);
      if (this.cfg.portfolioNotional > 0) allowed = Math.min(allowed, Math.max(0, (this.cfg.portfolioNotional * f - gross) / px));
    }
    if (!(allowed > 0)) return this.reject(RejectReason.RISK_LIMIT, `no room for ${o.symbol} (position ${cur})`);
    if (!reduces) {
      const c = this.correlatedWith(o.symbol, sign);
      if (c)
        return this.reject(RejectReason.RISK_LIMIT, `correlation ${o.symbol}~${c.symbol} ${c.rho.toFixed(2)} > ${this.cfg.maxCorrelation}`);
    }
    if (this.cfg.var && !reduces) {
      // Always checked over the legs that can be valued, degraded or not. The asker's other orders
      // in flight count at the highest trusted VaR per notional (an upper bound).
      const after = this.varOf({ symbol: o.symbol, qty: inflightQty + sign * allowed });
      let kMax = 0;
      for (const k of Object.values(this.varFactors())) kMax = Math.max(kMax, k);
      const otherInflight = Math.max(
        0,
        (Number.isFinite(req.inflightGrossNotional) ? req.inflightGrossNotional : 0) - Math.abs(inflightQty) * px,
      );
      const total = after.var + otherInflight * kMax;
      if (total > this.cfg.var.maxVar) {
        return this.reject(RejectReason.RISK_LIMIT, `VaR ${total.toFixed(2)} would exceed ${this.cfg.var.maxVar}`);
      }
    }
    this.stats.approved++;
    if (allowed < o.size) this.stats.adjusted++;
    return create(RiskCheckResponseSchema, { approved: true, adjustedSize: allowed });
  }

  private reject(reason: RejectReason, detail: string): RiskCheckResponse {
    this.stats.rejected++;
    return create(RiskCheckResponseSchema, { approved: false, reason, rejectReason: detail });
  }
}
