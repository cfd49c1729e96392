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
