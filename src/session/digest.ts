/** Decision digest: every signal, order and fill of a run folds into one SHA-256, so two runs with the
 * same inputs, config version and seed can be compared by one string (ARCHITECTURE "Determinism"). */
import { createHash, type Hash } from 'node:crypto';

export class DecisionDigest {
  private readonly hash: Hash = createHash('sha256');
  private count = 0;

  add(kind: string, ...fields: ReadonlyArray<string | number | bigint | boolean>): void {
    this.hash.update(kind);
    for (const f of fields) this.hash.update(`|${typeof f === 'number' ? f.toPrecision(17) : String(f)}`);
    this.hash.update('\n');
    this.count++;
  }

  get decisions(): number {
    return this.count;
  }

  hex(): string {
    return this.hash.copy().digest('hex');
  }
}

/**
 * One signal's entry in a digest: what the kernel digests for a signal. The backtest keeps a digest of
 * these alone (`signalDigest`) and the engine process one of what it published, so the two compare.
 */
export function signalDigestEntry(
  venue: string,
  s: { symbol: string; side: number; size: number; confidence: number; sourceSequence: bigint },
): [string, string, string, number, number, number, bigint] {
  return ['signal', venue, s.symbol, s.side, s.size, s.confidence, s.sourceSequence];
}
