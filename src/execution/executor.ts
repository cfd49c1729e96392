/**
 * The executor: signal → validation → priority lanes + concurrency caps → smart routing → precision
 * & slippage guards → local risk guard (risk.check on boundary cases) → nonce + client id → WAL
 * intent (fdatasync) → ord.req.{venue}; venue answers (reply and ord.ack.{venue}) drive the order
 * state machine, the positions book and the circuit breakers.
 *
 * Invariants (what the chaos test checks):
 * - no order leaves before its WAL intent is durable (group commit: one fsync may cover a burst);
 * - a client id / nonce is never reused, across crashes (nonce watermark in the WAL);
 * - an order whose outcome is unknown (timeout, crash) is never resent: the venue is asked first.
 */
import { fromBinary } from '@bufbuild/protobuf';
import {
  OrderStatus,
  OrderType,
  RejectReason,
  Side,
  TimeInForce,
  VenueHealthSchema,
  patterns,
  rejectName,
  type OrderAck,
} from '../contracts/index.js';
import type { Namespace } from '../contracts/subjects.js';
import type { Subscription } from '../bus/bus.js';
import { CircuitBreakerRegistry, DEFAULT_BREAKER } from '../circuit/breaker.js';
import { createLogger, type Logger } from '../observability/logger.js';
import type { PositionBook } from '../positions/book.js';
import { NonceManager } from './nonce.js';
import { OrderRecord, OrderState, isTerminal, type FillDelta } from './order.js';
import { PrecisionGuard } from './precision.js';
import { LocalRiskGuard } from './risk-guard.js';
import { SmartOrderRouter } from './router.js';
import type { ExecSignal, SignalSource } from './types.js';
import type { Clock } from '../clock/clock.js';
import { systemScheduler, type Scheduler, type TimerHandle } from '../clock/scheduler.js';
import { encodeOrderRequest } from './order-encoder.js';
import { OrderJournal } from './wal/order-journal.js';
import { loadOrCreateInstanceId } from './instance-id.js';
import { OrderRateLimiter } from './rate-limit.js';
import type { DirectOrderIntent, OrderIntent } from './order-intent.js';
import {
  HaltClearError,
  DEFAULT_CONCURRENCY,
  type HaltCause,
  type ExecutorConfig,
  type ExecutorDeps,
  type RejectEvent,
  type LifecycleEvent,
  type RecoveryReport,
  type GroupState,
  type GroupLegInput,
  type GroupResult,
  type ExecutorLiveSettings,
} from './executor/types.js';
import { BasketDesk } from './executor/baskets.js';
import { checkLiveSettings, resolveExecutorConfig, type ResolvedExecutorConfig } from './executor/config.js';
import { screenSignal, signalExpired } from './executor/intake.js';
import { requestCancel, requestReplace, resolveInDoubt, takenAck, type InDoubtHost } from './executor/send.js';
import { InflightBook } from './executor/inflight.js';
import { SignalLanes, type PumpHost } from './executor/lanes.js';
import { OrderSender, type SenderHost } from './executor/sender.js';
import { SignalPlacement, type PlacementHost } from './executor/placement.js';
import { recoverOrders } from './executor/recovery.js';
import { reconcileBalances, type BalanceMismatch } from './executor/reconcile.js';

export {
  isHaltCause,
  HaltClearError,
  DEFAULT_CONCURRENCY,
  ExecutorConfigError,
  type HaltCause,
  type VenueReconClient,
  type ConcurrencyConfig,
  type ExecutorConfig,
  type ExecutorDeps,
  type RejectEvent,
  type LifecycleEvent,
  type RiskDecisionName,
  type RecoveryReport,
  type GroupLegInput,
  type GroupResult,
  type ExecutorLiveSettings,
} from './executor/types.js';

