/**
 * Deterministic backtest on the recorded timeline (ARCHITECTURE "Determinism and replay"):
 *   recorded venue frames (any recording, capture or ClickHouse range: ./data) → the venue adapter (virtual clock = recorded receive time) → ingestion
 *   (inline dispatch, quality gates) → capture file → the engine thread over shared-memory rings
 *   (native or julia, the same code as live) → signals → paper execution against the matching
 *   engine fed by the same ticks → positions and PnL → report + decision digest.
 * Every decision is a function of (recording, config, seed): two runs give the same digest.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/schema.js';
import { Side } from '../contracts/index.js';
import { TickFlag, VENUES, type NormalizedTick, type VenueName } from '../contracts/market.js';
import { NativeEngine, SignalBatch, TickBatch, TickRegion, tickFromNormalized, type SignalRecordView } from '../native/index.js';
import { PositionBook } from '../positions/book.js';
import { openRefData } from '../refdata/index.js';
import type { RefDataRepository } from '../refdata/repository.js';
import { AccuracyMonitor, type AccuracyReport } from '../shadow/accuracy.js';
import { MatchingEngine, EngineReject, type SymbolRules } from '../simulators/matching/engine.js';
import { DEFAULT_BALANCES } from '../simulators/private/venues.js';
import { BINANCE_CAPTURE, sharedDataFile } from '../simulators/recordings.js';
import { CaptureWriter } from '../storage/capture/writer.js';
import { DecisionDigest } from '../session/digest.js';
import { engineParams } from '../session/wiring.js';
import { systemClock } from '../clock/clock.js';
import { monotonicMs } from '../clock/monotonic.js';
import { openClickHouse } from './data/clickhouse.js';
import { DataError, expandInputs } from './data/inputs.js';
import { openFiles, type BoundaryCheck, type MarketData } from './data/sources.js';
import { writeBacktestHtml } from './report/html.js';
import { RegimeTally, type RegimeRow } from './regime-report.js';
import { BacktestRecorder } from './report/recorder.js';
import { KestrelError } from '../contracts/errors.js';

export interface BacktestReport {
  engine: string;
  fillModel: string;
  ticks: number;
  signals: number;
  orders: number;
  fills: number;
  rejects: Record<string, number>;
  position: number;
  avgPrice: number;
  realizedPnl: number;
  unrealizedPnl: number;
  fees: number;
  /** realizedPnl (already net of fees) + unrealizedPnl: fees are not subtracted a second time. */
  netPnl: number;
  accuracy: AccuracyReport;
  /** Signals, hit rate and PnL per regime (docs/STRATEGY.md "Regime"); the pnl column sums to netPnl. */
  regimes: RegimeRow[];
  /** Each (venue, symbol) of the data, on its own ring. */
  streams: StreamReport[];
  inputs: Array<{ file: string; format: string; ticks: number }>;
  /** Consecutive files of one venue: whether the book carried over intact. */
  boundaries: BoundaryCheck[];
  capture: string;
  report: string;
  /** The self-contained HTML report beside the JSON (charts of the first instrument of the run). */
  html: string;
  digest: string;
  wallMs: number;
  /** Peak resident set size of the process, MiB. */
  peakRssMb: number;
}

export class BacktestError extends KestrelError {
  override readonly name = 'BacktestError';
  constructor(message: string, options?: ErrorOptions) {
    super('BACKTEST_FAILED', message, options);
  }
}

const ACCOUNT = 'backtest';

/** What to backtest on: files (default: the bundled Binance recording) or a ClickHouse range. */
export interface BacktestData {
  /** Files, directories or globs (`--data`); format detected from content. */
  paths?: readonly string[];
  /** `--from clickhouse --start T --end T`: the `ticks` rows of that event-time range. */
  clickhouse?: { startNs: bigint; endNs: bigint };
  /** `--symbols`: canonical symbols (or venue spellings) to keep. */
  symbols?: readonly string[];
  /** Called about every 0.5 s of wall time and once at the end. */
  onProgress?: (p: BacktestProgress) => void;
}

