/**
 * Deterministic backtest on the recorded timeline (ARCHITECTURE "Determinism and replay"):
 *   recorded venue frames (any recording, capture or ClickHouse range: ./data) → the venue adapter (virtual clock = recorded receive time) → ingestion
 *   (inline dispatch, quality gates) → capture file → the engine thread over shared-memory rings
 *   (native or julia, the same code as live) → signals → the trading kernel (src/session/kernel.ts,
 *   the same code `kestrel start` runs): the real Executor (TTL, precision/slippage guards, SOR,
 *   local risk guard, nonces, WAL) → ord.req.{venue} over the bus (in-process or NATS) → the real
 *   OrderGateway → an in-process MatchingVenueClient fed by the same ticks → fills → positions →
 *   the real StaticRiskGateway (limits, VaR, drawdown) → report + decision digest.
 * Time is the event clock: every component reads a VirtualClock set to the ticks' receive times, and
 * every timer (risk limits, positions, in-doubt checks, lazy WAL commits) runs on a VirtualScheduler
 * advanced with it. The kernel settles (every order terminal, every message delivered) before each
 * tick's signals and after them, so the decisions do not depend on machine speed or the bus:
 * every decision is a function of (recording, config, seed), two runs give the same digest.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Config } from '../config/schema.js';
import { Side, VENUES as ALL_VENUES, type Namespace, type VenueSpec } from '../contracts/index.js';
import { TickFlag, VENUES, type VenueName } from '../contracts/market.js';
import { NativeEngine, SignalBatch, TickBatch, TickRegion, traceIdHex, type SignalRecordView } from '../native/index.js';
import { openRefData } from '../refdata/index.js';
import type { RefDataRepository } from '../refdata/repository.js';
import { AccuracyMonitor, type AccuracyReport } from '../shadow/accuracy.js';
import type { SymbolRules } from '../simulators/matching/engine.js';
import { DEFAULT_BALANCES } from '../simulators/private/venues.js';
import { BINANCE_CAPTURE, sharedDataFile } from '../simulators/recordings.js';
import { CaptureWriter } from '../storage/capture/writer.js';
import { TickColumns } from '../storage/capture/columns.js';
import { TradingKernel } from '../session/kernel.js';
import { engineParams } from '../session/wiring.js';
import { systemClock, VirtualClock } from '../clock/clock.js';
import { VirtualScheduler } from '../clock/scheduler.js';
import type { Bus } from '../bus/bus.js';
import { InProcessBus } from '../bus/in-process-bus.js';
import { NatsBus } from '../bus/nats-bus.js';
import { natsSecurityFrom } from '../bus/nats-security.js';
import type { ExecSignal } from '../execution/types.js';
import { OrderGateway } from '../venues/order-gateway.js';
import { ControlPlane } from '../control/control-plane.js';
import { MatchingVenueClient } from '../venues/matching-client.js';
import { createLogger } from '../observability/logger.js';
import { monotonicMs } from '../clock/monotonic.js';
import { openClickHouse } from './data/clickhouse.js';
import { DataError, expandInputs } from './data/inputs.js';
import { openFiles, type BoundaryCheck, type MarketData } from './data/sources.js';
import { writeBacktestHtml } from './report/html.js';
import { RegimeTally, type RegimeRow } from './regime-report.js';
import type { Regime } from '../contracts/index.js';
import { BacktestRecorder } from './report/recorder.js';
import type { PositionEntry } from '../positions/book.js';
import { KestrelError } from '../contracts/errors.js';
import { qualityOptionsOf } from '../ingestion/quality.js';

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
  /** The engine's signals per stream: equal to the signalDigest of the session whose capture this ran on. */
  signalDigest: string;
  /** The executor's decision per signal (src/session/digest.ts ExecutionDigest): what a distributed deployment reproduces. */
  executionDigest: string;
  /** The data's time scale (a capture of a session at speed N: N); engine time constants divided by it. */
  timeScale: number;
  /** The kernel's bus: in-process, or NATS (same decisions, same digest). */
  bus: BacktestBus;
  /** WAL directory kept by `--wal tmp` ('' with `--wal off`: written without fsync, then deleted). */
  walDir: string;
  /** Risk gateway decisions on boundary cases (risk.check round trips). */
  riskChecks: number;
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

