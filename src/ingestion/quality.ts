/**
 * Data-quality gates (SPEC "Data Quality Monitor" and the ingestion fast path) for one
 * (venue, symbol) stream. Pure state machine: no clock, no I/O. Time comes only from the ticks'
 * own timestamps, so replaying the same input gives the same verdicts.
 *
 * Order of checks, and why:
 *  1. validity (typed rejection of garbage before any arithmetic on it);
 *  2. resync flag / quarantine (nothing passes a quarantined stream until the adapter resyncs);
 *  3. sequence (before the content gates, so that dropping a crossed or stale tick never looks like a gap);
 *  4. per-symbol bounds from reference data: trade size, touch size, price distance from the symbol's
 *     reference mark (drop as out_of_bounds: one absurd print must not reach engines or marks);
 *  5. crossed book with tolerance (drop beyond it, flag within it);
 *  6. staleness (drop), time skew in both directions (flag), spread (anomaly, kept).
 */
import { TickFlag, type NormalizedTick } from '../contracts/market.js';
import type { DropReason, MarketDataBounds, QualityEventKind, QualityOptions, SequenceMode } from './types.js';
import type { Config } from '../config/schema.js';
import type { RefDataRepository } from '../refdata/repository.js';

export interface QualityEvent {
  kind: QualityEventKind;
  detail: string;
  expectedSequence: bigint;
  receivedSequence: bigint;
  tsNs: bigint;
}

export type Verdict = { ok: true } | { ok: false; reason: DropReason };

const OK: Verdict = { ok: true };
const drop = (reason: DropReason): Verdict => ({ ok: false, reason });
const DROP: Readonly<Record<DropReason, Verdict>> = {
  mailbox_full: drop('mailbox_full'),
  crossed: drop('crossed'),
  stale: drop('stale'),
  quarantined: drop('quarantined'),
  out_of_order: drop('out_of_order'),
  invalid: drop('invalid'),
  stopped: drop('stopped'),
  out_of_bounds: drop('out_of_bounds'),
};

/**
 * The last accepted price of one (venue, symbol) stream, in tick time. Per stream, not per symbol:
 * one venue's price may legitimately stand apart from another's (a stablecoin off its peg, replays
 * of recordings from different days), and it must not make the other venue's data look absurd.
 */
interface MarkReference {
  px: number;
  atNs: bigint;
}

/** `MarketDataBounds` in the units the per-tick checks compare in. */
export interface CompiledBounds {
  maxTradeQty: number;
  maxLevelQty: number;
  maxDeviationFraction: number;
  maxDeviationBps: number;
}

/** The gates' thresholds from config and the per-symbol bounds from reference data: what every process that ingests (session, backtest, `run md`, `record`) applies. */
export async function qualityOptionsOf(
  config: Config,
  refdata: Pick<RefDataRepository, 'marketDataBounds'>,
): Promise<Pick<QualityOptions, 'stalenessMs' | 'maxSpreadPct' | 'maxTimeSkewMs' | 'crossedTolerance' | 'bounds'>> {
  return {
    stalenessMs: config.data_quality.staleness_threshold_ms,
    maxSpreadPct: config.data_quality.max_spread_pct,
    maxTimeSkewMs: config.data_quality.max_time_skew_ms,
    crossedTolerance: config.data_quality.crossed_tolerance,
    bounds: Object.fromEntries((await refdata.marketDataBounds()).map(({ canonical, ...b }) => [canonical, b])),
  };
}

export function compileBounds(b: MarketDataBounds): CompiledBounds {
  return {
    maxTradeQty: b.maxTradeQty,
    maxLevelQty: b.maxLevelQty,
    maxDeviationFraction: b.maxMarkDeviationBps / 10_000,
    maxDeviationBps: b.maxMarkDeviationBps,
  };
}

