/**
 * Market data for a backtest, from whatever the researcher brings: raw venue recordings replayed
 * through the real adapters (the same parsers, sequence and checksum checks as live) and ingestion
 * (the same quality gates), the system's own `.kcap` captures, or a ClickHouse `ticks` range.
 *
 * Files of one venue and symbol set form a chain read in time order by ONE adapter, so the book
 * state carries across the boundary and the adapter's own sequence/checksum checks verify the
 * continuity (a break is reported per boundary). Chains and captures are merged by receive time
 * (the order the live system would have seen them), ties broken by input order: deterministic.
 * Everything is streamed: memory holds one read chunk per source, never a whole file (except the
 * Kraken capture, which is a single JSON document).
 */
import { readFile } from 'node:fs/promises';
import { BinanceAdapter } from '../../venues/binance/market-data.js';
import type { BaseAdapter } from '../../venues/common/base-adapter.js';
import { KrakenAdapter } from '../../venues/kraken/market-data.js';
import { OkxAdapter } from '../../venues/okx/market-data.js';
import type { MarketDataSink, SymbolMapping } from '../../venues/common/adapter-types.js';
import { VirtualClock } from '../../clock/clock.js';
import type { NormalizedTick, VenueName } from '../../contracts/market.js';
import { IngestionService } from '../../ingestion/service.js';
import type { IngestionOptionsInput } from '../../ingestion/types.js';
import type { RefDataRepository } from '../../refdata/repository.js';
import { parseBinanceCaptureLine, rfc3339ToNs } from '../../simulators/recordings.js';
import { CaptureReader } from '../../storage/capture/reader.js';
import { StreamTable, TickColumns } from '../../storage/capture/columns.js';
import { CaptureFormatError, RECORD_SIZE } from '../../storage/capture/format.js';
import { DataError, detectFormat, lines, type DataFormat, type DataInput } from './inputs.js';

/** One raw venue message with the time the recording machine received it. */
interface Frame {
  recvNs: bigint;
  /** The venue's spelling of the instrument; undefined for a Binance REST snapshot line (no symbol in it). */
  venueSymbol: string | undefined;
  text: string;
  binanceSnapshot?: boolean;
}

export interface BoundaryCheck {
  venue: VenueName;
  from: string;
  to: string;
  /** True when the adapter found no sequence gap, checksum failure or resync between the two files. */
  continuous: boolean;
  detail: string;
}

export interface DataSelection {
  /** Canonical symbols (or venue spellings) to keep; undefined: every symbol in the data. */
  symbols?: readonly string[];
}

export interface StreamStat {
  venue: VenueName;
  symbol: string;
  ticks: number;
}

const VENUE_OF: Record<Exclude<DataFormat, 'kcap'>, VenueName> = {
  'binance-recv-lines': 'binance',
  'kraken-v2-book': 'kraken',
  'okx-v5-cryptofeed-text': 'okx',
  'okx-v5-cryptofeed-jsonl': 'okx',
};

/** The recording's receive time in epoch seconds with a fraction → ns, at µs precision like the JSON form. */
function secondsToNs(s: string | number): bigint {
  const x = typeof s === 'number' ? s : Number(s);
  if (!Number.isFinite(x)) throw new SyntaxError(`bad receive time ${String(s)}`);
  return BigInt(Math.round(x * 1e6)) * 1000n;
}

export function isoNs(ns: bigint): string {
  return new Date(Number(ns / 1_000_000n)).toISOString();
}

// ------------------------------------------------------------------------------------------ framers

