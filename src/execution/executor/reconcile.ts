/**
 * Positions vs venue: for every symbol traded on a venue, the base-asset balance change since a
 * baseline must equal our position (Executor.reconcileBalances delegates here).
 */
import type { PositionBook } from '../../positions/book.js';
import type { VenueReconClient } from './types.js';

export interface BalanceMismatch {
  venue: string;
  asset: string;
  ours: number;
  venueDelta: number;
}

export async function reconcileBalances(
  recons: Readonly<Record<string, VenueReconClient>>,
  book: PositionBook,
  baseline: Readonly<Record<string, Readonly<Record<string, number>>>>,
  tolerance: number,
  venues?: readonly string[],
): Promise<BalanceMismatch[]> {
  const out: BalanceMismatch[] = [];
  for (const [venue, recon] of Object.entries(recons)) {
    if (venues && !venues.includes(venue)) continue;
    const bal = await recon.balances();
    const ours = new Map<string, number>();
    for (const p of book.all()) {
      if (p.venue !== venue) continue;
      const base = p.symbol.split('-')[0]!;
      ours.set(base, (ours.get(base) ?? 0) + p.quantity);
    }
    for (const [asset, q] of ours) {
      const delta = (bal[asset] ?? 0) - (baseline[venue]?.[asset] ?? 0);
      if (Math.abs(delta - q) > tolerance) out.push({ venue, asset, ours: q, venueDelta: delta });
    }
  }
  return out;
}
