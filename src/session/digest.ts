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

/** What an execution digest reads of a signal: its identity (the engine's decision), nothing of transport. */
export interface ExecutedSignal {
  readonly symbol: string;
  readonly side: number;
  readonly size: number;
  readonly sourceSequence: bigint;
}

/**
 * The executor's decision for each signal, comparable between a virtual-clock backtest and a
 * real-time deployment of separate processes (docs/ARCHITECTURE.md "Single process and distributed"):
 * per signal, whether it became an order (and on which side) or was refused before reaching a venue,
 * by reason name. Left out, because they depend on when things arrive rather than on what the engine
 * decided: the venue the router chose, the limit price and the order's size (the router caps it at
 * the depth of the top of book it sees when the signal arrives, and a real-time md process is ahead
 * of the engine by a varying number of ticks), fills (the venue's book), and a venue's refusal of an
 * order it received. Folded per signal
 * in (symbol, source sequence, side, size) order, each signal's decisions sorted, so neither the
 * order of arrival across streams nor which lane answered first matters.
 */
export class ExecutionDigest {
  private readonly signals = new Map<string, string[]>();

  /** The signal became an order on `side` (its size is left out: the router caps it at the depth it sees). */
  order(s: ExecutedSignal, side: number): void {
    this.add(s, `order|${side}`);
  }

  /** The executor (or risk) refused the signal before any order reached a venue. */
  refuse(s: ExecutedSignal, reason: string): void {
    this.add(s, `refuse|${reason}`);
  }

  /** Signals with at least one decision. */
  get decided(): number {
    return this.signals.size;
  }

  hex(): string {
    const h = createHash('sha256');
    const keys = [...this.signals.keys()].sort();
    for (const k of keys) h.update(`${k} ${[...this.signals.get(k)!].sort().join(',')}\n`);
    return h.digest('hex');
  }

  private add(s: ExecutedSignal, decision: string): void {
    // Fixed-width sequence so the string sort is the numeric one.
    const k = `${s.symbol}|${s.sourceSequence.toString().padStart(20, '0')}|${s.side}|${s.size.toPrecision(17)}`;
    let list = this.signals.get(k);
    if (list === undefined) this.signals.set(k, (list = []));
    list.push(decision);
  }
}

/** The executor's hooks an execution digest listens to (src/execution/executor.ts). */
export interface ExecutionHooks {
  onSend(cb: (o: { side: number }, signal: ExecutedSignal | undefined) => void): void;
  onReject(cb: (e: { signal: ExecutedSignal | undefined; reason: number; clientId: string }) => void): void;
}

/**
 * Attach `d` to an executor: the one rule the kernel (backtest, start) and `kestrel run executor`
 * share. A reject carrying a client id is the venue's answer to an order already counted; orders
 * without a signal (baskets) are not the engine's decisions.
 */
export function attachExecutionDigest(d: ExecutionDigest, ex: ExecutionHooks, reasonName: (reason: number) => string): void {
  ex.onSend((o, s) => {
    if (s !== undefined) d.order(s, o.side);
  });
  ex.onReject((e) => {
    if (e.signal !== undefined && e.clientId === '') d.refuse(e.signal, reasonName(e.reason));
  });
}