/** Thresholds converted once to the units the per-tick checks compare in. */
export interface CompiledQuality {
  stalenessNs: bigint;
  skewNs: bigint;
  maxSpreadPct: number;
  crossedFactor: number;
  anomalyIntervalNs: bigint;
  quarantineMaxNs: bigint;
  markMaxAgeNs: bigint;
}

export function compileQuality(q: QualityOptions): CompiledQuality {
  const ns = (ms: number) => BigInt(Math.round(ms * 1e6));
  return {
    stalenessNs: ns(q.stalenessMs),
    skewNs: ns(q.maxTimeSkewMs),
    maxSpreadPct: q.maxSpreadPct,
    crossedFactor: 1 + q.crossedTolerance,
    anomalyIntervalNs: ns(q.anomalyEventIntervalMs),
    quarantineMaxNs: ns(q.quarantineMaxMs),
    markMaxAgeNs: ns(q.markReferenceMaxAgeMs),
  };
}

export class StreamQuality {
  lastSequence: bigint | undefined;
  quarantined = false;
  /** recv_ts of the tick that opened the quarantine (quarantine timeout is measured in tick time). */
  quarantinedSinceNs = 0n;
  /** Ticks of this stream evicted from the mailbox since the last processed one (own drops, not venue gaps). */
  evictedSinceLast = 0;
  private readonly lastEventNs = new Map<string, bigint>();
  private readonly suppressed = new Map<string, number>();

  constructor(
    readonly venue: string,
    readonly symbol: string,
    private readonly mode: SequenceMode,
    private readonly q: CompiledQuality,
    /** This symbol's bounds; undefined: not bounded. */
    private readonly bounds?: CompiledBounds,
  ) {}
  private readonly mark: MarkReference = { px: 0, atNs: 0n };

  /**
   * Applies every gate to `t`, setting its quality flags in place. `emit` receives the events to
   * publish (gap/resync always; anomalies at most once per interval per kind, with the suppressed
   * count in the detail).
   */
  check(t: NormalizedTick, emit: (e: QualityEvent) => void): Verdict {
    if (!validTick(t)) {
      this.anomaly('invalid', t, `invalid tick: ${describeInvalid(t)}`, emit);
      return DROP.invalid;
    }

    if ((t.flags & TickFlag.RESYNC) !== 0) {
      if (this.quarantined) {
        emit(this.event('resync', t, 'adapter resynced (RESYNC tick)'));
      }
      this.quarantined = false;
      this.lastSequence = undefined;
    }

    if (this.quarantined) {
      if (this.q.quarantineMaxNs > 0n && t.recvTsNs - this.quarantinedSinceNs > this.q.quarantineMaxNs) {
        // No resync arrived in time: a top-of-book tick is a complete state, so restart from it
        // rather than black out the symbol; consumers see RESYNC|GAP on this tick.
        this.quarantined = false;
        this.lastSequence = undefined;
        t.flags |= TickFlag.RESYNC | TickFlag.GAP;
        emit(this.event('resync', t, 'quarantine timed out; restarted from a full top-of-book tick'));
      } else {
        return DROP.quarantined;
      }
    }

    if (this.mode !== 'off' && this.lastSequence !== undefined) {
      const last = this.lastSequence;
      const seq = t.sequence;
      if (seq <= last) {
        return DROP.out_of_order;
      }
      if (this.mode === 'contiguous' && seq !== last + 1n) {
        const missing = seq - last - 1n;
        if (missing > BigInt(this.evictedSinceLast)) {
          this.quarantined = true;
          this.quarantinedSinceNs = t.recvTsNs;
          this.evictedSinceLast = 0;
          this.lastSequence = undefined;
          emit({
            kind: 'gap',
            detail: `sequence gap: ${missing} missing; quarantined until resync`,
            expectedSequence: last + 1n,
            receivedSequence: seq,
            tsNs: t.recvTsNs,
          });
          return DROP.quarantined;
        }
      }
    }
    // Ticks evicted from our own mailbox: each tick is a full top of book, so nothing is corrupt, but
    // consumers learn that they missed updates.
    if (this.evictedSinceLast > 0) t.flags |= TickFlag.GAP;
    this.lastSequence = t.sequence;
    this.evictedSinceLast = 0;

    if (this.bounds !== undefined) {
      const why = this.outOfBounds(t, this.bounds, emit);
      if (why !== undefined) {
        this.anomaly('out_of_bounds', t, why, emit);
        return DROP.out_of_bounds;
      }
    }

    const bid = t.bid;
    const ask = t.ask;
    const twoSided = bid > 0 && ask > 0;
    if (twoSided && bid > ask) {
      if (bid > ask * this.q.crossedFactor) {
        t.flags |= TickFlag.CROSSED;
        this.anomaly('crossed', t, `crossed book: bid ${bid} > ask ${ask} beyond tolerance`, emit);
        return DROP.crossed;
      }
      t.flags |= TickFlag.CROSSED;
    }

    const lag = t.recvTsNs - t.exchTsNs;
    if (lag > this.q.stalenessNs) {
      t.flags |= TickFlag.STALE;
      this.anomaly('stale', t, `stale tick: recv - exch = ${Number(lag) / 1e6} ms`, emit);
      return DROP.stale;
    }
    if (lag > this.q.skewNs || -lag > this.q.skewNs) {
      t.flags |= TickFlag.SKEW;
      this.anomaly('skew', t, `time skew: recv - exch = ${Number(lag) / 1e6} ms`, emit);
    }

    if (twoSided && bid <= ask) {
      const spreadPct = ((ask - bid) / ((ask + bid) / 2)) * 100;
      if (spreadPct > this.q.maxSpreadPct) {
        this.anomaly('spread', t, `spread ${spreadPct.toFixed(4)}% > ${this.q.maxSpreadPct}%`, emit);
      }
    }
    // Only accepted ticks move the reference mark.
    const px = (t.flags & TickFlag.TRADE) !== 0 ? t.lastPx : twoSided ? (bid + ask) / 2 : bid > 0 ? bid : ask;
    if (px > 0) {
      this.mark.px = px;
      this.mark.atNs = t.recvTsNs;
    }
    return OK;
  }