/** What to backtest on (and what `kestrel run md --data` replays, through the same `openData`): files (default: the bundled Binance recording) or a ClickHouse range. */
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
  /** Client ids of this stream's orders that filled at least once. */
  filled: Set<string>;
  accuracy: AccuracyMonitor;
  /** Signals of the current chunk by ring sequence. */
  bySeq: Map<number, SignalRecordView[]>;
  /**
   * The stream's position-book entry as of `entryAtFills` fills: the book creates it at the first fill
   * and updates that object in place, so the per-tick chart mark looks it up again only after a fill
   * (not a key string and map lookup per tick).
   */
  entry: PositionEntry | undefined;
  entryAtFills: number;
}

export async function openData(config: Config, data: BacktestData, refdata: RefDataRepository): Promise<MarketData> {
  const quality = await qualityOptionsOf(config, refdata);
  const symbols = data.symbols && data.symbols.length > 0 ? data.symbols : undefined;
  if (data.clickhouse) {
    if (config.storage.clickhouse_url === '')
      throw new BacktestError('--from clickhouse needs storage.clickhouse_url (e.g. --set storage.clickhouse_url=http://127.0.0.1:8123)');
    return openClickHouse({
      url: config.storage.clickhouse_url,
      database: config.storage.clickhouse_database,
      ...data.clickhouse,
      refdata,
      ...(symbols ? { symbols } : {}),
    });
  }
  const files = data.paths && data.paths.length > 0 ? expandInputs(data.paths) : [sharedDataFile(...BINANCE_CAPTURE)];
  return openFiles(files, { refdata, quality, ...(symbols ? { symbols } : {}) });
}

