/**
 * What the operator console shows, as plain JSON (no bigint, no protobuf messages): the page renders
 * it, /admin/console.json serves it to tools, and the SSE stream pushes it once a second.
 */

export type Light = 'ok' | 'warn' | 'bad';

export interface VenueHealth {
  venue: string;
  /** Public market-data stream: connected, age of its last message, resyncs and gaps since start. */
  publicConnected: boolean;
  lastMessageAgeMs: number | null;
  resyncs: number;
  gaps: number;
  reconnects: number;
  /** Private (order entry) stream. */
  privateConnected: boolean;
  paused: boolean;
  light: Light;
}

export interface BreakerView {
  venue: string;
  state: string;
}

export interface PositionView {
  venue: string;
  symbol: string;
  quantity: number;
  avgPrice: number;
  mark: number | null;
  realizedPnl: number;
  unrealizedPnl: number;
  fees: number;
  netPnl: number;
}

/** One symbol across venues: quantities and PnL summed (same quote currency per symbol). */
export interface NettedView {
  symbol: string;
  quantity: number;
  netPnl: number;
  venues: number;
}

export interface OrderView {
  clientId: string;
  venue: string;
  symbol: string;
  side: string;
  size: number;
  price: number;
  filledQty: number;
  avgPrice: number;
  status: string;
  rejectReason: string;
  createdMs: number;
}

export interface RiskView {
  var: number;
  maxVar: number;
  /** var / maxVar, 0 without a VaR limit. */
  varUtilisation: number;
  varDegraded: boolean;
  drawdown: number;
  maxDailyDrawdown: number;
  maxTotalDrawdown: number;
  grossNotional: number;
  portfolioNotional: number;
  /** grossNotional / portfolioNotional. */
  notionalUtilisation: number;
  perSymbolNotional: number;
  maxOrderNotional: number;
  reduceOnly: boolean;
  reduceOnlyReason: string;
}

export interface LatencyHistogram {
  metric: string;
  /** Upper bounds in seconds as Prometheus labels them (last '+Inf'), and each bucket's own count. */
  le: string[];
  counts: number[];
  count: number;
}

export interface ConsoleSnapshot {
  tsMs: number;
  mode: string;
  halted: boolean;
  halts: Record<string, string>;
  draining: boolean;
  reportingCurrency: string;
  pnl: { realized: number; unrealized: number; fees: number; net: number };
  venues: VenueHealth[];
  breakers: BreakerView[];
  positions: PositionView[];
  netted: NettedView[];
  orders: OrderView[];
  risk: RiskView | null;
  latency: LatencyHistogram | null;
  counters: Record<string, number>;
}

/** One point of the PnL chart. */
export interface PnlPoint {
  tsMs: number;
  net: number;
}
