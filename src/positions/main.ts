/**
 * Positions & PnL as their own process (`kestrel run positions`): the book is built from venue fills
 * (ord.ack.*) — first everything stream `ord` still holds (so a restart comes back with the same
 * positions), then the live acks — applying each order's cumulative fill once per client id, so an
 * ack seen both in the stream and live counts once. Marks from md.norm.>. Publishes pos.current and
 * pos.pnl (PositionService), serves the portfolio on GET /admin/state next to health and metrics.
 *
 * SIGTERM: stop intake, publish the final state, flush, exit 0.
 */
import { randomBytes } from 'node:crypto';
import { fromBinary, toJson } from '@bufbuild/protobuf';
import { AdminServer } from '../admin/server.js';
import { systemClock } from '../clock/clock.js';
import { streamName } from '../bus/streams.js';
import type { NatsBus } from '../bus/nats-bus.js';
import { BusError } from '../bus/bus.js';
import { NatsError } from 'nats';
import { runAsEntryPoint, serviceMain } from '../cli/entry.js';
import { positionsService } from '../cli/services.js';
import type { FlagValues } from '../cli/args.js';
import { connectServiceBus, loadServiceConfig, untilStopSignal, writeReady } from '../cli/service-runtime.js';
import { OrderAckSchema, PortfolioStateSchema, type Namespace } from '../contracts/index.js';
import { BusMarketFeed } from '../execution/market-feed.js';
import { gauge } from '../observability/metrics.js';
import { PositionService, valuationFromSnapshots } from './service.js';
import { quoteOf, type MarkFn } from './book.js';

export function main(argv: readonly string[]): Promise<number> {
  return serviceMain(positionsService, argv, run);
}

/**
 * Feed every ack stream `ord` holds now (up to its last sequence at the call) to `onAck`, through an
 * ordered consumer (no server-side state left behind). Returns how many were read.
 */
export async function replayOrderAcks(bus: NatsBus, ns: Namespace, onAck: (data: Uint8Array) => void): Promise<number> {
  const stream = streamName('ord', ns);
  const jsm = await bus.connection.jetstreamManager();
  let last: number;
  try {
    const info = await jsm.streams.info(stream);
    if (info.state.messages === 0) return 0;
    last = info.state.last_seq;
  } catch (err) {
    // No stream yet: no fill was ever published durably. Anything else (a permission refused, a
    // timeout) must stop the start: positions rebuilt from nothing would be a plausible lie.
    if (err instanceof NatsError && /stream not found/i.test(err.message)) return 0;
    throw new BusError(`stream ${stream}: cannot read the fills history: ${(err as Error).message}`, { cause: err });
  }
  const consumer = await bus.connection.jetstream().consumers.get(stream);
  const messages = await consumer.consume();
  let n = 0;
  for await (const m of messages) {
    onAck(m.data);
    n++;
    if (m.seq >= last) break;
  }
  await messages.close();
  return n;
}

export async function run(flags: FlagValues): Promise<number> {
  const config = loadServiceConfig(flags);
  const ns = config.bus.namespace as Namespace;
  const clock = systemClock;
  const bus = await connectServiceBus(config, 'positions');
  const feed = new BusMarketFeed(bus, ns, clock).start();
  const currency = config.session.reporting_currency || quoteOf(config.session.symbols[0] ?? 'USD');
  const valuation = valuationFromSnapshots(feed.store, currency);
  const mark: MarkFn = (venue, symbol) => {
    const s = feed.store.get(venue, symbol);
    return s ? (s.bid + s.ask) / 2 : undefined;
  };
  const positions = new PositionService(bus, { clock, namespace: ns, valuation, mark });
  // Live acks first, then the stream's history: an ack in both is applied once (cumulative per client id).
  positions.start();
  const replayed = await replayOrderAcks(bus, ns, (data) => {
    try {
      positions.onAck(fromBinary(OrderAckSchema, data));
    } catch {
      // a malformed ack is skipped, as live
    }
  });
  positions.publish();
  const entries = gauge('positions_entries', 'Venue-symbol positions held by the positions service');
  const stopGauge = setInterval(() => entries.set(positions.book.all().length), 1000);
  stopGauge.unref();
  const admin = new AdminServer(
    {
      // What pos.current carries: per-venue and netted rows, marked at the md.norm mids.
      state: () => toJson(PortfolioStateSchema, positions.book.snapshot(mark, clock.nowNs(), true, valuation)),
    },
    // No operator action here: a random token keeps every POST refused.
    { token: randomBytes(32).toString('hex') },
  );
  admin.addReadinessCheck('bus', () => !bus.connection.isClosed());
  const adminUrl = await admin.listen(config.services.positions.admin_port, config.admin.host);
  writeReady('positions', { adminUrl, replayed });
  await untilStopSignal();
  positions.stop();
  feed.stop();
  positions.publish();
  await bus.flush();
  clearInterval(stopGauge);
  await admin.close();
  await bus.close();
  return 0;
}

runAsEntryPoint(import.meta.url, 'positions failed', main);