export class Executor {
  readonly journal: OrderJournal;
  readonly nonces: NonceManager;
  readonly precision: PrecisionGuard;
  readonly router: SmartOrderRouter;
  readonly risk: LocalRiskGuard;
  private readonly rateLimiter: OrderRateLimiter | undefined;
  readonly breakers: CircuitBreakerRegistry;
  readonly book: PositionBook;
  readonly orders: Map<string, OrderRecord>;
  readonly truncatedBytes: number;
  /** Carried in every client id this executor creates (see instance-id.ts). */
  readonly instanceId: string;
  private readonly log: Logger;
  /** Defaults applied; reconfigure changes the live settings in place (executor/config.ts). */
  private readonly cfg: ResolvedExecutorConfig;
  private readonly enabled: Set<string>;
  private readonly paused = new Set<string>();
  private readonly unhealthy = new Set<string>();
  /**
   * Why trading is halted, one entry per cause. An operator kill is released by `resume`; a risk kill
   * or a WAL failure only by `clearHalt(cause)` (explicit, audited by the caller), so a routine resume
   * can never re-open trading the risk gateway or a broken disk stopped.
   */
  private readonly halts = new Map<HaltCause, string>();
  /** Signals waiting for room, by priority (executor/lanes.ts). */
  private readonly lanes = new SignalLanes();
  /** Slots, in-flight quantity and notional of open orders (executor/inflight.ts). */
  private readonly inflight = new InflightBook();
  /** Group commit, send, replies and acks, in-doubt orders (executor/sender.ts). */
  private readonly sender: OrderSender;
  /** SOR, guards and risk for each signal (executor/placement.ts). */
  private readonly placement: SignalPlacement;
  private readonly scheduler: Scheduler;
  private readonly subs: Subscription[] = [];
  private readonly groups = new Map<string, GroupState>();
  private readonly rejectListeners: Array<(e: RejectEvent) => void> = [];
  private readonly fillListeners: Array<(o: OrderRecord, d: FillDelta) => void> = [];
  private readonly sendListeners: Array<(o: OrderRecord, signal: ExecSignal | undefined) => void> = [];
  private readonly lifecycleListeners: Array<(e: LifecycleEvent) => void> = [];
  private signalSource: SignalSource | undefined;
  private draining = false;
  private unsubscribeSignals: (() => void) | undefined;
  private readonly timers = new Set<TimerHandle>();
  private started = false;
  private closed = false;
  private readonly ns: Namespace;
  private readonly staleNs: bigint;
  private readonly skewNs: bigint;
  /** Reject counts by reason (also the metrics source). */
  readonly rejects = new Map<RejectReason, number>();
  readonly counters = {
    signals: 0,
    orders: 0,
    sent: 0,
    acks: 0,
    fills: 0,
    inDoubt: 0,
    failed: 0,
    corrected: 0,
    riskChecks: 0,
    duplicates: 0,
    unknownAcks: 0,
    inDoubtResolved: 0,
    untimedSignals: 0,
    futureSignals: 0,
  };

  constructor(
    private readonly deps: ExecutorDeps,
    config: ExecutorConfig,
  ) {
    this.log = deps.logger ?? createLogger('executor');
    this.cfg = resolveExecutorConfig(config);
    this.ns = this.cfg.namespace;
    this.staleNs = BigInt(this.cfg.staleSnapshotMs) * 1_000_000n;
    this.skewNs = BigInt(Math.round(this.cfg.maxClockSkewMs * 1e6));
    const opened = OrderJournal.open(config.walDir, {
      ...(config.walRotationBytes !== undefined ? { rotationBytes: config.walRotationBytes } : {}),
      ...(config.walRetentionMs !== undefined ? { retentionMs: config.walRetentionMs } : {}),
      ...(config.walSync === false ? { sync: false } : {}),
      ...(config.walDurableCommit !== undefined ? { durableCommit: config.walDurableCommit } : {}),
    });
    this.journal = opened.journal;
    this.truncatedBytes = opened.truncatedBytes;
    this.orders = this.journal.state.orders;
    this.book = this.journal.state.book;
    this.instanceId = loadOrCreateInstanceId(config.walDir, config.instanceId);
    this.nonces = new NonceManager(this.journal, {
      clock: deps.clock,
      blockSize: this.cfg.nonceBlock,
      clientIdPrefix: this.cfg.clientIdPrefix,
      instanceId: this.instanceId,
    });
    this.precision = new PrecisionGuard(deps.venues, this.staleNs, this.cfg.defaultSlippageBps);
    this.router = new SmartOrderRouter(this.precision, deps.market);
    this.risk = new LocalRiskGuard(BigInt(this.cfg.riskStalenessMs) * 1_000_000n, this.cfg.riskBoundaryPct);
    this.rateLimiter = config.rateLimits ? new OrderRateLimiter(config.rateLimits, deps.clock.nowNs()) : undefined;
    this.breakers = new CircuitBreakerRegistry(
      config.circuit ?? { default: DEFAULT_BREAKER },
      { bus: deps.bus, namespace: this.ns },
      deps.clock,
    );
    this.enabled = new Set(config.enabledVenues ?? deps.venues.map((v) => v.venue));
    this.scheduler = deps.scheduler ?? systemScheduler;
    this.sender = new OrderSender(this.senderHost());
    this.placement = new SignalPlacement(this.placementHost());
    // Orders the WAL knows as open hold their concurrency slots until they finish.
    for (const o of this.orders.values()) if (!isTerminal(o.state)) this.takeSlot(o);
  }

