/**
 * Builds the console snapshot from a running session's components. Read-only: it only calls
 * getters, so a page refresh can never change what trading does.
 */
import type { AdapterStats } from '../../venues/common/adapter-types.js';
import type { Clock } from '../../clock/clock.js';
import { rejectName, Side } from '../../contracts/index.js';
import type { Executor } from '../../execution/executor.js';
import { OrderState, type OrderRecord } from '../../execution/order.js';
import type { SnapshotStore } from '../../execution/types.js';
import { quoteOf, type Valuation } from '../../positions/book.js';
import type { StaticRiskGateway } from '../../risk/static-gateway.js';
import { registry } from '../../observability/metrics.js';
import type { ConsoleSnapshot, LatencyHistogram, NettedView, OrderView, PositionView, RiskView, VenueHealth } from './snapshot.js';

export interface SessionViewDeps {
  mode: string;
  clock: Clock;
  executor: Executor;
  snapshots: SnapshotStore;
  valuation: Valuation;
  venues: readonly string[];
  /** Public adapters' counters; empty until market data is started. */
  adapters: () => readonly AdapterStats[];
  privateConnected: (venue: string) => boolean;
  risk?: StaticRiskGateway;
  drawdownLimits?: { maxDaily: number; maxTotal: number };
  /** Orders in the blotter (newest first). */
  blotterSize?: number;
  /** A public stream silent longer than this is amber; 5× longer is red. */
  staleAfterMs?: number;
}

/** Prometheus histogram whose buckets the console draws. */
export const CONSOLE_LATENCY_METRIC = 'kestrel_executor_signal_to_wire_seconds';

export function sessionConsoleSource(d: SessionViewDeps): () => Promise<ConsoleSnapshot> {
  const blotter = d.blotterSize ?? 50;
  const staleMs = d.staleAfterMs ?? 5000;
  return async () => {
    const nowNs = d.clock.nowNs();
    const ex = d.executor;
    const mid = (venue: string, symbol: string): number | null => {
      const s = d.snapshots.get(venue, symbol);
      return s ? (s.bid + s.ask) / 2 : null;
    };

    const positions: PositionView[] = ex.book.all().map((e) => {
      const mark = mid(e.venue, e.symbol);
      const p = ex.book.toPosition(e, mark ?? undefined);
      return {
        venue: p.venue,
        symbol: p.symbol,
        quantity: p.quantity,
        avgPrice: p.avgPrice,
        mark,
        realizedPnl: p.realizedPnl,
        unrealizedPnl: p.unrealizedPnl,
        fees: p.fees,
        // realizedPnl is already net of fees (PositionBook.toPosition): fees are not subtracted twice.
        netPnl: p.realizedPnl + p.unrealizedPnl,
      };
    });
    const netted = new Map<string, NettedView>();
    for (const p of positions) {
      const n = netted.get(p.symbol) ?? { symbol: p.symbol, quantity: 0, netPnl: 0, venues: 0 };
      n.quantity += p.quantity;
      n.netPnl += p.netPnl;
      n.venues++;
      netted.set(p.symbol, n);
    }
    // Totals in the reporting currency; a quote with no rate yet is left out, as in the summary.
    const pnl = { realized: 0, unrealized: 0, fees: 0, net: 0 };
    for (const p of positions) {
      const rate = d.valuation.rate(quoteOf(p.symbol));
      if (rate === undefined) continue;
      pnl.realized += p.realizedPnl * rate;
      pnl.unrealized += p.unrealizedPnl * rate;
      pnl.fees += p.fees * rate;
      pnl.net += p.netPnl * rate;
    }

    const stats = new Map(d.adapters().map((s) => [s.venue as string, s]));
    const venues: VenueHealth[] = d.venues.map((venue) => {
      const s = stats.get(venue);
      const ageMs = s && s.lastMessageNs > 0n ? Math.max(0, Number(nowNs - s.lastMessageNs) / 1e6) : null;
      const privateConnected = d.privateConnected(venue);
      const publicConnected = s?.connected ?? false;
      const light =
        !publicConnected || !privateConnected || ageMs === null || ageMs > 5 * staleMs
          ? 'bad'
          : ageMs > staleMs || ex.isPaused(venue)
            ? 'warn'
            : 'ok';
      return {
        venue,
        publicConnected,
        lastMessageAgeMs: ageMs === null ? null : Math.round(ageMs),
        resyncs: s?.resyncs ?? 0,
        gaps: s?.gaps ?? 0,
        reconnects: s?.reconnects ?? 0,
        privateConnected,
        paused: ex.isPaused(venue),
        light,
      };
    });

    const orders: OrderView[] = [];
    const all = [...ex.orders.values()];
    for (let i = all.length - 1; i >= 0 && orders.length < blotter; i--) orders.push(orderView(all[i]!));

    return {
      tsMs: Number(nowNs / 1_000_000n),
      mode: d.mode,
      halted: ex.isHalted,
      halts: Object.fromEntries(ex.haltCauses),
      draining: ex.isDraining,
      reportingCurrency: d.valuation.currency,
      pnl,
      venues,
      breakers: ex.breakers.all().map((b) => ({ venue: b.venue, state: b.state })),
      positions,
      netted: [...netted.values()],
      orders,
      risk: d.risk ? riskView(d.risk, ex, d.drawdownLimits) : null,
      latency: await latencyHistogram(CONSOLE_LATENCY_METRIC),
      counters: { ...ex.counters },
    };
  };
}

