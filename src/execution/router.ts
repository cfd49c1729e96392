/**
 * Smart order routing: split a signal's size across eligible venues by best price net of taker fee,
 * taking at most the displayed top-of-book size per venue; what the displayed liquidity cannot
 * absorb goes to the best venue (the limit price still caps slippage there).
 */
import { Side } from '../contracts/index.js';
import type { PrecisionGuard } from './precision.js';
import type { MarketSnapshotSource } from './types.js';

export interface Allocation {
  venue: string;
  size: number;
}

interface Candidate {
  venue: string;
  net: number;
  avail: number;
  minLot: number;
}

export class SmartOrderRouter {
  constructor(
    private readonly precision: PrecisionGuard,
    private readonly market: MarketSnapshotSource,
  ) {}

  /**
   * `eligible(venue)` filters venues (enabled, not paused, breaker closed, capacity left).
   * Returns an empty array when no venue has a usable book.
   */
  route(symbol: string, side: Side, size: number, venues: readonly string[], eligible: (venue: string) => boolean): Allocation[] {
    const cands: Candidate[] = [];
    for (const venue of venues) {
      if (!eligible(venue)) continue;
      const e = this.precision.entry(venue, symbol);
      const snap = this.market.get(venue, symbol);
      if (!e || !snap || !(snap.bid > 0) || !(snap.ask > 0)) continue;
      const net = side === Side.BUY ? snap.ask * (1 + e.takerFee) : snap.bid * (1 - e.takerFee);
      const avail = side === Side.BUY ? snap.askSize : snap.bidSize;
      cands.push({ venue, net, avail: avail > 0 ? avail : Infinity, minLot: e.minLot });
    }
    if (cands.length === 0) return [];
    if (cands.length === 1) return [{ venue: cands[0]!.venue, size }];
    cands.sort(side === Side.BUY ? (a, b) => a.net - b.net : (a, b) => b.net - a.net);
    const out: Allocation[] = [];
    let left = size;
    for (const c of cands) {
      if (left <= 0) break;
      const take = Math.min(left, c.avail);
      // A slice below the venue minimum lot cannot be sent; leave it for the best venue.
      if (take < c.minLot) continue;
      out.push({ venue: c.venue, size: take });
      left -= take;
    }
    if (left > 1e-12) {
      const best = out.find((a) => a.venue === cands[0]!.venue);
      if (best) best.size += left;
      else out.unshift({ venue: cands[0]!.venue, size: left });
    }
    return out;
  }
}