  /** The time source of every check this executor makes (metrics read it too). */
  get clock(): Clock {
    return this.deps.clock;
  }

  // ---------------------------------------------------------------- lifecycle

  /** Subscribe acks and limits, recover from the WAL + venues, then accept signals. */
  async start(signals?: SignalSource): Promise<RecoveryReport> {
    if (this.started) throw new Error('executor already started');
    this.started = true;
    this.subs.push(this.deps.bus.subscribe(patterns.orderAcksAll(this.ns), (m) => this.sender.onAckMessage(m)));
    // A venue whose private stream is down gets no new orders (fills could not be tracked).
    this.subs.push(
      this.deps.bus.subscribe(patterns.venueHealthAll(this.ns), (m) => {
        try {
          const h = fromBinary(VenueHealthSchema, m.data);
          // Public market-data adapters report too, without privateWs: they say nothing about order entry.
          if (!h.privateWs) return;
          if (!h.privateWs.connected) this.unhealthy.add(h.venue);
          else this.unhealthy.delete(h.venue);
        } catch {
          // malformed health report: keep the previous view
        }
      }),
    );
    this.risk.subscribe(this.deps.bus, () => this.deps.clock.nowNs(), this.ns);
    const report = await this.recover();
    // Without limits every order is a boundary case (a risk.check round trip each): let the
    // gateway's first publication arrive before signals flow, if it comes soon.
    // A real-time wait counted in timer ticks, not clock reads: a virtual clock stands still meanwhile.
    for (let waitedMs = 0; !this.risk.current && waitedMs < this.cfg.awaitRiskLimitsMs && !this.closed; waitedMs += 10)
      await new Promise((r) => setTimeout(r, 10));
    if (signals) this.attachSignals(signals);
    return report;
  }

  attachSignals(source: SignalSource): void {
    this.unsubscribeSignals?.();
    this.signalSource = source;
    this.unsubscribeSignals = source.onSignal((s) => this.onSignal(s));
  }

  /**
   * Drain (/admin/drain): take no more signals, then wait until every signal already taken has become
   * an order or a reject and every order is terminal. The source is closed, not just ignored, so a
   * queue group hands the stream to the other executors. Resolves with the orders still open when
   * `timeoutMs` passed (empty after a clean drain); they stay in the WAL for the next start.
   */
  async drain(timeoutMs: number, pollMs = 10): Promise<{ drained: boolean; open: string[] }> {
    this.draining = true;
    this.unsubscribeSignals?.();
    this.unsubscribeSignals = undefined;
    this.signalSource?.close();
    this.signalSource = undefined;
    const open = () => [...this.orders.values()].filter((o) => !isTerminal(o.state)).map((o) => o.clientId);
    // Counted timer ticks, not clock reads: a virtual clock standing still must not make drain wait forever.
    for (let polls = Math.ceil(timeoutMs / pollMs); (this.queuedCount > 0 || open().length > 0) && polls > 0 && !this.closed; polls--) {
      await new Promise((r) => setTimeout(r, pollMs));
    }
    const left = open();
    return { drained: left.length === 0 && this.queuedCount === 0, open: left };
  }

  /** True once drain() began: no signal is taken any more. */
  /** The settings `reconfigure` changes, as in force now. */
  get liveSettings(): ExecutorLiveSettings {
    const c = this.cfg.concurrency;
    return {
      minConfidence: this.cfg.minConfidence,
      tif: this.cfg.tif === TimeInForce.GTC ? TimeInForce.GTC : TimeInForce.IOC,
      laneCapacity: this.cfg.laneCapacity,
      concurrency: { ...c, perVenueMaxInflight: { ...c.perVenueMaxInflight } },
    };
  }

  /**
   * Hot reload: every setting is checked before any changes (ExecutorConfigError, nothing applied),
   * then all change together; the next signal sees them. Orders already sent keep their terms.
   */
  reconfigure(s: ExecutorLiveSettings): void {
    checkLiveSettings(s);
    const c = s.concurrency;
    this.cfg.minConfidence = s.minConfidence;
    this.cfg.tif = s.tif;
    this.cfg.laneCapacity = s.laneCapacity;
    this.cfg.concurrency = { ...c, perVenueMaxInflight: { ...DEFAULT_CONCURRENCY.perVenueMaxInflight, ...c.perVenueMaxInflight } };
    // Raised caps release queued signals now, not at the next fill.
    if (this.started && !this.closed) this.pump();
  }

