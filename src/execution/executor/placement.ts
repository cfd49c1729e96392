/**
 * Signal placement: the smart order router splits a signal across the eligible venues, and each
 * allocation becomes an order after the precision & slippage guard, the signal's min_fill_qty, the
 * local risk guard (risk.check with the gateway on boundary cases, a slot reserved meanwhile) and the
 * rate limit. The Executor creates the orders and keeps the venue states; it lends them through
 * PlacementHost.
 */
import { RejectReason, Side, TimeInForce } from '../../contracts/index.js';
import type { Namespace } from '../../contracts/subjects.js';
import type { Bus } from '../../bus/bus.js';
import type { CircuitBreakerRegistry } from '../../circuit/breaker.js';
import type { Clock } from '../../clock/clock.js';
import type { PositionBook } from '../../positions/book.js';
import type { OrderIntent } from '../order-intent.js';
import { wholeSteps, type PrecisionGuard } from '../precision.js';
import type { OrderRateLimiter } from '../rate-limit.js';
import { RiskDecision, type LocalRiskGuard } from '../risk-guard.js';
import type { Allocation, SmartOrderRouter } from '../router.js';
import type { ExecSignal, MarketSnapshotSource } from '../types.js';
import type { InflightBook } from './inflight.js';
import { askRiskGateway, noVenueReason, type GatewayAnswer, type VenueView } from './routing.js';
import type { ConcurrencyConfig, ExecutorConfig, LifecycleEvent } from './types.js';

export interface PlacementHost {
  readonly bus: Bus;
  readonly ns: Namespace;
  readonly clock: Clock;
  readonly market: MarketSnapshotSource;
  readonly precision: PrecisionGuard;
  readonly router: SmartOrderRouter;
  readonly risk: LocalRiskGuard;
  readonly rateLimiter: OrderRateLimiter | undefined;
  readonly breakers: CircuitBreakerRegistry;
  readonly book: PositionBook;
  readonly inflight: InflightBook;
  readonly counters: { corrected: number; riskChecks: number };
  /** The executor's live settings (reconfigure changes them in place). */
  readonly cfg: Readonly<{ mode: ExecutorConfig['mode']; tif: TimeInForce; concurrency: ConcurrencyConfig; riskCheckTimeoutMs: number }>;
  pausedOrDisabled(venue: string): boolean;
  /** The venue's private stream is down (fills could not be tracked). */
  unhealthy(venue: string): boolean;
  midOf(venue: string, symbol: string): number;
  expired(s: ExecSignal): boolean;
  isClosed(): boolean;
  reject(s: ExecSignal, venue: string, reason: RejectReason, detail: string): void;
  /** Create the order (nonce, WAL intent) and queue it for the group commit. */
  place(intent: OrderIntent): void;
  /** A reserved slot is free again: release queued signals. */
  pump(): void;
  wantsLifecycle(): boolean;
  lifecycle(e: LifecycleEvent): void;
}

export class SignalPlacement {
  constructor(private readonly h: PlacementHost) {}

  private venueCap(venue: string): number {
    const m = this.h.cfg.concurrency.perVenueMaxInflight;
    return m[venue] ?? m.default ?? 32;
  }

  private eligible(venue: string): boolean {
    const h = this.h;
    return (
      !h.pausedOrDisabled(venue) &&
      !h.unhealthy(venue) &&
      h.breakers.get(venue).wouldAllow() &&
      h.inflight.venueCount(venue) < this.venueCap(venue)
    );
  }

  /** Route `s` across the eligible venues and place each slice the caps leave room for. */
  process(s: ExecSignal): void {
    const venues = this.h.precision.venuesFor(s.symbol);
    if (venues.length === 0) return this.h.reject(s, '', RejectReason.INVALID_SYMBOL, `no venue lists ${s.symbol}`);
    const shadow = this.h.cfg.mode === 'shadow';
    const allocs = this.h.router.route(
      s.symbol,
      s.side,
      s.size,
      venues,
      (v) => this.eligible(v) && (shadow || !this.h.precision.entry(v, s.symbol)!.shadowOnly),
    );
    if (allocs.length === 0) return this.rejectNoVenue(s, venues, shadow);
    // Each slice is an order in flight: the global and symbol caps bound the slices, not just the
    // signal (the router puts the best-priced first).
    const room = this.h.inflight.room(s.symbol, this.h.cfg.concurrency);
    const n = Math.max(0, Math.min(allocs.length, room));
    for (let i = 0; i < n; i++) this.placeAllocation(s, allocs[i]!, allocs.length > 1 ? i : -1);
    for (let i = n; i < allocs.length; i++) {
      this.h.reject(
        s,
        allocs[i]!.venue,
        RejectReason.CONCURRENCY_LIMIT,
        `slice ${i + 1} of ${allocs.length} dropped: in-flight caps reached`,
      );
    }
  }

  private rejectNoVenue(s: ExecSignal, venues: readonly string[], shadow: boolean): void {
    const no = noVenueReason(venues, s.symbol, shadow, this.venueView);
    return this.h.reject(s, venues[0]!, no.reason, no.detail);
  }

  private readonly venueView: VenueView = {
    shadowOnly: (v, symbol) => this.h.precision.entry(v, symbol)!.shadowOnly,
    pausedOrDisabled: (v) => this.h.pausedOrDisabled(v),
    circuitOpen: (v) => !this.h.breakers.get(v).wouldAllow(),
    unhealthy: (v) => this.h.unhealthy(v),
    atCap: (v) => this.h.inflight.venueCount(v) >= this.venueCap(v),
  };