export interface BacktestProgress {
  ticks: number;
  /** Input consumed so far, when known (files): bytes read / total. */
  fraction: number | undefined;
  elapsedMs: number;
  done: boolean;
}

/** One (venue, symbol) stream: its own ring, matching book and accuracy score. */
export interface StreamReport {
  venue: VenueName;
  symbol: string;
  ticks: number;
  signals: number;
  orders: number;
  fills: number;
  position: number;
  avgPrice: number;
  realizedPnl: number;
  unrealizedPnl: number;
  fees: number;
  accuracy: AccuracyReport;
}

interface Stream {
  ring: number;
  venue: VenueName;
  symbol: string;
  rules: SymbolRules | undefined;
  ticks: number;
  signals: number;
  orders: number;
  fills: number;
  mark: number;
  accuracy: AccuracyMonitor;
  /** Signals of the current chunk by ring sequence. */
  bySeq: Map<number, SignalRecordView[]>;
}

async function openData(config: Config, data: BacktestData, refdata: RefDataRepository): Promise<MarketData> {
  const bounds = Object.fromEntries((await refdata.marketDataBounds()).map(({ canonical, ...b }) => [canonical, b]));
  const quality = {
    stalenessMs: config.data_quality.staleness_threshold_ms,
    maxSpreadPct: config.data_quality.max_spread_pct,
    maxTimeSkewMs: config.data_quality.max_time_skew_ms,
    crossedTolerance: config.data_quality.crossed_tolerance,
    bounds,
  };
  const symbols = data.symbols && data.symbols.length > 0 ? data.symbols : undefined;
  if (data.clickhouse) {
    if (config.storage.clickhouse_url === '') throw new BacktestError('--from clickhouse needs storage.clickhouse_url (e.g. --set storage.clickhouse_url=http://127.0.0.1:8123)');
    return openClickHouse({ url: config.storage.clickhouse_url, database: config.storage.clickhouse_database, ...data.clickhouse, refdata, ...(symbols ? { symbols } : {}) });
  }
  const files = data.paths && data.paths.length > 0 ? expandInputs(data.paths) : [sharedDataFile(...BINANCE_CAPTURE)];
  return openFiles(files, { refdata, quality, ...(symbols ? { symbols } : {}) });
}

function rulesFor(spec: { minTick: number; lotStep: number; minLot: number; maxOrderSize: number; priceBandBps: number; makerFee: number; takerFee: number }, symbol: string): SymbolRules {
  const [base = 'BTC', quote = 'USDT'] = symbol.split('-');
  return {
    symbol,
    base,
    quote,
    tickSize: spec.minTick,
    lotStep: spec.lotStep,
    minQty: spec.minLot,
    maxQty: spec.maxOrderSize,
    priceBandBps: spec.priceBandBps,
    makerFee: spec.makerFee,
    takerFee: spec.takerFee,
  };
}

export interface BacktestOptions {
  /** Collects the report's time series; a sweep worker passes its own to read them afterwards. */
  recorder?: BacktestRecorder;
}