  get isDraining(): boolean {
    return this.draining;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribeSignals?.();
    this.signalSource = undefined;
    for (const s of this.subs) s.unsubscribe();
    this.risk.close();
    for (const t of this.timers) t.cancel();
    this.sender.close();
    this.journal.close();
  }

  onReject(cb: (e: RejectEvent) => void): void {
    this.rejectListeners.push(cb);
  }

  onFill(cb: (o: OrderRecord, d: FillDelta) => void): void {
    this.fillListeners.push(cb);
  }

  /** Called right after an order's request went out (latency measurement hook). */
  onSend(cb: (o: OrderRecord, signal: ExecSignal | undefined) => void): void {
    this.sendListeners.push(cb);
  }

  /** Intents, venue updates, cancel requests and risk decisions, in the order they happen. */
  onLifecycle(cb: (e: LifecycleEvent) => void): void {
    this.lifecycleListeners.push(cb);
  }

  private lifecycle(e: LifecycleEvent): void {
    for (const cb of this.lifecycleListeners) cb(e);
  }

  get inflightCount(): number {
    return this.inflight.count;
  }

  /** Gross notional of orders in flight (and awaiting risk.check), counted by the portfolio cap. */
  get inflightNotional(): number {
    return this.inflight.notional;
  }

  venueInflightCount(venue: string): number {
    return this.inflight.venueCount(venue);
  }

  get queuedCount(): number {
    return this.lanes.size;
  }

  get isHalted(): boolean {
    return this.halted;
  }

  private get halted(): boolean {
    return this.halts.size > 0;
  }

  /** The reason shown in rejects: the most severe cause's (WAL, then risk, then operator). */
  private get haltReason(): string {
    return this.halts.get('wal') ?? this.halts.get('risk') ?? this.halts.get('operator') ?? 'kill switch engaged';
  }

  /** Active halts by cause (admin state, control replies). */
  get haltCauses(): ReadonlyMap<HaltCause, string> {
    return this.halts;
  }

  // ---------------------------------------------------------------- emergency controls

  /** Global kill switch: refuse new signals; cancel open orders (cancelOnKill). */
  async kill(reason: string, cause: HaltCause = 'operator'): Promise<void> {
    this.halts.set(cause, `kill switch engaged: ${reason}`);
    this.log.warn({ reason, cause }, 'kill switch engaged');
    this.lanes.clear((s) => this.reject(s, '', RejectReason.KILL_SWITCH, reason));
    if (this.cfg.cancelOnKill) await this.cancelAll(`kill: ${reason}`);
  }

  /**
   * Release an operator kill. Throws HaltClearError (trading stays halted) while a risk kill or a WAL
   * failure holds: those need `clearHalt` with their cause.
   */
  resume(): void {
    this.halts.delete('operator');
    const held = this.halts.has('wal') ? 'wal' : this.halts.has('risk') ? 'risk' : undefined;
    if (held) {
      throw new HaltClearError(
        `resume cannot clear a ${held} halt (${this.halts.get(held)}); clear it explicitly with clear_halt ${held}`,
        held,
      );
    }
    this.log.warn('kill switch released');
    this.pump();
  }

  /**
   * Explicitly clear one halt cause. A WAL halt clears only if the journal commits again (the disk is
   * back); otherwise it stays and this throws. Trading resumes once no cause is left.
   */
  clearHalt(cause: HaltCause): void {
    if (!this.halts.has(cause)) throw new HaltClearError(`no ${cause} halt to clear`, cause);
    if (cause === 'wal') {
      try {
        this.journal.commit();
      } catch (err) {
        throw new HaltClearError(`WAL still failing, halt kept: ${err instanceof Error ? err.message : String(err)}`, cause);
      }
    }
    this.halts.delete(cause);
    this.log.warn({ cause, remaining: [...this.halts.keys()] }, 'halt cleared');
    if (!this.halted) this.pump();
  }

  pauseVenue(venue: string): void {
    this.paused.add(venue);
  }

  resumeVenue(venue: string): void {
    this.paused.delete(venue);
    this.pump();
  }

  isPaused(venue: string): boolean {
    return this.paused.has(venue);
  }