  private placeAllocation(s: ExecSignal, a: Allocation, slice: number): void {
    const shadow = this.h.cfg.mode === 'shadow';
    const now = this.h.clock.nowNs();
    const snap = this.h.market.get(a.venue, s.symbol);
    const g = this.h.precision.check(
      a.venue,
      s.symbol,
      s.side,
      a.size,
      s.refPrice,
      s.maxSlippageBps,
      snap,
      now,
      shadow,
      this.h.cfg.tif === TimeInForce.GTC,
    );
    if (!g.ok) return this.h.reject(s, a.venue, g.reason, g.detail);
    if (g.corrections !== 0) this.h.counters.corrected++;
    const price = g.price;
    const size = g.size;
    // The signal's min_fill_qty: an order that could never fill that much is not worth sending.
    if (slice < 0 && s.minFillQty > 0 && size < s.minFillQty - 1e-12) {
      return this.h.reject(s, a.venue, RejectReason.MIN_SIZE, `size ${size} after venue rounding/caps below min_fill_qty ${s.minFillQty}`);
    }
    const signed = s.side === Side.SELL ? -size : size;
    const exposure = this.h.inflight.exposure(this.h.book, s.symbol);
    // A SELL fills at or above its limit: valued at the limit, a wide slippage cap would understate
    // its notional. The guard values every order at the worse of its limit and mid.
    const valuePx = snap ? Math.max(price, (snap.bid + snap.ask) / 2) : price;
    const d = this.h.risk.check(s.symbol, signed, valuePx, exposure, now);
    if (this.h.wantsLifecycle()) {
      const decision = d === RiskDecision.APPROVED ? 'approved' : d === RiskDecision.REJECTED ? 'rejected' : 'boundary';
      this.h.lifecycle({
        kind: 'risk',
        venue: a.venue,
        symbol: s.symbol,
        side: s.side,
        traceId: s.traceId,
        size,
        price,
        decision,
        detail: d === RiskDecision.REJECTED ? this.h.risk.detail : '',
      });
    }
    if (d === RiskDecision.REJECTED) return this.h.reject(s, a.venue, this.h.risk.reason, this.h.risk.detail);
    const limited = this.h.rateLimiter?.tryTake(a.venue, now);
    if (limited) return this.h.reject(s, a.venue, RejectReason.RATE_LIMIT, limited);
    // Every slice of a routed signal carries the signal's trace id (the dedupe key).
    const traceId = s.traceId;
    void slice;
    if (d === RiskDecision.APPROVED) {
      this.h.place({
        venue: a.venue,
        symbol: s.symbol,
        side: s.side,
        size,
        price,
        groupId: '',
        traceId,
        source: s.strategyId,
        signal: s,
      });
      return;
    }
    // Boundary case: the gateway decides (risk.check_timeout_ms, reject on timeout). A slot is reserved meanwhile so
    // that the caps stay exact while the answer is pending.
    this.h.counters.riskChecks++;
    const reservedNotional = size * valuePx;
    this.h.inflight.reserve(a.venue, s.symbol, 1, reservedNotional);
    void this.gatewayCheck(s, a.venue, size, price).then((r) => {
      this.h.inflight.reserve(a.venue, s.symbol, -1, reservedNotional);
      if (this.h.isClosed()) return;
      if (this.h.wantsLifecycle()) {
        const decision = r.ok ? 'gateway_approved' : 'gateway_rejected';
        this.h.lifecycle({
          kind: 'risk',
          venue: a.venue,
          symbol: s.symbol,
          side: s.side,
          traceId: s.traceId,
          size: r.ok ? r.size : size,
          price,
          decision,
          detail: r.detail,
        });
      }
      const refuse = (reason: RejectReason, detail: string): void => {
        this.h.reject(s, a.venue, reason, detail);
        this.h.pump(); // the reserved slot is free again
      };
      if (!r.ok) return refuse(r.reason, r.detail);
      if (this.h.expired(s)) return refuse(RejectReason.SIGNAL_EXPIRED, 'expired during risk check');
      const e = this.h.precision.entry(a.venue, s.symbol)!;
      const adj = e.lotStep > 0 ? wholeSteps(r.size, e.lotStep) * e.lotStep : r.size;
      const finalSize = Math.min(size, Math.round(adj * e.lotScale) / e.lotScale);
      if (finalSize < e.minLot) return refuse(RejectReason.RISK_LIMIT, `risk-adjusted size ${r.size} below min lot`);
      this.h.place({
        venue: a.venue,
        symbol: s.symbol,
        side: s.side,
        size: finalSize,
        price,
        groupId: '',
        traceId,
        source: s.strategyId,
        signal: s,
      });
    });
  }

  /** Ask the risk gateway about a proposed order (risk.check); signal path and basket legs alike. */
  gatewayCheck(s: ExecSignal, venue: string, size: number, price: number): Promise<GatewayAnswer> {
    // Excludes this order's own reservation: the gateway adds the proposed order itself.
    const gross = Math.max(0, this.h.inflight.notional - size * Math.max(price, this.h.midOf(venue, s.symbol)));
    return askRiskGateway(
      this.h.bus,
      this.h.ns,
      s,
      venue,
      size,
      price,
      gross,
      this.h.inflight.pendingQty(s.symbol),
      this.h.cfg.riskCheckTimeoutMs,
    );
  }
}