function rulesFor(
  spec: {
    minTick: number;
    lotStep: number;
    minLot: number;
    maxOrderSize: number;
    priceBandBps: number;
    makerFee: number;
    takerFee: number;
  },
  symbol: string,
): SymbolRules {
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

export type BacktestBus = 'in-process' | 'nats';
export type BacktestWal = 'off' | 'tmp';

export interface BacktestOptions {
  /** Collects the report's time series; a sweep worker passes its own to read them afterwards. */
  recorder?: BacktestRecorder;
  /** The kernel's bus (`--bus`): in-process (default) or the NATS server at bus.nats_url. */
  bus?: BacktestBus;
  /**
   * The executor's WAL (`--wal`): 'off' (default) writes it to a temporary directory without fsync and
   * deletes it at the end; 'tmp' fsyncs every commit as live does and keeps the directory (report.walDir).
   */
  wal?: BacktestWal;
}

/** How long one settle may wait (wall time) for the kernel to go quiet before event time moves on. */
const SETTLE_LIMIT_MS = 5_000;

export async function runBacktest(config: Config, data: BacktestData = {}, opts: BacktestOptions = {}): Promise<BacktestReport> {
  const started = monotonicMs();
  const maxTicks = config.session.max_ticks;
  const busKind: BacktestBus = opts.bus ?? 'in-process';
  const walMode: BacktestWal = opts.wal ?? 'off';
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
  // A capture of an accelerated session: the engine and the accuracy horizon run compressed, as there.
  const timeScale = market.timeScale;
  const accuracyOptions = {
    horizonNs: BigInt(Math.round(5e9 / timeScale)),
    threshold: config.strategy.confidence_threshold,
    driftWindow: 1000,
    driftThreshold: 0.05,
  };
  // Per tick: looked up by the feed's stream number (no string building on the hot path).
  const byNumber: Array<Stream | undefined> = [];
  const streamOf = (cols: TickColumns, i: number): Stream =>
    byNumber[cols.stream[i]!] ?? (byNumber[cols.stream[i]!] = streamByName(cols.venue(i), cols.symbol(i)));
  const byKey = new Map<string, Stream>();
  const streamByName = (venue: VenueName, symbol: string): Stream => {
    const ring = ringOf.get(`${venue}:${symbol}`);
    if (ring === undefined) throw new BacktestError(`${venue} ${symbol}: a tick of an instrument reference data does not list`);
    let s = streams[ring];
    if (!s) {
      const spec = specs.get(venue)?.symbols.find((x) => x.symbol === symbol);
      s = streams[ring] = {
        ring,
        venue,
        symbol,
        rules: spec && rulesFor(spec, symbol),
        ticks: 0,
        signals: 0,
        orders: 0,
        fills: 0,
        mark: 0,
        filled: new Set(),
        accuracy: new AccuracyMonitor(accuracyOptions),
        bySeq: new Map(),
        entry: undefined,
        entryAtFills: -1,
      };
      byKey.set(`${venue}:${symbol}`, s);
    }
    return s;
  };

  // The replay input, kept: `kestrel backtest` leaves the exact ticks it traded on.
  const dir = path.resolve(config.storage.capture_dir);
  mkdirSync(dir, { recursive: true });
  let capturePath = '';
  let capture: CaptureWriter | undefined;

  // The kernel on event time: one clock and one scheduler for every component.
  const clock = new VirtualClock(0n);
  const scheduler = new VirtualScheduler(clock);
  const bus: Bus =
    busKind === 'nats'
      ? await NatsBus.connect({
          servers: config.bus.nats_url,
          name: `kestrel-backtest-${process.pid}`,
          security: natsSecurityFrom(config.bus),
        })
      : new InProcessBus();
  const walRoot = mkdtempSync(path.join(tmpdir(), 'kestrel-bt-wal-'));
  const venueSpecs = [...specs.values()].filter((v): v is VenueSpec => v !== undefined);
  // One in-process matching venue per venue (the same canonical symbol on two venues is two books),
  // each behind the real order gateway on the kernel's bus.
  const venues = new Map<string, MatchingVenueClient>();
  for (const venue of ALL_VENUES) {
    const spec = specs.get(venue);
    const rules = spec ? spec.symbols.map((x) => rulesFor(x, x.symbol)) : [];
    venues.set(
      venue,
      new MatchingVenueClient({ venue, mode: config.execution.fill_model, symbols: rules, balances: DEFAULT_BALANCES, clock }),
    );
  }
  const ns = config.bus.namespace as Namespace;
  // The kernel's lifecycle news (recovery, private streams up) is noise in a backtest: warnings and up.
  const log = createLogger('backtest');
  if (!['silent', 'fatal', 'error'].includes(config.logging.level)) log.level = 'warn';
  const gateways = [...venues.values()].map(
    (client) =>
      new OrderGateway({
        bus,
        clock,
        client,
        spec: { venue: client.venue, hasPrivateWs: true, venuePolicy: 'production' },
        namespace: ns,
        healthIntervalMs: 0,
        logger: log.child({ venue: client.venue }),
      }),
  );
  const kernel = new TradingKernel({
    config,
    bus,
    clock,
    scheduler,
    specs: venueSpecs,
    books: {
      feedBook: (venue, symbol, bids, asks) => venues.get(venue)?.feedBook(symbol, bids, asks),
      feedTrade: (venue, symbol, px, qty, side) => venues.get(venue)?.feedTrade(symbol, px, qty, side),
    },
    recon: Object.fromEntries(venues),
    walDir: walRoot,
    walSync: walMode === 'tmp',
    riskCheckTimeoutMs: SETTLE_LIMIT_MS,
    // Virtual time: an order goes out in the turn that made it, as without a WAL (same digest).
    walDurableCommit: 'inline',
    marks: 'direct',
    logger: log,
  });
  const book = kernel.executor.book;
  // ctl.* as live: the risk gateway's stop-loss flatten (ctl.flatten) reaches the executor.
  const control = new ControlPlane(bus, kernel.executor, ns);

  const region = TickRegion.create({
    name: `${config.rings.shm_name}-bt-${process.pid}`,
    symbols: instruments.map((x) => `${x.venue}:${x.symbol}`),
    tickCapacity: config.rings.capacity,
    replace: true,
  });
  const batch = new SignalBatch(256);
  const engine = new NativeEngine(region, {
    engine: config.strategy.engine,
    params: engineParams(config, timeScale),
    ...(config.strategy.julia_source ? { juliaSource: config.strategy.julia_source } : {}),
  });
  const chunkSize = Math.max(1, config.rings.capacity >> 1);
  /** The chunk's ticks as columns (made with the feed's stream table at the first batch). */
  let chunk: TickColumns | undefined;
  const chunkSeq: number[] = [];
  const chunkStream: Stream[] = [];
  const ringBatches: Array<TickBatch | undefined> = [];
  let pushed = 0;
  let total = 0;
  let signals = 0;

  const regimes = new RegimeTally(accuracyOptions);
  // The HTML report charts one instrument: the first the data delivers (the JSON has every stream).
  const recorder = opts.recorder ?? new BacktestRecorder();
  let charted: Stream | undefined;
  /** Touch at signal time per trace id, for the accuracy monitor's fill slippage. */
  const touchOf = new Map<string, { st: Stream; touch: number; regime: Regime }>();
  kernel.executor.onSend((o) => {
    const st = byKey.get(`${o.venue}:${o.symbol}`);
    if (st) st.orders++;
  });
  kernel.executor.onFill((o, d) => {
    const st = byKey.get(`${o.venue}:${o.symbol}`);
    if (!st) return;
    if (!st.filled.has(o.clientId)) {
      st.filled.add(o.clientId);
      st.fills++;
    }
    const dir = o.side === Side.BUY ? 1 : -1;
    const at = o.traceId ? touchOf.get(o.traceId) : undefined;
    if (at) {
      at.st.accuracy.onFill(dir, d.price, at.touch);
      regimes.onFill(at.st.ring, at.regime, dir, d.qty, d.price, d.fee);
    }
    if (st === charted) recorder.onFill(clock.nowNs(), dir, d.price, d.qty);
  });

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

  /**
   * Until every order is terminal, no risk.check is pending and every message published so far is
   * delivered (bus flush: a NATS round trip), so the next decision sees the same state on any bus.
   * An order left in doubt (no venue answer) waits for event time: its timers run on the scheduler.
   */
  const settle = async () => {
    const t0 = monotonicMs();
    for (;;) {
      await bus.flush();
      await new Promise((r) => setImmediate(r));
      let undelivered = 0;
      for (const v of venues.values()) undelivered += v.undelivered;
      if (kernel.quiet && undelivered === 0) {
        await bus.flush();
        return;
      }
      if (monotonicMs() - t0 > SETTLE_LIMIT_MS) return;
    }
  };

  const execOf = (s: SignalRecordView, st: Stream): ExecSignal => ({
    strategyId: config.strategy.id,
    symbol: st.symbol,
    side: s.side,
    size: s.size,
    confidence: s.confidence,
    ttlMs: s.ttlMs,
    maxSlippageBps: s.maxSlippageBps,
    minFillQty: s.minFillQty,
    urgency: s.urgency,
    traceId: traceIdHex(s),
    sourceSequence: s.sourceSeq,
    // Emitted at the event time of the tick it answers: the strategy's latency is not simulated.
    emitTsNs: clock.nowNs(),
    refPrice: s.refPrice,
  });

  /** One chunk on event time: each tick advances the clock (timers fire), feeds the kernel, then its signals. */
  const simulate = async (t: TickColumns) => {
    for (let c = 0; c < t.count; c++) {
      const st = chunkStream[c]!;
      // The two BigInts a tick needs (event time, exchange time); the rest is read from the columns.
      const exchTsNs = t.exchTsNs[c]!;
      const recvTsNs = t.recvTsNs[c]!;
      const ts = recvTsNs > 0n ? recvTsNs : exchTsNs;
      scheduler.advanceTo(ts > clock.nowNs() ? ts : clock.nowNs());
      // kernel.onTick, by fields: the same kernel code as live, without a tick object.
      const quote = (t.flags[c]! & TickFlag.TRADE) === 0;
      if (quote) {
        kernel.onQuote(st.venue, st.symbol, t.bid[c]!, t.ask[c]!, t.bidSize[c]!, t.askSize[c]!, ts);
        st.mark = (t.bid[c]! + t.ask[c]!) / 2;
        st.accuracy.onMid(st.mark, exchTsNs);
        regimes.onMid(st.ring, st.mark, exchTsNs);
      } else {
        kernel.onTrade(st.venue, st.symbol, t.lastPx[c]!, t.lastQty[c]!, t.aggressor[c]!);
      }
      charted ??= st;
      const sigs = st.bySeq.get(chunkSeq[c]!);
      if (sigs !== undefined) {
        st.bySeq.delete(chunkSeq[c]!);
        // What the timers published since the last decision reaches its subscribers first.
        await settle();
        for (const s of sigs) {
          st.signals++;
          const scored = {
            confidence: s.confidence,
            direction: s.side === Side.BUY ? (1 as const) : (-1 as const),
            refMid: s.refPrice,
            tsNs: exchTsNs,
          };
          st.accuracy.onSignal(scored);
          regimes.onSignal(st.ring, s.regime, scored);
          const exec = execOf(s, st);
          const snap = kernel.snapshots.get(st.venue, st.symbol);
          if (snap) {
            touchOf.set(exec.traceId, { st, touch: s.side === Side.BUY ? snap.ask : snap.bid, regime: s.regime });
            if (touchOf.size > 10_000) touchOf.delete(touchOf.keys().next().value!);
          }
          kernel.onSignal(st.venue, exec);
        }
        await settle();
      }
      if (st === charted && quote) {
        if (st.entryAtFills !== st.fills) {
          st.entry = book.get(st.venue, st.symbol);
          st.entryAtFills = st.fills;
        }
        recorder.onMarkEntry(exchTsNs, st.mark, st.entry);
      }
    }
  };

  /** Ring → engine → signals for one chunk, then its orders; the engine has consumed every tick before. */
  const flush = async () => {
    if (chunk === undefined || chunk.count === 0) return;
    // One N-API call per ring and chunk: the ring sequence of a tick is its ring's first sequence
    // plus its index in that ring's batch.
    for (let c = 0; c < chunk.count; c++) {
      const st = chunkStream[c]!;
      const b = (ringBatches[st.ring] ??= new TickBatch(chunkSize));
      chunkSeq[c] = b.count;
      b.pushColumn(chunk, c, st.ring);
    }
    const firstSeq: number[] = [];
    for (let r = 0; r < ringBatches.length; r++) {
      const b = ringBatches[r];
      if (b === undefined || b.count === 0) continue;
      firstSeq[r] = region.pushBatch(r, b);
      pushed += b.count;
      b.clear();
    }
    for (let c = 0; c < chunk.count; c++) chunkSeq[c] = chunkSeq[c]! + firstSeq[chunkStream[c]!.ring]!;
    // The engine counts a batch as processed after its strategy published the batch's signals: once
    // the count reaches what was pushed, every signal of this chunk is in the signal ring.
    while (engine.stats().ticks < pushed) {
      if (!engine.running) throw engine.lastError() ?? new BacktestError('engine stopped during the backtest');
      drain();
      await new Promise((r) => setImmediate(r));
    }
    drain();
    await simulate(chunk);
    chunk.clear();
    chunkSeq.length = 0;
    chunkStream.length = 0;
  };

  const totalBytes = market.inputs.reduce((a, x) => a + x.bytes, 0);
  let lastProgress = started;
  let kernelStarted = false;
  try {
    engine.start();
    read: for await (const cols of market.columns()) {
      chunk ??= new TickColumns(chunkSize, cols.streams);
      for (let i = 0; i < cols.count; i++) {
        if (maxTicks > 0 && total >= maxTicks) break read;
        if (!kernelStarted) {
          if (market.wholeCapture !== undefined && maxTicks === 0) {
            // The input is already a capture of exactly these ticks in this order: name it rather
            // than write a second copy (a write per tick and an fsync of the whole file at close).
            capturePath = market.wholeCapture;
          } else {
            capturePath = path.join(
              dir,
              `backtest-${cols.venue(i)}-${cols.symbol(i)}-${systemClock.nowNs() / 1_000_000n}-${process.pid}.kcap`,
            );
            capture = CaptureWriter.open(capturePath, { createdNs: cols.recvTsNs[i]!, meta: { timeScale, ringInput: true } });
          }
          // Event time starts just before the first tick: limits and positions are published then.
          const ts = cols.recvTsNs[i]! > 0n ? cols.recvTsNs[i]! : cols.exchTsNs[i]!;
          clock.set(ts > 1_000_000n ? ts - 1_000_000n : 0n);
          for (const g of gateways) await g.start();
          await kernel.start();
          control.start();
          kernelStarted = true;
        }
        capture?.push(cols.row(i));
        const st = streamOf(cols, i);
        st.ticks++;
        chunk.copyRow(cols, i);
        chunkStream.push(st);
        total++;
        if (chunk.count >= chunkSize) {
          await flush();
          const now = monotonicMs();
          if (data.onProgress && now - lastProgress >= 500) {
            lastProgress = now;
            data.onProgress({
              ticks: total,
              fraction: totalBytes > 0 ? Math.min(1, bytesRead() / totalBytes) : undefined,
              elapsedMs: now - started,
              done: false,
            });
          }
        }
      }
    }
    await flush();
    await settle();
    // A refusal on a wall-time timeout depends on the machine's load, not on the data: a digest that
    // holds one would not reproduce, so the run is refused instead of reported.
    const timedOut = kernel.rejects['RISK_TIMEOUT'] ?? 0;
    if (timedOut > 0)
      throw new BacktestError(
        `${timedOut} risk.check(s) got no answer within ${SETTLE_LIMIT_MS} ms of wall time: the risk gateway is stuck or the bus is down`,
      );
    const missed = region.counters().ticks.reduce((a, r) => a + r.drops, 0);
    if (missed > 0) throw new BacktestError(`ring dropped ${missed} ticks during the backtest`);
  } finally {
    engine.stop();
    region.unlink();
    region.close();
    capture?.close();
    if (kernelStarted) {
      control.stop();
      await kernel.stop();
    }
    for (const g of gateways) await g.stop();
    await bus.close();
    if (walMode === 'off') rmSync(walRoot, { recursive: true, force: true });
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
    orders: kernel.executor.counters.sent,
    fills: sum((s) => s.fills),
    rejects: { ...kernel.rejects },
    // Several instruments: quantities of different assets do not add up; see `streams`.
    position: only?.position ?? 0,
    avgPrice: only?.avgPrice ?? 0,
    realizedPnl: sum((s) => s.realizedPnl),
    unrealizedPnl: sum((s) => s.unrealizedPnl),
    fees: sum((s) => s.fees),
    // Position.realizedPnl is already net of fees (PositionBook.toPosition): subtracting fees here
    // again charged every fee twice.
    netPnl: sum((s) => s.realizedPnl + s.unrealizedPnl),
    accuracy: only
      ? only.accuracy
      : AccuracyMonitor.pooled(
          active.map((s) => s.accuracy),
          accuracyOptions,
        ).report(),
    regimes: regimes.rows((ring) => streams[ring]?.mark ?? 0),
    streams: perStream,
    inputs: market.inputs.map((x) => ({ file: x.file, format: x.format, ticks: market.perFile.get(x.file) ?? 0 })),
    boundaries: market.boundaries,
    capture: capturePath,
    report: reportPath,
    html: reportPath.replace(/\.json$/, '.html'),
    digest: kernel.digest.hex(),
    signalDigest: kernel.signalDigest.hex(),
    executionDigest: kernel.executionDigest.hex(),
    timeScale,
    bus: busKind,
    walDir: walMode === 'tmp' ? walRoot : '',
    riskChecks: kernel.executor.counters.riskChecks,
    wallMs: monotonicMs() - started,
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
  writeFileSync(reportPath, JSON.stringify(report, null, 2));
  const first = charted ?? active[0];
  writeBacktestHtml(report.html, {
    title: `kestrel backtest: ${first ? `${first.venue} ${first.symbol}` : 'no instrument'}${active.length > 1 ? ` (+${active.length - 1} more in the JSON report)` : ''}, engine ${report.engine}, config ${config.version}`,
    summary: report,
    series: recorder.series(),
    scored: (first?.accuracy.scoredSignals() ?? []).map((x) => ({
      confidence: x.confidence,
      outcomeBps: x.returnFraction * 1e4,
      hit: x.hit,
    })),
    config,
  });
  return report;

  function bytesRead(): number {
    return market.inputs.reduce((a, x) => a + x.bytesRead, 0);
  }
}