  /**
   * Close every position (or only `symbol`'s) with opposite orders on the venue that holds it, after
   * cancelling the open orders concerned. Returns client ids.
   */
  async flatten(reason: string, symbol?: string): Promise<string[]> {
    await this.cancelAll(`flatten: ${reason}`, symbol);
    const ids: string[] = [];
    for (const p of this.book.all()) {
      if (Math.abs(p.quantity) < 1e-12 || (symbol !== undefined && p.symbol !== symbol)) continue;
      const side = p.quantity > 0 ? Side.SELL : Side.BUY;
      const o = this.placeDirect({
        venue: p.venue,
        symbol: p.symbol,
        side,
        size: Math.abs(p.quantity),
        refPrice: 0,
        slippageBps: this.cfg.flattenSlippageBps,
        groupId: '',
        tag: `flatten:${reason}`,
      });
      if (o) ids.push(o.clientId);
    }
    return ids;
  }

  async cancelAll(reason: string, symbol?: string): Promise<void> {
    const open = [...this.orders.values()].filter(
      (o) => !isTerminal(o.state) && o.state !== OrderState.INTENT && (symbol === undefined || o.symbol === symbol),
    );
    await Promise.all(open.map((o) => this.cancel(o, reason)));
  }

  /**
   * Cancel one order through ord.cancel.req (the venue's order gateway); when no gateway answers,
   * through the private client directly. The venue's answer is applied like any other update.
   */
  async cancel(o: OrderRecord, reason: string): Promise<OrderAck | undefined> {
    if (this.lifecycleListeners.length > 0) this.lifecycle({ kind: 'cancel', o, reason });
    const ack = await requestCancel(this.deps.bus, this.ns, this.deps.recon?.[o.venue], this.log, o, reason);
    if (ack && takenAck(ack, o)) this.applyAck(ack);
    return ack;
  }

  /** Amend price and/or quantity (ord.replace.req), keeping the client id. 0 keeps the current value. */
  async replace(o: OrderRecord, newPrice: number, newQuantity: number): Promise<OrderAck | undefined> {
    if (isTerminal(o.state)) return undefined;
    try {
      const ack = await requestReplace(this.deps.bus, this.ns, o, newPrice, newQuantity);
      if (takenAck(ack, o)) {
        // The in-flight exposure stays exact across the size change.
        this.inflight.resized(o, () => {
          if (newQuantity > 0) o.size = newQuantity;
        });
        if (newPrice > 0) o.price = newPrice;
        this.applyAck(ack);
      }
      return ack;
    } catch (err) {
      this.log.warn({ clientId: o.clientId, err: String(err) }, 'replace failed');
      return undefined;
    }
  }

  // ---------------------------------------------------------------- signal intake