  /** Why `t` is outside the symbol's bounds, or undefined when it is inside. */
  private outOfBounds(t: NormalizedTick, b: CompiledBounds, emit: (e: QualityEvent) => void): string | undefined {
    const trade = (t.flags & TickFlag.TRADE) !== 0;
    if (trade && t.lastQty > b.maxTradeQty) return `trade size ${t.lastQty} > max ${b.maxTradeQty}`;
    if (!trade && t.bidSize > b.maxLevelQty) return `bid size ${t.bidSize} > max level ${b.maxLevelQty}`;
    if (!trade && t.askSize > b.maxLevelQty) return `ask size ${t.askSize} > max level ${b.maxLevelQty}`;
    const ref = this.mark.px;
    if (ref <= 0) return undefined; // nothing accepted yet: this tick will become the reference
    if (t.recvTsNs - this.mark.atNs > this.q.markMaxAgeNs) {
      // The reference is too old to judge by (a feed outage, or a real jump beyond the band that
      // nothing in-band followed): this tick re-anchors it, and operators hear about it.
      const far = this.deviationBps(t, trade, ref);
      if (far > b.maxDeviationBps)
        this.anomaly(
          'reanchor',
          t,
          `reference mark ${ref} older than ${Number(this.q.markMaxAgeNs) / 1e6} ms; re-anchoring ${far.toFixed(0)} bps away`,
          emit,
        );
      return undefined;
    }
    for (const p of trade ? [t.lastPx] : [t.bid, t.ask]) {
      if (p > 0 && Math.abs(p - ref) > ref * b.maxDeviationFraction) {
        return `price ${p} is ${((Math.abs(p - ref) / ref) * 10_000).toFixed(0)} bps from reference mark ${ref} (max ${b.maxDeviationBps})`;
      }
    }
    return undefined;
  }