export async function runBacktest(config: Config, data: BacktestData = {}, opts: BacktestOptions = {}): Promise<BacktestReport> {
  const started = monotonicMs();
  const maxTicks = config.session.max_ticks;
  const refdata = await openRefData(config.refdata.postgres_url || undefined);
  let market: MarketData;
  let instruments: Array<{ venue: VenueName; symbol: string }>;
  const specs = new Map<VenueName, Awaited<ReturnType<RefDataRepository['venueSpec']>>>();
  try {
    market = await openData(config, data, refdata);
    // One ring per (venue, symbol) reference data knows: the region is made before the data is read
    // (a stream is discovered when its first tick arrives), and an idle ring costs only its memory.
    instruments = [];
    for (const venue of VENUES) {
      const seen = new Set<string>();
      for (const m of await refdata.mappings(venue)) {
        if (seen.has(m.symbol)) continue;
        seen.add(m.symbol);
        instruments.push({ venue, symbol: m.symbol });
      }
      specs.set(venue, await refdata.venueSpec(venue));
    }
  } finally {
    await refdata.close();
  }
  const ringOf = new Map(instruments.map((x, i) => [`${x.venue}:${x.symbol}`, i]));
  const streams: Array<Stream | undefined> = instruments.map(() => undefined);
  const accuracyOptions = { horizonNs: 5_000_000_000n, threshold: config.strategy.confidence_threshold, driftWindow: 1000, driftThreshold: 0.05 };
  // Per tick: looked up by the numeric ids first (no string building on the hot path).
  const byIds = new Map<number, Stream>();
  const streamOf = (t: NormalizedTick): Stream => {
    const ids = t.symbolId * 8 + t.venueId;
    const hit = byIds.get(ids);
    if (hit !== undefined && hit.symbol === t.symbol && hit.venue === t.venue) return hit;
    const s = streamByName(t);
    byIds.set(ids, s);
    return s;
  };
  const streamByName = (t: NormalizedTick): Stream => {
    const ring = ringOf.get(`${t.venue}:${t.symbol}`);
    if (ring === undefined) throw new BacktestError(`${t.venue} ${t.symbol}: a tick of an instrument reference data does not list`);
    let s = streams[ring];
    if (!s) {
      const spec = specs.get(t.venue)?.symbols.find((x) => x.symbol === t.symbol);
      s = streams[ring] = { ring, venue: t.venue, symbol: t.symbol, rules: spec && rulesFor(spec, t.symbol), ticks: 0, signals: 0, orders: 0, fills: 0, mark: 0, accuracy: new AccuracyMonitor(accuracyOptions), bySeq: new Map() };
    }
    return s;
  };

  // The replay input, kept: `kestrel backtest` leaves the exact ticks it traded on.
  const dir = path.resolve(config.storage.capture_dir);
  mkdirSync(dir, { recursive: true });
  let capturePath = '';
  let capture: CaptureWriter | undefined;

  const region = TickRegion.create({ name: `${config.rings.shm_name}-bt-${process.pid}`, symbols: instruments.map((x) => `${x.venue}:${x.symbol}`), tickCapacity: config.rings.capacity, replace: true });
  const batch = new SignalBatch(256);
  const engine = new NativeEngine(region, {
    engine: config.strategy.engine,
    params: engineParams(config),
    ...(config.strategy.julia_source ? { juliaSource: config.strategy.julia_source } : {}),
  });
  const chunkSize = Math.max(1, config.rings.capacity >> 1);
  const chunk: NormalizedTick[] = [];
  const chunkSeq: number[] = [];
  const chunkStream: Stream[] = [];
  const ringBatches: Array<TickBatch | undefined> = [];
  let pushed = 0;
  let total = 0;
  let signals = 0;

  let eventMs = 0;
  // One matching engine per venue (the same canonical symbol on two venues is two books); its clock is
  // event time, so its timestamps are part of the recording too.
  const matchers = new Map<VenueName, MatchingEngine>();
  const matcherOf = (s: Stream): MatchingEngine => {
    let m = matchers.get(s.venue);
    if (!m) {
      const rules = instruments.filter((x) => x.venue === s.venue).flatMap((x) => {
        const spec = specs.get(x.venue)?.symbols.find((y) => y.symbol === x.symbol);
        return spec ? [rulesFor(spec, x.symbol)] : [];
      });
      m = new MatchingEngine({ mode: config.execution.fill_model, symbols: rules, balances: { [ACCOUNT]: { ...DEFAULT_BALANCES } }, clock: { nowNs: () => BigInt(eventMs) * 1_000_000n } });
      matchers.set(s.venue, m);
    }
    return m;
  };
  const book = new PositionBook();
  const regimes = new RegimeTally(accuracyOptions);
  const digest = new DecisionDigest();
  // The HTML report charts one instrument: the first the data delivers (the JSON has every stream).
  const recorder = opts.recorder ?? new BacktestRecorder();
  let charted: Stream | undefined;
  const rejects: Record<string, number> = {};
  let orders = 0;
  let fills = 0;
  const reject = (code: string) => void (rejects[code] = (rejects[code] ?? 0) + 1);

  const drain = () => {
    for (;;) {
      const r = region.drainSignals(batch);
      if (r.missed > 0) throw new BacktestError(`signal ring overwrote ${r.missed} signals`);
      for (let k = 0; k < r.count; k++) {
        const sig = batch.get(k);
        const s = streams[sig.symbolId];
        if (!s) throw new BacktestError(`signal for ring ${sig.symbolId}, which received no tick`);
        const key = Number(sig.sourceSeq);
        const list = s.bySeq.get(key);
        if (list) list.push(sig);
        else s.bySeq.set(key, [sig]);
        signals++;
      }
      if (r.count < batch.capacity) return;
    }
  };

  /** Orders and fills for one chunk: the simulation below is unchanged from the single-symbol backtest. */
  const simulate = () => {
    for (let c = 0; c < chunk.length; c++) {
      const t = chunk[c]!;
      const st = chunkStream[c]!;
      const symbol = st.symbol;
      const i = total - chunk.length + c;
      const matching = matcherOf(st);
      const accuracy = st.accuracy;
      eventMs = Number(t.exchTsNs / 1_000_000n);
      if ((t.flags & TickFlag.TRADE) !== 0) {
        matching.onTrade(symbol, t.lastPx, t.lastQty, t.aggressor > 0 ? 'buy' : 'sell');
      } else {
        matching.onBook(symbol, [[t.bid, t.bidSize]], [[t.ask, t.askSize]]);
        st.mark = (t.bid + t.ask) / 2;
        accuracy.onMid(st.mark, t.exchTsNs);
        regimes.onMid(st.ring, st.mark, t.exchTsNs);
      }
      charted ??= st;
      const sigs = st.bySeq.get(chunkSeq[c]!);
      if (sigs !== undefined) {
        st.bySeq.delete(chunkSeq[c]!);
        trade(t, st, sigs, i, matching, accuracy);
      }
      if (st === charted && (t.flags & TickFlag.TRADE) === 0) recorder.onMarkEntry(t.exchTsNs, st.mark, book.get(st.venue, st.symbol));
    }
  };

  /** The orders of one tick's signals; the simulation is unchanged from the single-symbol backtest. */
  const trade = (t: NormalizedTick, st: Stream, sigs: SignalRecordView[], i: number, matching: MatchingEngine, accuracy: AccuracyMonitor) => {
    const symbol = st.symbol;
    const VENUE = st.venue;
    {
      const rules = st.rules;
      if (!rules) throw new BacktestError(`reference data has no ${VENUE} ${symbol}`);
      for (const s of sigs) {
        st.signals++;
        digest.add('signal', s.side, s.size, s.confidence, s.sourceSeq);
        accuracy.onSignal({ confidence: s.confidence, direction: s.side === Side.BUY ? 1 : -1, refMid: s.refPrice, tsNs: t.exchTsNs });
        regimes.onSignal(st.ring, s.regime, { confidence: s.confidence, direction: s.side === Side.BUY ? 1 : -1, refMid: s.refPrice, tsNs: t.exchTsNs });
        const buy = s.side === Side.BUY;
        const touch = buy ? matching.bestAsk(symbol) : matching.bestBid(symbol);
        if (touch === undefined) {
          reject('NO_LIQUIDITY');
          continue;
        }
        // Same guard arithmetic as the executor: slippage cap from the signal, tick rounding, lot flooring.
        const capPx = buy ? touch * (1 + s.maxSlippageBps / 1e4) : touch * (1 - s.maxSlippageBps / 1e4);
        const price = Math.round((buy ? Math.floor(capPx / rules.tickSize) : Math.ceil(capPx / rules.tickSize)) * rules.tickSize * 1e8) / 1e8;
        const held = book.quantity(VENUE, symbol);
        const room = buy ? config.strategy.max_position - held : config.strategy.max_position + held;
        const qty = Math.floor(Math.min(s.size, Math.max(0, room)) / rules.lotStep + 1e-9) * rules.lotStep;
        if (qty < rules.minQty) {
          reject(room <= 0 ? 'RISK_LIMIT' : 'MIN_SIZE');
          continue;
        }
        orders++;
        st.orders++;
        try {
          const o = matching.submit(ACCOUNT, { clientId: `bt${i}`, symbol, side: buy ? 'buy' : 'sell', type: 'limit', tif: 'IOC', qty: Number(qty.toFixed(8)), price });
          if (o.filled > 0) {
            fills++;
            st.fills++;
            const avg = o.cost / o.filled;
            book.applyFill(VENUE, symbol, s.side, o.filled, avg, o.fee, t.exchTsNs);
            regimes.onFill(st.ring, s.regime, buy ? 1 : -1, o.filled, avg, o.fee);
            accuracy.onFill(buy ? 1 : -1, avg, touch);
            if (st === charted) recorder.onFill(t.exchTsNs, buy ? 1 : -1, avg, o.filled);
            digest.add('fill', s.side, o.filled, avg, o.fee);
          }
        } catch (err) {
          if (err instanceof EngineReject) reject(err.code);
          else throw err;
        }
      }
    }
  };

  /** Ring → engine → signals for one chunk, then its orders; the engine has consumed every tick before. */
  const flush = async () => {
    if (chunk.length === 0) return;
    // One N-API call per ring and chunk: the ring sequence of a tick is its ring's first sequence
    // plus its index in that ring's batch.
    for (let c = 0; c < chunk.length; c++) {
      const st = chunkStream[c]!;
      const b = (ringBatches[st.ring] ??= new TickBatch(chunkSize));
      chunkSeq[c] = b.count;
      b.push(tickFromNormalized(chunk[c]!), st.ring);
    }
    const firstSeq: number[] = [];
    for (let r = 0; r < ringBatches.length; r++) {
      const b = ringBatches[r];
      if (b === undefined || b.count === 0) continue;
      firstSeq[r] = region.pushBatch(r, b);
      pushed += b.count;
      b.clear();
    }
    for (let c = 0; c < chunk.length; c++) chunkSeq[c] = chunkSeq[c]! + firstSeq[chunkStream[c]!.ring]!;
    // The engine counts a batch as processed after its strategy published the batch's signals: once
    // the count reaches what was pushed, every signal of this chunk is in the signal ring.
    while (engine.stats().ticks < pushed) {
      if (!engine.running) throw engine.lastError() ?? new BacktestError('engine stopped during the backtest');
      drain();
      await new Promise((r) => setImmediate(r));
    }
    drain();
    simulate();
    chunk.length = 0;
    chunkSeq.length = 0;
    chunkStream.length = 0;
  };

  const totalBytes = market.inputs.reduce((a, x) => a + x.bytes, 0);
  let lastProgress = started;
  try {
    engine.start();
    read: for await (const ticks of market.ticks) {
      for (const t of ticks) {
        if (maxTicks > 0 && total >= maxTicks) break read;
        if (!capture) {
          capturePath = path.join(dir, `backtest-${t.venue}-${t.symbol}-${systemClock.nowNs() / 1_000_000n}-${process.pid}.kcap`);
          capture = CaptureWriter.open(capturePath, { createdNs: t.recvTsNs });
        }
        capture.push(t);
        const st = streamOf(t);
        st.ticks++;
        chunk.push(t);
        chunkStream.push(st);
        total++;
        if (chunk.length >= chunkSize) {
          await flush();
          const now = monotonicMs();
          if (data.onProgress && now - lastProgress >= 500) {
            lastProgress = now;
            data.onProgress({ ticks: total, fraction: totalBytes > 0 ? Math.min(1, bytesRead() / totalBytes) : undefined, elapsedMs: now - started, done: false });
          }
        }
      }
    }
    await flush();
    const missed = region.counters().ticks.reduce((a, r) => a + r.drops, 0);
    if (missed > 0) throw new BacktestError(`ring dropped ${missed} ticks during the backtest`);
  } finally {
    engine.stop();
    region.unlink();
    region.close();
    capture?.close();
  }
  market.finish();
  if (total === 0) throw new DataError(market.inputs.map((x) => x.file).join(', '), 'no tick passed the quality gates');
  data.onProgress?.({ ticks: total, fraction: 1, elapsedMs: monotonicMs() - started, done: true });

  const active = streams.filter((s): s is Stream => s !== undefined);
  const perStream: StreamReport[] = active.map((st) => {
    const e = book.get(st.venue, st.symbol);
    const p = e ? book.toPosition(e, st.mark) : undefined;
    return {
      venue: st.venue,
      symbol: st.symbol,
      ticks: st.ticks,
      signals: st.signals,
      orders: st.orders,
      fills: st.fills,
      position: p?.quantity ?? 0,
      avgPrice: p?.avgPrice ?? 0,
      realizedPnl: p?.realizedPnl ?? 0,
      unrealizedPnl: p?.unrealizedPnl ?? 0,
      fees: p?.fees ?? 0,
      accuracy: st.accuracy.report(),
    };
  });
  const sum = (f: (s: StreamReport) => number) => perStream.reduce((a, s) => a + f(s), 0);
  const only = perStream.length === 1 ? perStream[0] : undefined;
  const reportDir = path.resolve('var', 'backtests');
  mkdirSync(reportDir, { recursive: true });
  const reportPath = path.join(reportDir, `backtest-${systemClock.nowNs() / 1_000_000n}-${process.pid}.json`);
  const report: BacktestReport = {
    engine: config.strategy.engine,
    fillModel: config.execution.fill_model,
    ticks: total,
    signals,
    orders,
    fills,
    rejects,
    // Several instruments: quantities of different assets do not add up; see `streams`.
    position: only?.position ?? 0,
    avgPrice: only?.avgPrice ?? 0,
    realizedPnl: sum((s) => s.realizedPnl),
    unrealizedPnl: sum((s) => s.unrealizedPnl),
    fees: sum((s) => s.fees),
    // Position.realizedPnl is already net of fees (PositionBook.toPosition): subtracting fees here
    // again charged every fee twice.
    netPnl: sum((s) => s.realizedPnl + s.unrealizedPnl),
    accuracy: only ? only.accuracy : AccuracyMonitor.pooled(active.map((s) => s.accuracy), accuracyOptions).report(),
    regimes: regimes.rows((ring) => streams[ring]?.mark ?? 0),
    streams: perStream,
    inputs: market.inputs.map((x) => ({ file: x.file, format: x.format, ticks: market.perFile.get(x.file) ?? 0 })),
    boundaries: market.boundaries,
    capture: capturePath,
    report: reportPath,
    html: reportPath.replace(/\.json$/, '.html'),
    digest: digest.hex(),
    wallMs: monotonicMs() - started,
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
  writeFileSync(reportPath, JSON.stringify(report, null, 2));
  const first = charted ?? active[0];
  writeBacktestHtml(report.html, {
    title: `kestrel backtest: ${first ? `${first.venue} ${first.symbol}` : 'no instrument'}${active.length > 1 ? ` (+${active.length - 1} more in the JSON report)` : ''}, engine ${report.engine}, config ${config.version}`,
    summary: report,
    series: recorder.series(),
    scored: (first?.accuracy.scoredSignals() ?? []).map((x) => ({ confidence: x.confidence, outcomeBps: x.returnFraction * 1e4, hit: x.hit })),
    config,
  });
  return report;

  function bytesRead(): number {
    return market.inputs.reduce((a, x) => a + x.bytesRead, 0);
  }
}
