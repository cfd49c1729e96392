/**
 * Local risk guard: a mirror of the gateway's limits (risk.limits) checked without a network hop.
 * Clear passes and clear breaches are decided locally; near a limit (≥ boundaryPct of it) or with a
 * cache older than the staleness threshold (1 s) the order becomes a boundary case for risk.check.
 * The VaR limit is one of them: the gateway publishes max_var, the book's VaR and each trusted
 * symbol's VaR per notional; a risk-increasing order in a symbol without a trusted volatility is
 * always a boundary case (the gateway applies its tightened, degraded caps).
 */
import { fromBinary } from '@bufbuild/protobuf';
import { RejectReason, RiskLimitsSchema, subjects, type Namespace, type RiskLimits, type SymbolLimit } from '../contracts/index.js';
import type { Bus, Subscription } from '../bus/bus.js';

export const enum RiskDecision {
  APPROVED = 0,
  REJECTED = 1,
  BOUNDARY = 2,
}

export interface RiskExposure {
  /** Signed net position of the symbol including in-flight orders. */
  symbolQty: number;
  /** Gross notional of all positions plus every order in flight (sent, not yet filled or finished). */
  grossNotional: number;
  /** Gross notional of the orders in flight alone (their VaR is not in the gateway's figure yet). */
  inflightNotional?: number;
}

export class LocalRiskGuard {
  private limits: RiskLimits | undefined;
  private readonly symbolLimits = new Map<string, SymbolLimit>();
  /** Symbols whose risk-increasing orders the gateway decides (correlation limit). */
  private checkSymbols: ReadonlySet<string> = new Set();
  /** Highest published VaR per notional: bounds the VaR of orders in flight in any symbol. */
  private maxVarFactor = 0;
  private refreshedNs = 0n;
  private sub: Subscription | undefined;
  reason: RejectReason = RejectReason.UNKNOWN;
  detail = '';

  constructor(
    private readonly stalenessNs: bigint = 1_000_000_000n,
    private readonly boundaryPct = 0.9,
  ) {}

  /** Follow risk.limits on the bus. */
  subscribe(bus: Bus, now: () => bigint, ns: Namespace): void {
    this.sub = bus.subscribe(subjects.riskLimits(ns), (m) => {
      try {
        this.update(fromBinary(RiskLimitsSchema, m.data), now());
      } catch {
        // A malformed limits message leaves the previous limits in force until they go stale.
      }
    });
  }

  close(): void {
    this.sub?.unsubscribe();
  }

  /**
   * Limits are ordered by (epoch, version): a restarted gateway starts a new epoch with its version
   * back at 1 and must not be ignored. An older pair is dropped while the current limits are fresh
   * (a late message from a replaced gateway); once they are stale any epoch is taken, so a gateway
   * whose start id sorts lower (its clock stepped back) cannot blind the guard for good.
   */
  update(l: RiskLimits, nowNs: bigint): void {
    const cur = this.limits;
    if (cur && nowNs - this.refreshedNs <= this.stalenessNs && (l.epoch < cur.epoch || (l.epoch === cur.epoch && l.version < cur.version)))
      return;
    this.limits = l;
    this.symbolLimits.clear();
    for (const s of l.symbols) this.symbolLimits.set(s.symbol, s);
    this.checkSymbols = new Set(l.checkSymbols);
    let k = 0;
    for (const v of Object.values(l.varPerNotional)) if (v > k) k = v;
    this.maxVarFactor = k;
    this.refreshedNs = nowNs;
  }

  get current(): RiskLimits | undefined {
    return this.limits;
  }

  check(symbol: string, signedQty: number, price: number, exp: RiskExposure, nowNs: bigint): RiskDecision {
    const l = this.limits;
    if (!l || nowNs - this.refreshedNs > this.stalenessNs) {
      this.detail = l ? 'risk limits cache stale' : 'no risk limits yet';
      return RiskDecision.BOUNDARY;
    }
    if (!l.tradingEnabled) return this.no(RejectReason.RISK_LIMIT, 'trading disabled by risk gateway');
    const notional = Math.abs(signedQty) * price;
    const b = this.boundaryPct;
    let near = false;
    if (l.maxOrderNotional > 0) {
      if (notional > l.maxOrderNotional) return this.no(RejectReason.RISK_LIMIT, `order notional ${notional} > ${l.maxOrderNotional}`);
      near ||= notional > b * l.maxOrderNotional;
    }
    const projected = exp.symbolQty + signedQty;
    const reduces = Math.abs(projected) < Math.abs(exp.symbolQty);
    if (l.reduceOnly && !reduces) return this.no(RejectReason.RISK_LIMIT, `reduce-only: ${l.reduceOnlyReason || 'risk gateway'}`);
    const sl = this.symbolLimits.get(symbol);
    if (sl) {
      if (sl.maxOrderSize > 0 && Math.abs(signedQty) > sl.maxOrderSize)
        return this.no(RejectReason.RISK_LIMIT, `size > ${sl.maxOrderSize}`);
      if (sl.maxPosition > 0 && !reduces) {
        if (Math.abs(projected) > sl.maxPosition) return this.no(RejectReason.RISK_LIMIT, `position ${projected} > ${sl.maxPosition}`);
        near ||= Math.abs(projected) > b * sl.maxPosition;
      }
    }
    if (l.perSymbolNotional > 0 && !reduces) {
      const pn = Math.abs(projected) * price;
      if (pn > l.perSymbolNotional) return this.no(RejectReason.RISK_LIMIT, `symbol notional ${pn} > ${l.perSymbolNotional}`);
      near ||= pn > b * l.perSymbolNotional;
    }
    if (l.portfolioNotional > 0 && !reduces) {
      const g = exp.grossNotional + notional;
      if (g > l.portfolioNotional) return this.no(RejectReason.RISK_LIMIT, `portfolio notional ${g} > ${l.portfolioNotional}`);
      near ||= g > b * l.portfolioNotional;
    }
    if (l.maxVar > 0 && !reduces) {
      const k = l.varPerNotional[symbol];
      if (!(k !== undefined && k > 0)) {
        this.detail = `no trusted volatility for ${symbol}: the gateway decides`;
        return RiskDecision.BOUNDARY;
      }
      // Upper bound: VaR is subadditive, so the book's VaR plus each addition's standalone VaR.
      const v = l.var + (exp.inflightNotional ?? 0) * this.maxVarFactor + notional * k;
      if (v > l.maxVar) return this.no(RejectReason.RISK_LIMIT, `VaR ${v.toFixed(2)} > ${l.maxVar}`);
      near ||= v > b * l.maxVar;
    }
    if (near) {
      this.detail = 'near a risk limit';
      return RiskDecision.BOUNDARY;
    }
    if (!reduces && this.checkSymbols.has(symbol)) {
      this.detail = 'correlated with a held position: the gateway decides';
      return RiskDecision.BOUNDARY;
    }
    return RiskDecision.APPROVED;
  }

  private no(reason: RejectReason, detail: string): RiskDecision {
    this.reason = reason;
    this.detail = detail;
    return RiskDecision.REJECTED;
  }
}