  private deviationBps(t: NormalizedTick, trade: boolean, ref: number): number {
    let worst = 0;
    for (const p of trade ? [t.lastPx] : [t.bid, t.ask]) if (p > 0) worst = Math.max(worst, (Math.abs(p - ref) / ref) * 10_000);
    return worst;
  }

  /** The adapter reported a gap or checksum failure: hold the stream until it resyncs. */
  quarantine(sinceNs: bigint): void {
    this.quarantined = true;
    this.quarantinedSinceNs = sinceNs;
    this.lastSequence = undefined;
  }

  /** The adapter resynced: the next tick is the new sequence base. Returns whether it was quarantined. */
  resync(): boolean {
    const was = this.quarantined;
    this.quarantined = false;
    this.lastSequence = undefined;
    this.evictedSinceLast = 0;
    return was;
  }

  private anomaly(kind: QualityEventKind, t: NormalizedTick, detail: string, emit: (e: QualityEvent) => void): void {
    const skipped = this.admit(kind, t.recvTsNs);
    if (skipped < 0) return;
    emit(this.event(kind, t, skipped > 0 ? `${detail} (+${skipped} suppressed since last event)` : detail));
  }

  /**
   * Anomaly rate limit, per kind (also applied to anomalies the adapter reports): -1 when an event of
   * this kind at `tsNs` is suppressed, else how many were suppressed since the last one published.
   */
  admit(kind: string, tsNs: bigint): number {
    const last = this.lastEventNs.get(kind);
    // Time can step backwards across clocks; only a forward step inside the window suppresses.
    const dt = last === undefined ? -1n : tsNs - last;
    if (dt >= 0n && dt < this.q.anomalyIntervalNs) {
      this.suppressed.set(kind, (this.suppressed.get(kind) ?? 0) + 1);
      return -1;
    }
    const skipped = this.suppressed.get(kind) ?? 0;
    this.suppressed.set(kind, 0);
    this.lastEventNs.set(kind, tsNs);
    return skipped;
  }

  private event(kind: QualityEventKind, t: NormalizedTick, detail: string): QualityEvent {
    return { kind, detail, expectedSequence: 0n, receivedSequence: t.sequence, tsNs: t.recvTsNs };
  }
}

function validTick(t: NormalizedTick): boolean {
  return (
    t.exchTsNs > 0n &&
    t.recvTsNs > 0n &&
    t.sequence >= 0n &&
    t.bid >= 0 &&
    t.ask >= 0 &&
    t.bidSize >= 0 &&
    t.askSize >= 0 &&
    t.lastPx >= 0 &&
    t.lastQty >= 0 &&
    // NaN fails every comparison above; Infinity is caught here.
    t.bid < Infinity &&
    t.ask < Infinity &&
    t.bidSize < Infinity &&
    t.askSize < Infinity &&
    t.lastPx < Infinity &&
    t.lastQty < Infinity &&
    (t.bid > 0 || t.ask > 0 || (t.flags & TickFlag.TRADE) !== 0)
  );
}

function describeInvalid(t: NormalizedTick): string {
  const bad: string[] = [];
  if (!(t.exchTsNs > 0n)) bad.push(`exch_ts_ns=${t.exchTsNs}`);
  if (!(t.recvTsNs > 0n)) bad.push(`recv_ts_ns=${t.recvTsNs}`);
  if (!(t.sequence >= 0n)) bad.push(`sequence=${t.sequence}`);
  for (const k of ['bid', 'ask', 'bidSize', 'askSize', 'lastPx', 'lastQty'] as const) {
    const v = t[k];
    if (!(v >= 0 && v < Infinity)) bad.push(`${k}=${v}`);
  }
  if (bad.length === 0) bad.push('no bid, no ask and not a trade');
  return bad.join(', ');
}
