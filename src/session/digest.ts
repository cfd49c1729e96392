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
 * Signals per stream, each stream's in arrival order, folded in stream-name order: a session's engine
 * thread interleaves the streams as it is scheduled, a backtest in tick order, but each stream's own
 * signal sequence is a function of its ring input alone.
 */
export class StreamDigest {
  private readonly streams = new Map<string, DecisionDigest>();

  add(stream: string, kind: string, ...fields: ReadonlyArray<string | number | bigint | boolean>): void {
    let d = this.streams.get(stream);
    if (d === undefined) this.streams.set(stream, (d = new DecisionDigest()));
    d.add(kind, ...fields);
  }

  get decisions(): number {
    let n = 0;
    for (const d of this.streams.values()) n += d.decisions;
    return n;
  }

  hex(): string {
    const h = createHash('sha256');
    for (const k of [...this.streams.keys()].sort()) h.update(`${k} ${this.streams.get(k)!.hex()}\n`);
    return h.digest('hex');
  }
}

/** What a signal digest reads of a signal: the engine's decision, not its transport or trace fields. */
export interface DigestedSignal {
  readonly symbol: string;
  readonly side: number;
  readonly size: number;
  readonly confidence: number;
  readonly refPrice: number;
  readonly ttlMs: number;
  readonly sourceSequence: bigint;
}

/**
 * Adds one signal of a (venue, symbol) stream: the one rule the kernel (start, backtest), the engine
 * process (`kestrel run engine`) and the tests share, so their signal digests compare.
 */
export function addSignal(d: StreamDigest, venue: string, s: DigestedSignal): void {
  d.add(`${venue}:${s.symbol}`, 'signal', s.side, s.size, s.confidence, s.refPrice, s.ttlMs, s.sourceSequence);
}