function orderView(o: OrderRecord): OrderView {
  return {
    clientId: o.clientId,
    venue: o.venue,
    symbol: o.symbol,
    side: o.side === Side.BUY ? 'BUY' : o.side === Side.SELL ? 'SELL' : String(o.side),
    size: o.size,
    price: o.price,
    filledQty: o.filledQty,
    avgPrice: o.avgPrice,
    status: o.inDoubt ? 'IN_DOUBT' : OrderState[o.state],
    rejectReason: o.rejectReason ? `${rejectName(o.rejectReason)}${o.rejectDetail ? `: ${o.rejectDetail}` : ''}` : o.rejectDetail,
    createdMs: Number(o.createdTsNs / 1_000_000n),
  };
}

function riskView(gw: StaticRiskGateway, ex: Executor, dd: { maxDaily: number; maxTotal: number } | undefined): RiskView {
  const l = gw.limits();
  const gross = ex.book.grossNotional();
  return {
    var: l.var,
    maxVar: l.maxVar,
    varUtilisation: l.maxVar > 0 ? l.var / l.maxVar : 0,
    varDegraded: l.varDegraded,
    drawdown: gw.drawdown.total,
    maxDailyDrawdown: dd?.maxDaily ?? 0,
    maxTotalDrawdown: dd?.maxTotal ?? 0,
    grossNotional: gross,
    portfolioNotional: l.portfolioNotional,
    notionalUtilisation: l.portfolioNotional > 0 ? gross / l.portfolioNotional : 0,
    perSymbolNotional: l.perSymbolNotional,
    maxOrderNotional: l.maxOrderNotional,
    reduceOnly: l.reduceOnly,
    reduceOnlyReason: l.reduceOnlyReason,
  };
}

/** A registered Prometheus histogram as per-bucket counts; null when this process has none. */
export async function latencyHistogram(name: string): Promise<LatencyHistogram | null> {
  const m = registry.getSingleMetric(name);
  if (!m) return null;
  const { values } = await m.get();
  const le: string[] = [];
  const cumulative: number[] = [];
  let count = 0;
  for (const v of values) {
    const metricName = (v as { metricName?: string }).metricName ?? '';
    if (metricName.endsWith('_bucket')) {
      le.push(String(v.labels.le));
      cumulative.push(v.value);
    } else if (metricName.endsWith('_count')) count += v.value;
  }
  const counts = cumulative.map((c, i) => c - (i > 0 ? cumulative[i - 1]! : 0));
  return { metric: name, le, counts, count };
}
