/**
 * The default session: bundled real market data → normalized ticks → strategy signals → paper
 * fills → positions and PnL → summary, every stage talking over the Bus (in-process by default,
 * NATS when configured).
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import type { Bus } from '../bus/bus.js';
import type { Config } from '../config/schema.js';
import {
  OrderAckSchema,
  OrderStatus,
  PositionSchema,
  Side,
  SignalSchema,
  TickSchema,
  Urgency,
  type OrderAck,
  type Signal,
} from '../contracts/index.js';
import { fromProto, toProto, type NormalizedTick } from '../contracts/market.js';
import { patterns, subjects } from '../contracts/subjects.js';
import { createLogger } from '../observability/logger.js';
import { sharedDataFile } from '../replay/shared-data.js';
import { binanceCaptureTicks } from './capture-ticks.js';
import { DecisionDigest } from './digest.js';
import { AccuracyMonitor, type AccuracyReport } from '../shadow/accuracy.js';

const log = createLogger('session');

export interface SessionSummary {
  ticks: number;
  signals: number;
  fills: number;
  position: number;
  avgPrice: number;
  realizedPnl: number;
  unrealizedPnl: number;
  fees: number;
  lastMid: number;
  digest: string;
  accuracy: AccuracyReport;
  wallMs: number;
}

const TAKER_FEE = 0.001;

export async function runPaperSession(config: Config, bus: Bus): Promise<SessionSummary> {
  const started = performance.now();
  const ns = config.bus.namespace;
  const symbol = config.session.symbols[0]!;
  const strategyId = config.strategy.id;
  const digest = new DecisionDigest();
  const books = new Map<string, NormalizedTick>();
  let signals = 0;
  let fills = 0;
  const pos = { qty: 0, avg: 0, realized: 0, fees: 0, mark: 0 };
  const accuracy = new AccuracyMonitor();
  const touchAtSignal = new Map<string, number>();

  // Strategy stage (thin slice): fade deviations of the microprice-adjusted mid from its EWMA.
  let ewma = 0;
  let ewvar = 0;
  let n = 0;
  let lastSignalNs = 0n;
  bus.subscribe(patterns.mdNormAll(ns), (msg) => {
    const t = fromProto(fromBinary(TickSchema, msg.data));
    books.set(t.symbol, t);
    pos.mark = (t.bid + t.ask) / 2;
    accuracy.onMid(pos.mark, t.exchTsNs);
    if ((t.flags & 1) !== 0 || t.bid <= 0 || t.ask <= t.bid) return;
    const mid = (t.bid + t.ask) / 2;
    const alpha = 0.02;
    n++;
    if (n === 1) ewma = mid;
    const dev = mid - ewma;
    ewma += alpha * dev;
    ewvar = (1 - alpha) * (ewvar + alpha * dev * dev);
    if (n < 200 || ewvar <= 0) return;
    const z = dev / Math.sqrt(ewvar);
    if (Math.abs(z) < 2.5 || t.exchTsNs - lastSignalNs < 5_000_000_000n) return;
    lastSignalNs = t.exchTsNs;
    const confidence = Math.min(0.99, 0.5 + Math.abs(z) / 10);
    if (confidence < config.strategy.confidence_threshold - 0.2) return;
    const side = z > 0 ? Side.SELL : Side.BUY;
    const size = Number((config.strategy.max_position * config.strategy.kelly_fraction).toFixed(5));
    const sig = create(SignalSchema, {
      strategyId,
      symbol: t.symbol,
      side,
      size,
      confidence,
      ttlMs: 50,
      maxSlippageBps: config.execution.max_slippage_bps,
      minFillQty: 0,
      urgency: Urgency.NORMAL,
      traceId: `${strategyId}-${t.sequence}`,
      sourceSequence: t.sequence,
      sourceExchTsNs: t.exchTsNs,
      sourceRecvTsNs: t.recvTsNs,
      refPrice: mid,
    });
    bus.publish(subjects.signal(strategyId, t.symbol, ns), toBinary(SignalSchema, sig), {
      headers: { trace_id: sig.traceId, strategy_id: strategyId },
    });
  });

  // Paper execution stage (thin slice): fill at touch.
  bus.subscribe(patterns.signalsAll(ns), (msg) => {
    const sig: Signal = fromBinary(SignalSchema, msg.data);
    signals++;
    digest.add('signal', sig.symbol, sig.side, sig.size, sig.confidence, sig.sourceSequence);
    const book = books.get(sig.symbol);
    if (!book) return;
    const px = sig.side === Side.BUY ? book.ask : book.bid;
    const direction = sig.side === Side.BUY ? 1 : -1;
    accuracy.onSignal({ confidence: sig.confidence, direction, refMid: sig.refPrice, tsNs: sig.sourceExchTsNs });
    touchAtSignal.set(sig.traceId, px);
    const ack = create(OrderAckSchema, {
      clientId: sig.traceId,
      venue: 'binance',
      status: OrderStatus.FILLED,
      filledQty: sig.size,
      avgPrice: px,
      lastFillQty: sig.size,
      lastFillPrice: px,
      fee: px * sig.size * TAKER_FEE,
      symbol: sig.symbol,
      side: sig.side,
      accepted: true,
    });
    bus.publish(subjects.orderAck('binance', ns), toBinary(OrderAckSchema, ack), {
      headers: { correlation_id: ack.clientId },
    });
  });

  // Position & PnL stage (thin slice).
  bus.subscribe(patterns.orderAcksAll(ns), (msg) => {
    const ack: OrderAck = fromBinary(OrderAckSchema, msg.data);
    if (ack.status !== OrderStatus.FILLED && ack.status !== OrderStatus.PARTIAL) return;
    fills++;
    accuracy.onFill(ack.side === Side.BUY ? 1 : -1, ack.lastFillPrice, touchAtSignal.get(ack.clientId) ?? 0);
    touchAtSignal.delete(ack.clientId);
    digest.add('fill', ack.clientId, ack.side, ack.lastFillQty, ack.lastFillPrice);
    const signed = ack.side === Side.BUY ? ack.lastFillQty : -ack.lastFillQty;
    const px = ack.lastFillPrice;
    pos.fees += ack.fee;
    if (pos.qty === 0 || Math.sign(pos.qty) === Math.sign(signed)) {
      pos.avg = (pos.avg * Math.abs(pos.qty) + px * Math.abs(signed)) / (Math.abs(pos.qty) + Math.abs(signed));
      pos.qty += signed;
    } else {
      const closing = Math.min(Math.abs(signed), Math.abs(pos.qty));
      pos.realized += closing * (px - pos.avg) * Math.sign(pos.qty);
      const remaining = pos.qty + signed;
      if (Math.sign(remaining) !== Math.sign(pos.qty) && remaining !== 0) pos.avg = px;
      pos.qty = remaining;
      if (pos.qty === 0) pos.avg = 0;
    }
    const p = create(PositionSchema, {
      symbol: ack.symbol,
      venue: ack.venue,
      quantity: pos.qty,
      avgPrice: pos.avg,
      realizedPnl: pos.realized,
      unrealizedPnl: pos.qty * (pos.mark - pos.avg),
      fees: pos.fees,
    });
    bus.publish(subjects.posCurrent(ns), toBinary(PositionSchema, p));
  });

  await bus.flush();
  let ticks = 0;
  const file = sharedDataFile('binance', 'hftbacktest_spot_btcusdt_20240808.gz');
  for await (const t of binanceCaptureTicks(file, 1, symbol)) {
    bus.publish(subjects.mdNorm(t.venue, t.symbol, ns), toBinary(TickSchema, toProto(t)));
    ticks++;
    // Yield to the bus every batch so stages keep up and memory stays bounded.
    if (ticks % 512 === 0) await bus.flush();
    if (config.session.max_ticks > 0 && ticks >= config.session.max_ticks) break;
  }
  await bus.flush();
  const summary: SessionSummary = {
    ticks,
    signals,
    fills,
    position: pos.qty,
    avgPrice: pos.avg,
    realizedPnl: pos.realized,
    unrealizedPnl: pos.qty * (pos.mark - pos.avg),
    fees: pos.fees,
    lastMid: pos.mark,
    digest: digest.hex(),
    accuracy: accuracy.report(),
    wallMs: performance.now() - started,
  };
  log.debug({ summary }, 'session finished');
  return summary;
}
