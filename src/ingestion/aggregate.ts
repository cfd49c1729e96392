/**
 * The cross-venue consolidated book of one canonical symbol (md.agg.{symbol}): best bid and best ask
 * over the venues whose last accepted quote is fresh (in tick time), sizes summed at equal prices.
 * Kept by the ingestion shard that owns the symbol, and by `kestrel run md --data`, which publishes
 * the ticks its replay source already gated.
 */
import { TickFlag, VENUE_IDS, type NormalizedTick } from '../contracts/market.js';

const MAX_VENUE_ID = Math.max(...Object.values(VENUE_IDS));

export class CrossVenueBook {
  // Latest accepted quote per venue id.
  private readonly qBid: Float64Array;
  private readonly qAsk: Float64Array;
  private readonly qBidSize: Float64Array;
  private readonly qAskSize: Float64Array;
  private readonly qRecvNs: BigInt64Array;
  private bid = 0;
  private ask = 0;
  private bidSize = 0;
  private askSize = 0;
  private sequence = 0n;

  constructor(
    readonly symbol: string,
    /** A venue whose last quote is older than this (tick time) no longer counts. */
    private readonly stalenessNs: bigint,
  ) {
    const n = MAX_VENUE_ID + 1;
    this.qBid = new Float64Array(n);
    this.qAsk = new Float64Array(n);
    this.qBidSize = new Float64Array(n);
    this.qAskSize = new Float64Array(n);
    this.qRecvNs = new BigInt64Array(n);
  }

  /** Current consolidated quote, if any venue quoted. */
  best(): { bid: number; ask: number; bidSize: number; askSize: number } | undefined {
    if (this.bid === 0 && this.ask === 0) return undefined;
    return { bid: this.bid, ask: this.ask, bidSize: this.bidSize, askSize: this.askSize };
  }

  /** An accepted tick of one venue; returns the new aggregate when it changed, else undefined. */
  update(t: NormalizedTick): NormalizedTick | undefined {
    const v = t.venueId;
    if (v < 0 || v > MAX_VENUE_ID || (t.bid <= 0 && t.ask <= 0)) return undefined;
    this.qBid[v] = t.bid;
    this.qAsk[v] = t.ask;
    this.qBidSize[v] = t.bidSize;
    this.qAskSize[v] = t.askSize;
    this.qRecvNs[v] = t.recvTsNs;
    let bid = 0;
    let bidSize = 0;
    let ask = 0;
    let askSize = 0;
    for (let i = 0; i <= MAX_VENUE_ID; i++) {
      if (this.qRecvNs[i]! === 0n || t.recvTsNs - this.qRecvNs[i]! > this.stalenessNs) continue;
      const b = this.qBid[i]!;
      const a = this.qAsk[i]!;
      if (b > bid) {
        bid = b;
        bidSize = this.qBidSize[i]!;
      } else if (b === bid && b > 0) bidSize += this.qBidSize[i]!;
      if (a > 0 && (ask === 0 || a < ask)) {
        ask = a;
        askSize = this.qAskSize[i]!;
      } else if (a === ask && a > 0) askSize += this.qAskSize[i]!;
    }
    if (bid === this.bid && ask === this.ask && bidSize === this.bidSize && askSize === this.askSize) return undefined;
    this.bid = bid;
    this.ask = ask;
    this.bidSize = bidSize;
    this.askSize = askSize;
    this.sequence++;
    return {
      exchTsNs: t.exchTsNs,
      recvTsNs: t.recvTsNs,
      venueId: t.venueId,
      symbolId: t.symbolId,
      venue: t.venue,
      symbol: this.symbol,
      bid,
      ask,
      bidSize,
      askSize,
      sequence: this.sequence,
      // Across venues a crossed consolidated book is a real (arbitrage) state, not bad data: flag only.
      flags: bid > 0 && ask > 0 && bid > ask ? TickFlag.CROSSED : 0,
      lastPx: 0,
      lastQty: 0,
      aggressor: 0,
    };
  }
}
