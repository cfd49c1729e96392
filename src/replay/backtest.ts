/**
 * Deterministic backtest on the recorded timeline (ARCHITECTURE "Determinism and replay"):
 *   recorded venue frames → the venue adapter (virtual clock = recorded receive time) → ingestion
 *   (inline dispatch, quality gates) → capture file → the engine thread over shared-memory rings
 *   (native or julia, the same code as live) → signals → paper execution against the matching
 *   engine fed by the same ticks → positions and PnL → report + decision digest.
 * Every decision is a function of (recording, config, seed): two runs give the same digest.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BinanceAdapter } from '../adapters/binance/binance-adapter.js';
import { VirtualClock } from '../clock/clock.js';
import type { Config } from '../config/schema.js';
import { Side } from '../contracts/index.js';
import { TickFlag, type NormalizedTick } from '../contracts/market.js';
import { IngestionService } from '../ingestion/service.js';
import { NativeEngine, SignalBatch, TickRegion, type SignalRecordView } from '../native/index.js';
import { PositionBook } from '../positions/book.js';
import { openRefData } from '../refdata/index.js';
import { AccuracyMonitor, type AccuracyReport } from '../shadow/accuracy.js';
import { MatchingEngine, EngineReject, type SymbolRules } from '../simulators/matching/engine.js';
import { DEFAULT_BALANCES } from '../simulators/private/venues.js';
import { binanceCapture } from '../simulators/recordings.js';
import { CaptureWriter } from '../storage/capture/writer.js';
import { DecisionDigest } from '../session/digest.js';
import { engineParams } from '../session/wiring.js';
import { writeBacktestHtml } from './report/html.js';
import { BacktestRecorder } from './report/recorder.js';

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
  netPnl: number;
  accuracy: AccuracyReport;
  capture: string;
  report: string;
  /** The self-contained HTML report beside the JSON one. */
  html: string;
  digest: string;
  wallMs: number;
}

export class BacktestError extends Error {
  override readonly name = 'BacktestError';
}

const VENUE = 'binance';
const ACCOUNT = 'backtest';

/** The recorded Binance frames through the real adapter and ingestion, on a virtual clock. */
export async function recordedTicks(config: Config, maxTicks: number): Promise<NormalizedTick[]> {
  const refdata = await openRefData(config.refdata.postgres_url || undefined);
  const symbols = (await refdata.mappings(VENUE, config.session.symbols)).filter((m) => m.venueSymbol === 'BTCUSDT');
  const bounds = Object.fromEntries((await refdata.marketDataBounds()).map(({ canonical, ...b }) => [canonical, b]));
  await refdata.close();
  if (symbols.length === 0) throw new BacktestError(`the bundled recording has BTC-USDT on binance; session.symbols is ${config.session.symbols.join(', ')}`);
  const offsetNs = await recordingClockOffset();
  const clock = new VirtualClock();
  const ticks: NormalizedTick[] = [];
  const ingestion = await IngestionService.create(
    {
      dispatch: 'inline',
      quality: {
        stalenessMs: config.data_quality.staleness_threshold_ms,
        maxSpreadPct: config.data_quality.max_spread_pct,
        maxTimeSkewMs: config.data_quality.max_time_skew_ms,
        crossedTolerance: config.data_quality.crossed_tolerance,
        bounds,
      },
    },
    { sinks: [{ name: 'backtest', push: (t) => void ticks.push({ ...t }) }] },
  );
  const adapter = new BinanceAdapter({ url: 'ws://127.0.0.1:9/unused', restUrl: 'http://127.0.0.1:9', symbols, sink: ingestion, clock });
  for await (const r of binanceCapture()) {
    const now = r.recvNs + offsetNs;
    if (now > clock.nowNs()) clock.set(now);
    if (r.kind === 'snapshot') adapter.ingestSnapshot('BTCUSDT', JSON.stringify(r.data));
    else adapter.handleRaw(JSON.stringify({ stream: r.stream, data: r.data }));
    if (maxTicks > 0 && ticks.length >= maxTicks) break;
  }
  ingestion.stop();
  await adapter.stop();
  return maxTicks > 0 ? ticks.slice(0, maxTicks) : ticks;
}

