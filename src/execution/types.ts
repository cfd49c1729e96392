/**
 * Executor-facing inputs as plain typed objects: the hot path from signal intake to the ord.req
 * encoding never builds a protobuf or JSON object.
 */
import { Regime, Side, Urgency } from '../contracts/index.js';

export { Regime, Side, Urgency };

/** A trading signal as the executor consumes it (from the signal ring or sig.{strategy}.{symbol}). */
export interface ExecSignal {
  strategyId: string;
  symbol: string;
  side: Side;
  size: number;
  confidence: number;
  ttlMs: number;
  maxSlippageBps: number;
  minFillQty: number;
  urgency: Urgency;
  /** Dedupe key: a signal with a trace id already turned into an order is never executed twice. */
  traceId: string;
  sourceSequence: bigint;
  /** Emission time, ns since the epoch (TTL is measured from here). */
  emitTsNs: bigint;
  /** Mid at decision time; 0 → the executor uses the current snapshot mid. */
  refPrice: number;
  /** Regime at decision (docs/STRATEGY.md "Regime"); absent = REGIME_UNSPECIFIED. */
  regime?: Regime;
}

export type SignalHandler = (s: ExecSignal) => void;

/** Where signals come from. The bus implementation is in signal-source.ts; the ring one in src/native/. */
export interface SignalSource {
  /** Register the consumer; returns an unsubscribe function. */
  onSignal(cb: SignalHandler): () => void;
  close(): void;
}

/** Top of book for one venue/symbol. */
export interface MarketSnapshot {
  bid: number;
  ask: number;
  bidSize: number;
  askSize: number;
  /** Local receive time, ns since the epoch (staleness is measured from here). */
  tsNs: bigint;
}

/** Latest top of book per venue/symbol, fed by the lead from ingestion ticks. */
export interface MarketSnapshotSource {
  get(venue: string, symbol: string): MarketSnapshot | undefined;
}

/** Simple store implementation of MarketSnapshotSource (updated in place; no allocation per tick). */
export class SnapshotStore implements MarketSnapshotSource {
  /** venue → symbol → snapshot (no key string built per lookup). */
  private readonly map = new Map<string, Map<string, MarketSnapshot>>();

  update(venue: string, symbol: string, bid: number, ask: number, bidSize: number, askSize: number, tsNs: bigint): void {
    let m = this.map.get(venue);
    if (!m) this.map.set(venue, (m = new Map()));
    const s = m.get(symbol);
    if (s) {
      s.bid = bid;
      s.ask = ask;
      s.bidSize = bidSize;
      s.askSize = askSize;
      s.tsNs = tsNs;
    } else m.set(symbol, { bid, ask, bidSize, askSize, tsNs });
  }

  get(venue: string, symbol: string): MarketSnapshot | undefined {
    return this.map.get(venue)?.get(symbol);
  }

  /** Every (venue, symbol) with its latest snapshot (metrics: age of the last message per stream). */
  *entries(): IterableIterator<{ venue: string; symbol: string; snapshot: MarketSnapshot }> {
    for (const [venue, m] of this.map) for (const [symbol, snapshot] of m) yield { venue, symbol, snapshot };
  }
}