async function* binanceFrames(input: DataInput): AsyncGenerator<Frame> {
  let n = 0;
  for await (const line of lines(input)) {
    n++;
    const sp = line.indexOf(' ');
    if (sp <= 0 || !/^\d+$/.test(line.slice(0, sp)))
      throw new DataError(
        input.file,
        `line ${n}: binance recording line without '<recv_ns> ' prefix: ${JSON.stringify(line.slice(0, 60))}`,
      );
    const recvNs = BigInt(line.slice(0, sp));
    const text = line.slice(sp + 1);
    if (text.startsWith('{"lastUpdateId"')) {
      yield { recvNs, venueSymbol: undefined, text, binanceSnapshot: true };
      continue;
    }
    const m = /^\{"stream":"([a-z0-9_]+)@/.exec(text);
    yield { recvNs, venueSymbol: m ? m[1]!.toUpperCase() : undefined, text };
  }
}

async function* okxFrames(input: DataInput): AsyncGenerator<Frame> {
  // The 2022 recording predates OKX's seqId/prevSeqId; the adapter requires them (as OKX sends today),
  // so book messages without them are numbered in arrival order per instrument, exactly as the OKX
  // simulator does. The checksums, which the recording does carry, are still verified by the adapter.
  const seq = new Map<string, number>();
  const text = input.format === 'okx-v5-cryptofeed-text';
  let n = 0;
  for await (const line of lines(input)) {
    n++;
    try {
      const f = okxFrame(line, text, seq, input.file);
      if (f) yield f;
    } catch (e) {
      if (e instanceof SyntaxError) throw new DataError(input.file, `line ${n}: unreadable (${e.message})`, { cause: e });
      throw e;
    }
  }
}

/** One recorded OKX line → the frame to feed, or undefined for what the live adapter would not read. */
function okxFrame(line: string, text: boolean, seq: Map<string, number>, file: string): Frame | undefined {
  let recvNs: bigint;
  let json: string;
  if (text) {
    if (line.startsWith('wss://') || line.startsWith('ws://')) return undefined; // connect marker and sent ops
    const c = line.indexOf(': ');
    if (c <= 0) throw new DataError(file, `okx recording: line without '<epoch s>: ' prefix`);
    recvNs = secondsToNs(line.slice(0, c));
    json = line.slice(c + 2);
  } else {
    const r = JSON.parse(line) as { local_ts?: number; dir?: string; msg?: unknown };
    if (r.dir !== 'recv') return undefined;
    if (typeof r.local_ts !== 'number') throw new DataError(file, 'okx recording: line without local_ts');
    recvNs = secondsToNs(r.local_ts);
    json = JSON.stringify(r.msg);
  }
  const msg = JSON.parse(json) as { arg?: { channel?: string; instId?: string }; action?: string; data?: Array<Record<string, unknown>> };
  const ch = msg.arg?.channel;
  const instId = msg.arg?.instId;
  // Only what the live adapter subscribes: books and trades (acks and tickers are not market data it reads).
  if ((ch !== 'books' && ch !== 'trades') || instId === undefined || !Array.isArray(msg.data)) return undefined;
  if (ch === 'books') {
    const d = msg.data[0];
    if (d && d.seqId === undefined) {
      const prev = seq.get(instId) ?? 1_000_000;
      const next = msg.action === 'snapshot' ? prev : prev + 1;
      if (msg.action !== 'snapshot') d.prevSeqId = prev;
      d.seqId = next;
      seq.set(instId, next);
      json = JSON.stringify(msg);
    }
  }
  return { recvNs, venueSymbol: instId, text: json };
}

async function* krakenFrames(input: DataInput): AsyncGenerator<Frame> {
  let doc: { init?: { data?: Array<{ symbol?: string }> }; updates?: Array<{ data?: Array<{ symbol?: string; timestamp?: string }> }> };
  try {
    doc = JSON.parse(await readFile(input.file, 'utf8')) as typeof doc;
    input.bytesRead = input.bytes;
  } catch (e) {
    throw new DataError(input.file, `kraken capture is not valid JSON (${e instanceof Error ? e.message : String(e)})`, { cause: e });
  }
  const updates = doc.updates ?? [];
  const ts = (u: (typeof updates)[number]) => {
    const t = u.data?.[0]?.timestamp;
    if (t === undefined) throw new DataError(input.file, 'kraken capture: update without timestamp');
    return rfc3339ToNs(t);
  };
  // The capture has no receive stamps: the venue's timestamp is the clock; the snapshot takes the first update's.
  const first = updates[0] ? ts(updates[0]) : undefined;
  if (first === undefined) throw new DataError(input.file, 'kraken capture holds a snapshot and no update');
  yield { recvNs: first, venueSymbol: doc.init?.data?.[0]?.symbol, text: JSON.stringify(doc.init) };
  for (const u of updates) yield { recvNs: ts(u), venueSymbol: u.data?.[0]?.symbol, text: JSON.stringify(u) };
}

function frames(input: DataInput): AsyncGenerator<Frame> {
  switch (input.format) {
    case 'binance-recv-lines':
      return binanceFrames(input);
    case 'kraken-v2-book':
      return krakenFrames(input);
    case 'okx-v5-cryptofeed-text':
    case 'okx-v5-cryptofeed-jsonl':
      return okxFrames(input);
    case 'kcap':
      throw new RangeError('kcap files carry ticks, not venue frames');
  }
}

/**
 * The recording machine's clock was not synchronised with the venue's (Binance event times run about
 * 1.3 s ahead of the bundled capture's receive stamps). Like an NTP offset estimate, the median of
 * (event time - receive time) over the first events is the clock offset, and the virtual receive clock
 * is corrected by it; what remains is the real transport latency and jitter. Kraken's capture has no
 * receive stamps (offset 0).
 */
async function clockOffset(input: DataInput, samples = 2000): Promise<bigint> {
  const diffs: bigint[] = [];
  if (input.format === 'binance-recv-lines') {
    for await (const line of lines(input)) {
      const r = parseBinanceCaptureLine(line);
      if (r.exchNs > 0n) diffs.push(r.exchNs - r.recvNs);
      if (diffs.length >= samples) break;
    }
  } else if (input.format === 'okx-v5-cryptofeed-text' || input.format === 'okx-v5-cryptofeed-jsonl') {
    for await (const f of okxFrames(input)) {
      const m = /"ts":"(\d+)"/.exec(f.text);
      if (m) diffs.push(BigInt(m[1]!) * 1_000_000n - f.recvNs);
      if (diffs.length >= samples) break;
    }
  }
  if (diffs.length === 0) return 0n;
  diffs.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return diffs[diffs.length >> 1]!;
}

/** Whether a frame updates the order book (the messages whose sequence/checksum the adapter verifies). */
function isBookFrame(venue: VenueName, text: string): boolean {
  if (venue === 'binance') return text.includes('@depth');
  if (venue === 'okx') return text.includes('"channel":"books"');
  return text.includes('"channel":"book"');
}

// -------------------------------------------------------------------------------------- symbol gate

/** Maps venue spellings through reference data once each; refuses what it does not know. */
class SymbolGate {
  private readonly cache = new Map<string, SymbolMapping | null>();
  private readonly filter: Set<string> | undefined;
  readonly matched = new Set<string>();

  constructor(
    private readonly refdata: RefDataRepository,
    selection: DataSelection,
  ) {
    this.filter = selection.symbols && selection.symbols.length > 0 ? new Set(selection.symbols) : undefined;
  }

  /** The mapping to feed, undefined to skip (filtered out); throws DataError for an unknown symbol. */
  async admit(file: string, venue: VenueName, venueSymbol: string): Promise<SymbolMapping | undefined> {
    const key = `${venue}\u0000${venueSymbol}`;
    let m = this.cache.get(key);
    if (m === undefined) {
      m = (await this.refdata.resolve(venue, venueSymbol)) ?? null;
      this.cache.set(key, m);
    }
    const wanted = (names: string[]) => this.filter === undefined || names.some((n) => this.filter!.has(n));
    if (m === null) {
      if (!wanted([venueSymbol])) return undefined;
      const known = (await this.refdata.mappings(venue)).map((x) => x.venueSymbol).join(', ');
      throw new DataError(
        file,
        `${venue} symbol ${venueSymbol} is not in reference data (known on ${venue}: ${known || 'none'}${this.filter ? '' : '; keep only known ones with --symbols'})`,
      );
    }
    if (!wanted([m.symbol, venueSymbol, `${venue}:${m.symbol}`])) return undefined;
    for (const n of [m.symbol, venueSymbol, `${venue}:${m.symbol}`]) if (this.filter?.has(n)) this.matched.add(n);
    return m;
  }

  async refdataMappings(venue: VenueName): Promise<SymbolMapping[]> {
    return this.refdata.mappings(venue);
  }

  /** Called once the data is exhausted: a --symbols entry that matched nothing is a mistake, not an empty result. */
  unmatched(): string[] {
    return this.filter ? [...this.filter].filter((s) => !this.matched.has(s)) : [];
  }
}

// ------------------------------------------------------------------------------------------- chains

export interface SourceOptions extends DataSelection {
  refdata: RefDataRepository;
  quality: IngestionOptionsInput['quality'];
}

interface Chain {
  venue: VenueName;
  files: DataInput[];
  firstNs: bigint[];
}

function makeAdapter(venue: VenueName, symbols: SymbolMapping[], sink: MarketDataSink, clock: VirtualClock): BaseAdapter {
  // Nothing connects: frames are handed to handleRaw. The URLs point at a closed local port so that a
  // REST snapshot request (Binance after a gap) fails at once instead of reaching a venue.
  const common = { url: 'ws://127.0.0.1:9/unused', symbols, sink, clock };
  if (venue === 'binance') return new BinanceAdapter({ ...common, restUrl: 'http://127.0.0.1:9' });
  if (venue === 'kraken') return new KrakenAdapter(common);
  return new OkxAdapter({ ...common, checksum: 'required' });
}

/** One adapter over a chain of files, in time order, yielding the ticks ingestion accepts. */
async function* chainTicks(
  chain: Chain,
  opts: SourceOptions,
  gate: SymbolGate,
  boundaries: BoundaryCheck[],
  perFile: Map<string, number>,
): AsyncGenerator<NormalizedTick[]> {
  const clock = new VirtualClock();
  const buf: NormalizedTick[] = [];
  const ingestion = await IngestionService.create(
    { dispatch: 'inline', quality: opts.quality },
    { sinks: [{ name: 'backtest', push: (t) => void buf.push({ ...t }) }] },
  );
  // Every instrument reference data knows on the venue: symbols are discovered from the data, and the
  // gate decides per message whether it is fed, skipped (--symbols) or refused (unknown).
  const all = await opts.refdata.mappings(chain.venue);
  let integrityEvents = 0;
  let lastEvent = '';
  const sink: MarketDataSink = {
    onTick: (t) => ingestion.onTick(t),
    onEvent: (e) => {
      if (e.kind === 'gap' || e.kind === 'checksum' || e.kind === 'resync') {
        integrityEvents++;
        lastEvent = `${e.kind} ${e.symbol}: ${e.detail}`;
      }
      ingestion.onEvent(e);
    },
  };
  const adapter = makeAdapter(chain.venue, all, sink, clock);
  const offset = await clockOffset(chain.files[0]!);
  let lastRecvNs = 0n;
  /** Ticks of buf already counted for the current file. */
  let counted = 0;
  try {
    for (let fi = 0; fi < chain.files.length; fi++) {
      const input = chain.files[fi]!;
      let ticks = 0;
      let lastDepthSymbol: string | undefined;
      const depthSymbols = new Set<string>();
      const pendingSnapshots: Frame[] = [];
      const eventsAtStart = integrityEvents;
      let boundaryOpen = fi > 0;
      let sawSnapshot = false;
      const closeBoundary = () => {
        const broken = integrityEvents - eventsAtStart;
        boundaries.push({
          venue: chain.venue,
          from: chain.files[fi - 1]!.file,
          to: input.file,
          continuous: broken === 0,
          detail:
            broken === 0
              ? 'book carried over, sequence and checksums verified'
              : `${broken} integrity event(s) at the first book message (${lastEvent}); the adapter resynced`,
        });
      };
      const skipped = new Set<string>();
      let fed = 0;
      const statsAtStart = adapter.stats();
      const feed = async (f: Frame, venueSymbol: string) => {
        const m = await gate.admit(input.file, chain.venue, venueSymbol);
        if (m === undefined) return void skipped.add(venueSymbol);
        fed++;
        const now = f.recvNs + offset;
        if (now > clock.nowNs()) clock.set(now);
        if (f.binanceSnapshot) (adapter as BinanceAdapter).ingestSnapshot(m.venueSymbol, f.text);
        else adapter.handleRaw(f.text);
      };
      let firstFrame = true;
      for await (const f of frames(input)) {
        if (firstFrame && fi > 0 && f.recvNs < lastRecvNs) {
          throw new DataError(
            input.file,
            `starts at ${isoNs(f.recvNs)}, before the end of ${chain.files[fi - 1]!.file} (${isoNs(lastRecvNs)}): recordings of one venue must follow each other in time`,
          );
        }
        firstFrame = false;
        if (f.recvNs > lastRecvNs) lastRecvNs = f.recvNs;
        if (f.binanceSnapshot) {
          // A REST depth snapshot line names no symbol: it belongs to the file's (single) depth stream.
          sawSnapshot = true;
          if (lastDepthSymbol === undefined) pendingSnapshots.push(f);
          else await feed(f, lastDepthSymbol);
        } else if (f.venueSymbol !== undefined) {
          const book = isBookFrame(chain.venue, f.text);
          if (chain.venue === 'binance' && book) {
            depthSymbols.add(f.venueSymbol);
            lastDepthSymbol = f.venueSymbol;
            for (const s of pendingSnapshots.splice(0)) await feed(s, f.venueSymbol);
          }
          if (sawSnapshot && depthSymbols.size > 1) {
            throw new DataError(
              input.file,
              'binance recording: depth streams of several symbols with REST snapshot lines that name none (record one symbol per file)',
            );
          }
          await feed(f, f.venueSymbol);
          // The first book message after the boundary is the continuity test: it must follow the last
          // one of the previous file (Binance U = u + 1, OKX prevSeqId and checksum, Kraken checksum).
          if (boundaryOpen && book) {
            boundaryOpen = false;
            closeBoundary();
          }
        }
        if (buf.length > counted) {
          ticks += buf.length - counted;
          counted = buf.length;
          // Batches, not single ticks: an async step per tick would cost more than the parsing.
          if (buf.length >= BATCH) {
            counted = 0;
            yield buf.splice(0);
          }
        }
      }
      if (boundaryOpen) closeBoundary();
      if (buf.length > 0) {
        counted = 0;
        yield buf.splice(0);
      }
      if (pendingSnapshots.length > 0 && lastDepthSymbol === undefined && ticks === 0) {
        throw new DataError(input.file, 'binance recording: a depth snapshot and no depth stream to apply it to');
      }
      perFile.set(input.file, ticks);
      if (ticks === 0 && fed === 0 && skipped.size > 0) {
        throw new DataError(
          input.file,
          `none of --symbols ${opts.symbols?.join(',') ?? ''} in this file (it holds ${chain.venue} ${[...skipped].sort().join(', ')})`,
        );
      }
      if (ticks === 0) {
        const s = adapter.stats();
        const d = (k: 'messages' | 'parseErrors' | 'suppressed' | 'gaps') => s[k] - statsAtStart[k];
        throw new DataError(
          input.file,
          `no tick came out of this file (${chain.venue}: ${d('messages')} messages, ${d('parseErrors')} parse errors, ${d('suppressed')} withheld while the book was not in sync, ${d('gaps')} gaps)`,
        );
      }
    }
  } finally {
    ingestion.stop();
    await adapter.stop();
  }
}

async function* kcapTicks(input: DataInput, gate: SymbolGate, perFile: Map<string, number>): AsyncGenerator<NormalizedTick[]> {
  let reader: CaptureReader;
  try {
    reader = await CaptureReader.open(input.file);
  } catch (e) {
    throw new DataError(input.file, e instanceof Error ? e.message : String(e), { cause: e });
  }
  let n = 0;
  const admitted = new Map<string, boolean>();
  const skipped = new Set<string>();
  // The last stream's verdict: consecutive ticks are mostly of one stream (no key string per tick).
  let lastVenue = '';
  let lastSymbol = '';
  let lastOk = false;
  try {
    for await (const batch of reader.batches()) {
      input.bytesRead = Math.min(input.bytes, input.bytesRead + batch.length * RECORD_SIZE);
      const out: NormalizedTick[] = [];
      for (const t of batch) {
        if (t.symbol === lastSymbol && t.venue === lastVenue) {
          if (lastOk) {
            n++;
            out.push(t);
          }
          continue;
        }
        const key = `${t.venue}\u0000${t.symbol}`;
        let ok = admitted.get(key);
        if (ok === undefined) {
          // Captures hold canonical symbols: map back to the venue spelling reference data knows.
          const m = (await gate.refdataMappings(t.venue)).find((x) => x.symbol === t.symbol);
          ok = (await gate.admit(input.file, t.venue, m?.venueSymbol ?? t.symbol)) !== undefined;
          admitted.set(key, ok);
        }
        lastVenue = t.venue;
        lastSymbol = t.symbol;
        lastOk = ok;
        if (!ok) {
          skipped.add(`${t.venue} ${t.symbol}`);
          continue;
        }
        n++;
        out.push(t);
      }
      if (out.length > 0) yield out;
    }
  } catch (e) {
    if (e instanceof CaptureFormatError) throw new DataError(input.file, e.message, { cause: e });
    throw e;
  }
  perFile.set(input.file, n);
  if (n === 0 && skipped.size > 0)
    throw new DataError(input.file, `none of the selected symbols in this capture (it holds ${[...skipped].sort().join(', ')})`);
  if (n === 0)
    throw new DataError(
      input.file,
      reader.truncatedBytes > 0 ? `capture holds no complete tick record (${reader.truncatedBytes} torn bytes)` : 'capture holds no tick',
    );
}

/**
 * The same ticks as `kcapTicks`, as columns straight from the file (no object or BigInt per record).
 * The symbol gate runs once per stream; filtered rows are dropped in place. Each yielded batch is
 * reused by the reader: valid until the generator is resumed.
 */
async function* kcapColumns(
  input: DataInput,
  gate: SymbolGate,
  perFile: Map<string, number>,
  streams: StreamTable,
): AsyncGenerator<TickColumns> {
  let reader: CaptureReader;
  try {
    reader = await CaptureReader.open(input.file);
  } catch (e) {
    throw new DataError(input.file, e instanceof Error ? e.message : String(e), { cause: e });
  }
  let n = 0;
  /** Verdict per stream number: admitted, skipped, or not yet asked (undefined). */
  const keep: boolean[] = [];
  const skipped = new Set<string>();
  try {
    for await (const cols of reader.columns(streams)) {
      input.bytesRead = Math.min(input.bytes, input.bytesRead + cols.count * RECORD_SIZE);
      let all = true;
      for (let s = 0; s < streams.size; s++) {
        if (keep[s] === undefined && streamIn(cols, s)) {
          const venue = streams.venues[s]!;
          const symbol = streams.symbols[s]!;
          // Captures hold canonical symbols: map back to the venue spelling reference data knows.
          const m = (await gate.refdataMappings(venue)).find((x) => x.symbol === symbol);
          keep[s] = (await gate.admit(input.file, venue, m?.venueSymbol ?? symbol)) !== undefined;
        }
        if (keep[s] === false) {
          all = false;
          if (streamIn(cols, s)) skipped.add(`${streams.venues[s]!} ${streams.symbols[s]!}`);
        }
      }
      if (!all) cols.retain(keep);
      n += cols.count;
      if (cols.count > 0) yield cols;
    }
  } catch (e) {
    if (e instanceof CaptureFormatError) throw new DataError(input.file, e.message, { cause: e });
    throw e;
  }
  perFile.set(input.file, n);
  if (n === 0 && skipped.size > 0)
    throw new DataError(input.file, `none of the selected symbols in this capture (it holds ${[...skipped].sort().join(', ')})`);
  if (n === 0)
    throw new DataError(
      input.file,
      reader.truncatedBytes > 0 ? `capture holds no complete tick record (${reader.truncatedBytes} torn bytes)` : 'capture holds no tick',
    );
}

/** Whether stream `s` has a row in the batch (streams are few: a scan per batch, not per row). */
function streamIn(cols: TickColumns, s: number): boolean {
  const st = cols.stream;
  for (let i = 0; i < cols.count; i++) if (st[i] === s) return true;
  return false;
}

// -------------------------------------------------------------------------------------------- merge

/**
 * `mergeByRecvTime` on columns: the same order (receive time, ties to the earlier source), decided on
 * the times' 32-bit words. Sources must share one StreamTable; a single source passes through.
 */
export async function* mergeColumns(
  sources: readonly AsyncGenerator<TickColumns>[],
  streams: StreamTable,
  batch = BATCH,
): AsyncGenerator<TickColumns> {
  try {
    if (sources.length === 1) {
      yield* sources[0]!;
      return;
    }
    const heads: Array<TickColumns | undefined> = [];
    const at: number[] = [];
    const pull = async (i: number) => {
      for (;;) {
        const r = await sources[i]!.next();
        if (r.done) return void (heads[i] = undefined);
        if (r.value.count > 0) {
          heads[i] = r.value;
          at[i] = 0;
          return;
        }
      }
    };
    for (let i = 0; i < sources.length; i++) await pull(i);
    const out = new TickColumns(batch, streams);
    for (;;) {
      let best = -1;
      for (let i = 0; i < heads.length; i++) {
        const h = heads[i];
        if (h === undefined) continue;
        if (best === -1 || h.recvBefore(at[i]!, heads[best]!, at[best]!)) best = i;
      }
      if (best === -1) break;
      out.copyRow(heads[best]!, at[best]!++);
      if (at[best]! >= heads[best]!.count) await pull(best);
      if (out.full) {
        yield out;
        out.clear();
      }
    }
    if (out.count > 0) yield out;
  } finally {
    for (const s of sources) await s.return(undefined);
  }
}

/** Object batches → columns (sources that produce objects), in batches of up to `capacity`. */
export async function* toColumns(
  ticks: AsyncIterable<readonly NormalizedTick[]>,
  streams: StreamTable = new StreamTable(),
  capacity = BATCH,
): AsyncGenerator<TickColumns> {
  const out = new TickColumns(capacity, streams);
  for await (const batch of ticks) {
    for (const t of batch) {
      out.pushTick(t);
      if (out.full) {
        yield out;
        out.clear();
      }
    }
  }
  if (out.count > 0) yield out;
}

const BATCH = 1024;

/** k-way merge by receive time; ties go to the earlier source, so the order is a function of the inputs. */
export async function* mergeByRecvTime(sources: readonly AsyncGenerator<NormalizedTick[]>[]): AsyncGenerator<NormalizedTick[]> {
  try {
    if (sources.length === 1) {
      yield* sources[0]!;
      return;
    }
    const heads: Array<NormalizedTick[] | undefined> = [];
    const at: number[] = [];
    const pull = async (i: number) => {
      for (;;) {
        const r = await sources[i]!.next();
        if (r.done) return void (heads[i] = undefined);
        if (r.value.length > 0) {
          heads[i] = r.value;
          at[i] = 0;
          return;
        }
      }
    };
    for (let i = 0; i < sources.length; i++) await pull(i);
    let out: NormalizedTick[] = [];
    for (;;) {
      let best = -1;
      let bestNs = 0n;
      for (let i = 0; i < heads.length; i++) {
        const h = heads[i];
        if (h === undefined) continue;
        const ns = h[at[i]!]!.recvTsNs;
        if (best === -1 || ns < bestNs) {
          best = i;
          bestNs = ns;
        }
      }
      if (best === -1) break;
      out.push(heads[best]![at[best]!++]!);
      if (at[best]! >= heads[best]!.length) await pull(best);
      if (out.length >= BATCH) {
        yield out;
        out = [];
      }
    }
    if (out.length > 0) yield out;
  } finally {
    // Stopped early (--max-ticks) or failed: close every source so adapters and files are released.
    for (const s of sources) await s.return(undefined);
  }
}

export interface MarketData {
  /** Ticks in replay order (merged by receive time), in batches. */
  ticks: AsyncGenerator<NormalizedTick[]>;
  /**
   * The same ticks as columns (read instead of `ticks`, not with it): every input a `.kcap` is read
   * straight into columns; anything else is `ticks` converted. A batch is valid until the next one.
   */
  columns(): AsyncGenerator<TickColumns>;
  /**
   * The one `.kcap` file whose ticks this feed is, whole and in file order (a single capture input,
   * no --symbols): a backtest can name it as its capture instead of writing a copy. Undefined otherwise.
   */
  wholeCapture?: string;
  inputs: DataInput[];
  boundaries: BoundaryCheck[];
  /** Ticks delivered per input file, filled as each is exhausted. */
  perFile: Map<string, number>;
  /** After the ticks are exhausted: refuses --symbols entries that matched nothing. */
  finish(): void;
  /**
   * Recorded time / event time of the ticks (a `.kcap` header's time scale; 1 for everything else):
   * the engine's time constants are divided by it, as they were in the session that wrote the capture.
   */
  timeScale: number;
}

/** The first frames of a raw recording: its start time and the instruments it opens with. */
async function peek(input: DataInput): Promise<{ firstNs: bigint; symbols: string }> {
  let firstNs: bigint | undefined;
  const syms = new Set<string>();
  let n = 0;
  for await (const f of frames(input)) {
    firstNs ??= f.recvNs;
    if (f.venueSymbol !== undefined) syms.add(f.venueSymbol);
    if (++n >= 200) break;
  }
  if (firstNs === undefined) throw new DataError(input.file, 'recording holds no market data message');
  return { firstNs, symbols: [...syms].sort().join(',') };
}

/** Files (already expanded) → one merged tick stream; format errors surface here, before any tick. */
export async function openFiles(files: readonly string[], opts: SourceOptions): Promise<MarketData> {
  const inputs = files.map((f) => detectFormat(f));
  const gate = new SymbolGate(opts.refdata, opts);
  const boundaries: BoundaryCheck[] = [];
  const perFile = new Map<string, number>();
  const chains = new Map<string, Chain>();
  const sources: Array<AsyncGenerator<NormalizedTick[]>> = [];
  const columnSources: Array<AsyncGenerator<TickColumns>> = [];
  const streams = new StreamTable();
  // One timeline per run: a capture of an accelerated session cannot be merged with recorded time.
  let scaled: { file: string; timeScale: number } | undefined;
  for (const input of inputs) {
    const timeScale = input.format === 'kcap' ? await captureTimeScale(input.file) : 1;
    if (scaled && timeScale !== scaled.timeScale)
      throw new DataError(
        input.file,
        `time scale ${timeScale} differs from ${scaled.file}'s ${scaled.timeScale} (captures of sessions at different paces cannot be merged)`,
      );
    scaled ??= { file: input.file, timeScale };
    if (input.format === 'kcap') {
      // Generators start on first read: only the feed that is read opens its files.
      sources.push(kcapTicks(input, gate, perFile));
      columnSources.push(kcapColumns(input, gate, perFile, streams));
      continue;
    }
    const venue = VENUE_OF[input.format];
    const { firstNs, symbols } = await peek(input);
    const key = `${venue}|${symbols}`;
    let c = chains.get(key);
    if (!c) chains.set(key, (c = { venue, files: [], firstNs: [] }));
    c.files.push(input);
    c.firstNs.push(firstNs);
  }
  for (const c of chains.values()) {
    // One day after another: order the chain by start time, whatever order the paths were given in.
    const order = c.files.map((_, i) => i).sort((a, b) => (c.firstNs[a]! < c.firstNs[b]! ? -1 : c.firstNs[a]! > c.firstNs[b]! ? 1 : a - b));
    const chain: Chain = { venue: c.venue, files: order.map((i) => c.files[i]!), firstNs: order.map((i) => c.firstNs[i]!) };
    sources.push(chainTicks(chain, opts, gate, boundaries, perFile));
  }
  const allKcap = columnSources.length === inputs.length;
  const ticks = mergeByRecvTime(sources);
  return {
    ticks,
    columns: () => (allKcap ? mergeColumns(columnSources, streams) : toColumns(ticks, streams)),
    ...(allKcap && inputs.length === 1 && opts.symbols === undefined ? { wholeCapture: inputs[0]!.file } : {}),
    inputs,
    boundaries,
    perFile,
    finish: () => finishGate(gate, inputs.map((i) => i.file).join(', ')),
    timeScale: scaled?.timeScale ?? 1,
  };
}

async function captureTimeScale(file: string): Promise<number> {
  try {
    return (await CaptureReader.open(file)).header.timeScale;
  } catch (e) {
    throw new DataError(file, e instanceof Error ? e.message : String(e), { cause: e });
  }
}

function finishGate(gate: SymbolGate, where: string): void {
  const missing = gate.unmatched();
  if (missing.length > 0) throw new DataError(where, `--symbols ${missing.join(', ')}: no such symbol in the data`);
}