/**
 * The recording machine's clock was not synchronised with the venue's (Binance event times run
 * about 1.3 s ahead of its receive stamps). Like an NTP offset estimate, the median of
 * (event time - receive time) over the first events is taken as the clock offset and the virtual
 * receive clock is corrected by it; what remains is the real transport latency and jitter.
 */
export async function recordingClockOffset(samples = 2000): Promise<bigint> {
  const diffs: bigint[] = [];
  for await (const r of binanceCapture()) {
    if (r.exchNs > 0n) diffs.push(r.exchNs - r.recvNs);
    if (diffs.length >= samples) break;
  }
  if (diffs.length === 0) return 0n;
  diffs.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return diffs[diffs.length >> 1]!;
}

/** Runs the engine thread over the ticks (chunked so the ring never overwrites) and returns its signals. */
export async function engineSignals(config: Config, ticks: readonly NormalizedTick[]): Promise<SignalRecordView[]> {
  const region = TickRegion.create({ name: `${config.rings.shm_name}-bt-${process.pid}`, symbols: ['backtest'], tickCapacity: config.rings.capacity, replace: true });
  const out: SignalRecordView[] = [];
  const batch = new SignalBatch(256);
  const engine = new NativeEngine(region, { engine: config.strategy.engine, params: engineParams(config) });
  try {
    engine.start();
    const chunk = Math.max(1, config.rings.capacity >> 1);
    const drain = () => {
      for (;;) {
        const r = region.drainSignals(batch);
        if (r.missed > 0) throw new BacktestError(`signal ring overwrote ${r.missed} signals`);
        for (let k = 0; k < r.count; k++) out.push(batch.get(k));
        if (r.count < batch.capacity) return;
      }
    };
    for (let i = 0; i < ticks.length; i += chunk) {
      const end = Math.min(ticks.length, i + chunk);
      for (let j = i; j < end; j++) region.pushNormalized(0, ticks[j]!);
      // Wait until the engine consumed this chunk before pushing more: nothing is ever overwritten.
      for (let spins = 0; region.counters().ticks[0]!.occupancy > 0; spins++) {
        if (!engine.running) throw engine.lastError() ?? new BacktestError('engine stopped during the backtest');
        await new Promise((r) => setImmediate(r));
        drain();
      }
      drain();
    }
    await new Promise((r) => setTimeout(r, 1));
    drain();
    const missed = region.counters().ticks[0]!.drops;
    if (missed > 0) throw new BacktestError(`ring dropped ${missed} ticks during the backtest`);
    return out;
  } finally {
    engine.stop();
    region.unlink();
    region.close();
  }
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

export async function runBacktest(config: Config, opts: BacktestOptions = {}): Promise<BacktestReport> {
  const started = performance.now();
  const ticks = await recordedTicks(config, config.session.max_ticks);
  if (ticks.length === 0) throw new BacktestError('no tick passed the quality gates');
  const symbol = ticks[0]!.symbol;

  // The replay input, kept: `kestrel backtest` leaves the exact ticks it traded on.
  const dir = path.resolve(config.storage.capture_dir);
  mkdirSync(dir, { recursive: true });
  const capturePath = path.join(dir, `backtest-${VENUE}-${symbol}-${Date.now()}-${process.pid}.kcap`);
  const capture = CaptureWriter.open(capturePath, { createdNs: ticks[0]!.recvTsNs });
  for (const t of ticks) capture.push(t);
  capture.close();

  const signals = await engineSignals(config, ticks);
  const bySeq = new Map<number, SignalRecordView[]>();
  for (const s of signals) {
    const k = Number(s.sourceSeq);
    const list = bySeq.get(k);
    if (list) list.push(s);
    else bySeq.set(k, [s]);
  }

  const refdata = await openRefData(config.refdata.postgres_url || undefined);
  const spec = (await refdata.venueSpec(VENUE))?.symbols.find((s) => s.symbol === symbol);
  await refdata.close();
  if (!spec) throw new BacktestError(`reference data has no ${VENUE} ${symbol}`);
  const rules = rulesFor(spec, symbol);
  let eventMs = 0;
  // The matching engine's clock is event time, so its timestamps are part of the recording too.
  const matching = new MatchingEngine({ mode: config.execution.fill_model, symbols: [rules], balances: { [ACCOUNT]: { ...DEFAULT_BALANCES } }, clock: () => eventMs });
  const book = new PositionBook();
  const digest = new DecisionDigest();
  const accuracy = new AccuracyMonitor({ horizonNs: 5_000_000_000n, threshold: config.strategy.confidence_threshold, driftWindow: 1000, driftThreshold: 0.05 });
  const recorder = opts.recorder ?? new BacktestRecorder();
  const rejects: Record<string, number> = {};
  let orders = 0;
  let fills = 0;
  let mark = 0;
  const reject = (code: string) => void (rejects[code] = (rejects[code] ?? 0) + 1);

  for (let i = 0; i < ticks.length; i++) {
    const t = ticks[i]!;
    eventMs = Number(t.exchTsNs / 1_000_000n);
    if ((t.flags & TickFlag.TRADE) !== 0) {
      matching.onTrade(symbol, t.lastPx, t.lastQty, t.aggressor > 0 ? 'buy' : 'sell');
    } else {
      matching.onBook(symbol, [[t.bid, t.bidSize]], [[t.ask, t.askSize]]);
      mark = (t.bid + t.ask) / 2;
      accuracy.onMid(mark, t.exchTsNs);
    }
    // The ring sequence of tick i is i + 1 (rings count from 1).
    for (const s of bySeq.get(i + 1) ?? []) {
      digest.add('signal', s.side, s.size, s.confidence, s.sourceSeq);
      accuracy.onSignal({ confidence: s.confidence, direction: s.side === Side.BUY ? 1 : -1, refMid: s.refPrice, tsNs: t.exchTsNs });
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
      try {
        const o = matching.submit(ACCOUNT, { clientId: `bt${i}`, symbol, side: buy ? 'buy' : 'sell', type: 'limit', tif: 'IOC', qty: Number(qty.toFixed(8)), price });
        if (o.filled > 0) {
          fills++;
          const avg = o.cost / o.filled;
          book.applyFill(VENUE, symbol, s.side, o.filled, avg, o.fee, t.exchTsNs);
          accuracy.onFill(buy ? 1 : -1, avg, touch);
          recorder.onFill(t.exchTsNs, buy ? 1 : -1, avg, o.filled);
          digest.add('fill', s.side, o.filled, avg, o.fee);
        }
      } catch (err) {
        if (err instanceof EngineReject) reject(err.code);
        else throw err;
      }
    }
    if ((t.flags & TickFlag.TRADE) === 0) recorder.onMarkEntry(t.exchTsNs, mark, book.get(VENUE, symbol));
  }

  const e = book.get(VENUE, symbol);
  const p = e ? book.toPosition(e, mark) : undefined;
  const reportDir = path.resolve('var', 'backtests');
  mkdirSync(reportDir, { recursive: true });
  const reportPath = path.join(reportDir, `backtest-${Date.now()}-${process.pid}.json`);
  const report: BacktestReport = {
    engine: config.strategy.engine,
    fillModel: config.execution.fill_model,
    ticks: ticks.length,
    signals: signals.length,
    orders,
    fills,
    rejects,
    position: p?.quantity ?? 0,
    avgPrice: p?.avgPrice ?? 0,
    realizedPnl: p?.realizedPnl ?? 0,
    unrealizedPnl: p?.unrealizedPnl ?? 0,
    fees: p?.fees ?? 0,
    netPnl: (p?.realizedPnl ?? 0) + (p?.unrealizedPnl ?? 0) - (p?.fees ?? 0),
    accuracy: accuracy.report(),
    capture: capturePath,
    report: reportPath,
    html: reportPath.replace(/\.json$/, '.html'),
    digest: digest.hex(),
    wallMs: performance.now() - started,
  };
  writeFileSync(reportPath, JSON.stringify(report, null, 2));
  writeBacktestHtml(report.html, {
    title: `kestrel backtest: ${VENUE} ${symbol}, engine ${report.engine}, config ${config.version}`,
    summary: report,
    series: recorder.series(),
    scored: accuracy.scoredSignals().map((x) => ({ confidence: x.confidence, outcomeBps: x.returnFraction * 1e4, hit: x.hit })),
    config,
  });
  return report;
}