  /** Entry point for every signal (ring or bus). Synchronous up to the WAL commit scheduling. */
  onSignal(s: ExecSignal): void {
    this.counters.signals++;
    if (this.closed) return;
    // A signal the closed source had already handed over: refused visibly, never sent.
    if (this.draining) return void this.reject(s, '', RejectReason.KILL_SWITCH, 'executor draining');
    try {
      this.intake(s);
    } catch (err) {
      // Malformed input from a source (e.g. a non-bigint timestamp) is refused, never thrown at the source.
      this.reject(s, '', RejectReason.UNKNOWN, `malformed signal: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private intake(s: ExecSignal): void {
    if (this.halted) return this.reject(s, '', RejectReason.KILL_SWITCH, this.haltReason);
    const no = screenSignal(s, this.deps.clock, this.journal.state.traceIds, this.cfg, this.skewNs);
    if (no) {
      if (no.counter) this.counters[no.counter]++;
      return this.reject(s, '', no.reason, no.detail);
    }
    // Fast path: nothing queued ahead and room for it → straight through.
    if (this.queuedCount === 0 && this.hasRoom(s.symbol)) {
      this.placement.process(s);
      return;
    }
    if (!this.lanes.offer(s, this.cfg.laneCapacity)) {
      return this.reject(s, '', RejectReason.CONCURRENCY_LIMIT, 'priority lane full');
    }
    this.pump();
  }

  private expired(s: ExecSignal, now: bigint): boolean {
    return signalExpired(s, now, this.cfg, this.skewNs);
  }

  private hasRoom(symbol: string): boolean {
    return this.inflight.hasRoom(symbol, this.cfg.concurrency);
  }

  /** Drain lanes (HIGH first) while caps allow; signals that expired in the queue are refused. */
  private pump(): void {
    if (this.halted) return;
    this.lanes.pump(this.pumpHost);
  }

  private readonly pumpHost: PumpHost = {
    full: () => this.inflight.count >= this.cfg.concurrency.globalMaxInflight,
    expired: (s) => this.expired(s, this.deps.clock.nowNs()),
    hasRoom: (symbol) => this.hasRoom(symbol),
    refuseExpired: (s) => this.reject(s, '', RejectReason.SIGNAL_EXPIRED, 'expired while queued'),
    process: (s) => this.placement.process(s),
  };

  private placementHost(): PlacementHost {
    const deps = this.deps;
    return {
      bus: deps.bus,
      ns: this.ns,
      clock: deps.clock,
      market: deps.market,
      precision: this.precision,
      router: this.router,
      risk: this.risk,
      rateLimiter: this.rateLimiter,
      breakers: this.breakers,
      book: this.book,
      inflight: this.inflight,
      counters: this.counters,
      cfg: this.cfg,
      pausedOrDisabled: (v) => this.paused.has(v) || !this.enabled.has(v),
      unhealthy: (v) => this.unhealthy.has(v),
      midOf: (venue, symbol) => this.midOf(venue, symbol),
      expired: (s) => this.expired(s, deps.clock.nowNs()),
      isClosed: () => this.closed,
      reject: (s, venue, reason, detail) => this.reject(s, venue, reason, detail),
      place: (intent) => void this.createAndQueue(intent),
      pump: () => this.pump(),
      wantsLifecycle: () => this.lifecycleListeners.length > 0,
      lifecycle: (e) => this.lifecycle(e),
    };
  }

  private reject(s: ExecSignal | undefined, venue: string, reason: RejectReason, detail: string, clientId = ''): void {
    this.rejects.set(reason, (this.rejects.get(reason) ?? 0) + 1);
    for (const cb of this.rejectListeners) cb({ signal: s, venue, reason, detail, clientId });
  }

  // ---------------------------------------------------------------- orders

  /** Send an order outside the signal path (flatten, unwind, baskets); precision still applies. */
  placeDirect(d: DirectOrderIntent): OrderRecord | undefined {
    const { venue, symbol, side, tag } = d;
    const g = this.precision.check(
      venue,
      symbol,
      side,
      d.size,
      d.refPrice,
      d.slippageBps,
      this.deps.market.get(venue, symbol),
      this.deps.clock.nowNs(),
      this.cfg.mode === 'shadow',
    );
    if (!g.ok) {
      this.reject(undefined, venue, g.reason, `${tag}: ${g.detail}`);
      return undefined;
    }
    const emergency = tag.startsWith('flatten:') || tag.startsWith('unwind:');
    const limited = emergency ? null : this.rateLimiter?.tryTake(venue, this.deps.clock.nowNs());
    if (limited) {
      this.reject(undefined, venue, RejectReason.RATE_LIMIT, `${tag}: ${limited}`);
      return undefined;
    }
    return this.createAndQueue({
      venue,
      symbol,
      side,
      size: g.size,
      price: g.price,
      groupId: d.groupId,
      traceId: '',
      source: tag.slice(0, 32),
      emergency,
    });
  }

  private createAndQueue(intent: OrderIntent): OrderRecord {
    const { venue, symbol, side, size, price, groupId, traceId, source: strategyId, signal, emergency = false } = intent;
    const nonce = this.nonces.next(venue);
    const clientId = this.nonces.clientId(venue, nonce);
    const created = this.deps.clock.nowNs();
    const shadow = this.cfg.mode === 'shadow';
    // The only encoding on the hot path, byte-identical to toBinary(OrderRequestSchema) (tested).
    const bytes = encodeOrderRequest({
      clientId,
      venue,
      symbol,
      side,
      size,
      price,
      tif: this.cfg.tif,
      orderType: OrderType.LIMIT,
      orderGroupId: groupId,
      nonce,
      strategyId,
      traceId,
      shadow,
      createdTsNs: created,
    });
    const o = new OrderRecord(clientId, venue, symbol, side, size, price, nonce, groupId, traceId, strategyId, shadow, created, bytes);
    if (this.orders.has(clientId)) throw new Error(`client id reuse: ${clientId}`); // impossible by construction; fail loudly
    this.orders.set(clientId, o);
    if (traceId) this.journal.state.traceIds.add(traceId);
    this.takeSlot(o);
    this.journal.intent(o);
    this.counters.orders++;
    if (this.lifecycleListeners.length > 0) this.lifecycle({ kind: 'intent', o });
    if (signal) this.signalOf.set(o, signal);
    this.sender.queue(o, emergency);
    return o;
  }

  private readonly signalOf = new WeakMap<OrderRecord, ExecSignal>();

  /** Group commit: one fdatasync covers every intent queued in this turn, then they are sent. */
  flush(): void {
    this.sender.flush();
  }

  private senderHost(): SenderHost {
    const deps = this.deps;
    return {
      bus: deps.bus,
      ns: this.ns,
      clock: deps.clock,
      scheduler: this.scheduler,
      journal: this.journal,
      breakers: this.breakers,
      log: this.log,
      counters: this.counters,
      inDoubtCheckMs: () => this.cfg.inDoubtCheckMs,
      isClosed: () => this.closed,
      isHalted: () => this.halted,
      haltOnWal: (err) => {
        const reason = `WAL write failed: ${err instanceof Error ? err.message : String(err)}`;
        if (!this.halts.has('wal')) this.log.fatal({ err: String(err) }, 'WAL write failed; trading halted');
        this.halts.set('wal', reason);
      },
      finishLocal: (o, reason, detail) => this.finishLocal(o, reason, detail),
      applyAck: (ack, wire) => this.applyAck(ack, wire),
      later: (ms, fn) => this.later(ms, fn),
      resolveInDoubt: (o) => void this.resolveInDoubt(o),
      onSent: (o) => {
        const sig = this.signalOf.get(o);
        for (const cb of this.sendListeners) cb(o, sig);
      },
    };
  }

  /** The send's outcome is unknown: in doubt until the venue is asked (executor/sender.ts). */
  private markInDoubt(o: OrderRecord, breakerCounted = false): void {
    this.sender.markInDoubt(o, breakerCounted);
  }

  /** Ask the venue about an order we have no answer for; never resend (executor/send.ts). */
  private resolveInDoubt(o: OrderRecord): Promise<'adopted' | 'failed' | 'unresolved'> {
    return resolveInDoubt(this.inDoubtHost, o);
  }

  private readonly inDoubtHost: InDoubtHost = {
    isClosed: () => this.closed,
    recon: (venue) => this.deps.recon?.[venue],
    warn: (fields, msg) => this.log.warn(fields, msg),
    checkMs: () => this.cfg.inDoubtCheckMs,
    later: (ms, fn) => this.later(ms, fn),
    applyAck: (ack) => this.applyAck(ack),
    finishLocal: (o, reason, detail) => this.finishLocal(o, reason, detail),
    counters: this.counters,
  };

  /** Local terminal outcome (not from the venue): FAILED, recorded in the WAL. */
  private finishLocal(o: OrderRecord, reason: RejectReason, detail: string): void {
    o.markFailed(detail);
    o.rejectReason = reason;
    this.journal.failed(o.clientId, `${rejectName(reason)}: ${detail}`);
    this.sender.scheduleLazyCommit();
    this.releaseSlot(o);
    this.reject(this.signalOf.get(o), o.venue, reason, detail, o.clientId);
    this.baskets.onLegUpdate(o);
    this.pump();
  }

  /** Apply a venue update (reply, stream, or reconciliation answer) to its order. */
  applyAck(ack: OrderAck, wire?: Uint8Array): void {
    const o = this.orders.get(ack.clientId);
    if (!o) {
      if (this.nonces.isOurs(ack.clientId)) this.counters.unknownAcks++;
      return;
    }
    this.counters.acks++;
    const wasTerminal = isTerminal(o.state) && o.state !== OrderState.FAILED;
    const before = o.state;
    const d = o.apply(ack);
    if (d.qty === 0 && before === o.state && ack.status !== OrderStatus.REJECTED) return; // duplicate / stale
    this.journal.ack(ack, wire);
    this.sender.scheduleLazyCommit();
    if (this.lifecycleListeners.length > 0) this.lifecycle({ kind: 'ack', o, ack, fill: d });
    if (d.qty > 0) {
      this.counters.fills++;
      this.book.applyFill(o.venue, o.symbol, o.side, d.qty, d.price, d.fee, ack.tsNs || this.deps.clock.nowNs());
      this.inflight.filled(o, d.qty);
      for (const cb of this.fillListeners) cb(o, d);
    }
    if (ack.status === OrderStatus.REJECTED && before !== OrderState.REJECTED) {
      this.reject(this.signalOf.get(o), o.venue, ack.rejectReason, ack.rejectDetail || 'venue reject', o.clientId);
    }
    if (isTerminal(o.state)) {
      this.releaseSlot(o);
      if (!wasTerminal) this.baskets.onLegUpdate(o);
      this.pump();
    } else if (before === OrderState.FAILED) {
      // Adopted back from FAILED (venue had it after all): it holds a slot again while open.
      this.takeSlot(o);
    }
  }

  private takeSlot(o: OrderRecord): void {
    if (this.inflight.holds(o.clientId)) return;
    this.inflight.take(o, Math.max(o.price, this.midOf(o.venue, o.symbol)));
  }

  private midOf(venue: string, symbol: string): number {
    const snap = this.deps.market.get(venue, symbol);
    return snap && snap.bid > 0 && snap.ask > 0 ? (snap.bid + snap.ask) / 2 : 0;
  }

  /** Drop the oldest finished orders beyond the retention cap (Map/Set keep insertion order). */
  private prune(): void {
    const cap = this.cfg.maxRetainedOrders;
    if (this.orders.size > cap) {
      for (const [id, o] of this.orders) {
        if (this.orders.size <= cap) break;
        if (isTerminal(o.state) && !o.inDoubt) this.orders.delete(id);
      }
    }
    const ids = this.journal.state.traceIds;
    if (ids.size > cap)
      for (const t of ids) {
        if (ids.size <= cap) break;
        ids.delete(t);
      }
  }

  private releaseSlot(o: OrderRecord): void {
    if (this.inflight.release(o) && this.orders.size > this.cfg.maxRetainedOrders) this.prune();
  }

  private later(ms: number, fn: () => void): void {
    if (this.closed) return;
    const t = this.scheduler.after(ms, () => {
      this.timers.delete(t);
      fn();
    });
    this.timers.add(t);
  }

  // ---------------------------------------------------------------- recovery

  /** Restart recovery: ask the venues about every open WAL order, cancel orphans (executor/recovery.ts). */
  async recover(): Promise<RecoveryReport> {
    return recoverOrders({
      orders: this.orders,
      recon: this.deps.recon ?? {},
      log: this.log,
      graceMs: this.cfg.recoveryGraceMs,
      truncatedBytes: this.truncatedBytes,
      isOurs: (id) => this.nonces.isOurs(id),
      applyAck: (ack) => this.applyAck(ack),
      markInDoubt: (o, counted) => this.markInDoubt(o, counted),
      retryLater: (o) => this.later(this.cfg.inDoubtCheckMs, () => void this.resolveInDoubt(o)),
      finishLocal: (o, reason, detail) => this.finishLocal(o, reason, detail),
      commit: () => this.journal.commit(),
    });
  }

  // ---------------------------------------------------------------- baskets

  /**
   * Execute an OrderGroup. BEST_EFFORT keeps whatever fills; ATOMIC cancels the remainder of every
   * leg as soon as one leg fails and unwinds the filled quantity of the others; PERCENTAGE unwinds
   * everything when the filled share of the basket ends below `minCompletionPct` (executor/baskets.ts).
   */
  submitGroup(
    groupId: string,
    policy: 'BEST_EFFORT' | 'ATOMIC' | 'PERCENTAGE',
    legs: readonly GroupLegInput[],
    minCompletionPct = 100,
  ): Promise<GroupResult> {
    return this.baskets.submit(groupId, policy, legs, minCompletionPct);
  }

  private readonly baskets = new BasketDesk({
    risk: () => this.risk,
    slippageBps: () => this.cfg.defaultSlippageBps,
    flattenSlippageBps: () => this.cfg.flattenSlippageBps,
    now: () => this.deps.clock.nowNs(),
    midOf: (venue, symbol) => this.midOf(venue, symbol),
    exposure: (symbol, extraQty, extraGross) => this.inflight.exposure(this.book, symbol, extraQty, extraGross),
    countRiskCheck: () => void this.counters.riskChecks++,
    reserve: (venue, symbol, d, notional) => this.inflight.reserve(venue, symbol, d, notional),
    gatewayCheck: (s, venue, size, price) => this.placement.gatewayCheck(s, venue, size, price),
    tradable: (venue) => !(this.halted || this.paused.has(venue) || !this.enabled.has(venue)),
    reject: (venue, reason, detail) => this.reject(undefined, venue, reason, detail),
    placeDirect: (d) => this.placeDirect(d),
    cancel: (o, reason) => this.cancel(o, reason),
  });

  // ---------------------------------------------------------------- positions vs venue

  /**
   * Compare positions with the venue's balances: for every symbol traded on a venue, the base-asset
   * balance change since `baseline` must equal our position. Returns the mismatches (empty = agree).
   */
  async reconcileBalances(
    baseline: Readonly<Record<string, Readonly<Record<string, number>>>>,
    tolerance = 1e-9,
    venues?: readonly string[],
  ): Promise<BalanceMismatch[]> {
    return reconcileBalances(this.deps.recon ?? {}, this.book, baseline, tolerance, venues);
  }
}
