/**
 * Order entry for the default (single-process) session: simulated private venues, one client and
 * one gateway per venue on the given bus, and optionally the real Binance capture replayed into the
 * venues' books so orders fill against recorded liquidity.
 *
 *   const oe = await startSimulatedOrderEntry({ bus, namespace: 'live', mode: 'paper', clock: systemClock, replay: { speed: 1 } });
 *   ... executor sends ord.req.{venue} ...
 *   await oe.stop();
 */
import type { Bus } from '../bus/bus.js';
import { VENUES, type Namespace, type VenueName, type VenueSpec } from '../contracts/index.js';
import type { EngineMode } from '../simulators/matching/engine.js';
import { replayCaptures, type ReplayOptions } from '../simulators/private/replay.js';
import { startPrivateVenues, TEST_CREDENTIALS, type PrivateVenues } from '../simulators/private/venues.js';
import { createOrderClient } from './factory.js';
import type { DurableStreams } from '../bus/streams.js';
import type { Clock } from '../clock/clock.js';
import type { VenueCredentials } from './common/order-types.js';
import { OrderGateway } from './order-gateway.js';

export interface SimulatedOrderEntryOptions {
  readonly bus: Bus;
  readonly namespace: Namespace;
  readonly mode?: EngineMode;
  readonly venues?: readonly VenueName[];
  /** Venue policy per venue; default: production with a private stream (all three have one). */
  readonly specs?: Partial<Record<VenueName, Pick<VenueSpec, 'venue' | 'hasPrivateWs' | 'venuePolicy'>>>;
  /** Journal directory for the simulators' request records. */
  readonly journalDir?: string;
  /**
   * Replay real captures into the venues' books: speed 1 = recorded pace, 0 = at once.
   * source 'binance' (default): the Binance BTC-USDT capture into all three venues;
   * 'per-venue': Binance <- Binance capture (BTC-USDT), Kraken <- Kraken book capture (BTC-USD),
   * OKX <- OKX recording (BTC-USDT). `maxRecords` limits the Binance capture only.
   */
  readonly replay?: ReplayOptions;
  /**
   * Account credentials per venue, used by both the simulated venue and its client (the session
   * takes them from KESTREL_<VENUE>_API_KEY/_API_SECRET when set). Default: the simulators' test keys.
   */
  readonly credentials?: Partial<Record<VenueName, VenueCredentials>>;
  /** The trading side's clock (clients and gateways); the simulated venues keep their own. */
  readonly clock: Clock;
  /** Durable streams (NATS session): gateway acks go to stream `ord` with msg ids. */
  readonly streams?: DurableStreams;
}

export interface SimulatedOrderEntry {
  readonly sims: PrivateVenues;
  readonly gateways: Readonly<Partial<Record<VenueName, OrderGateway>>>;
  /** Resolves with the number of capture records applied once the replay ends (0 without replay). */
  readonly replayed: Promise<number>;
  stop(): Promise<void>;
}

export async function startSimulatedOrderEntry(o: SimulatedOrderEntryOptions): Promise<SimulatedOrderEntry> {
  const creds = (venue: VenueName): VenueCredentials => o.credentials?.[venue] ?? TEST_CREDENTIALS[venue];
  const sims = await startPrivateVenues({
    mode: o.mode ?? 'paper',
    ...(o.journalDir ? { journalDir: o.journalDir } : {}),
    ...(o.credentials ? { credentials: Object.fromEntries(VENUES.map((v) => [v, creds(v)])) } : {}),
  });
  const gateways: Partial<Record<VenueName, OrderGateway>> = {};
  for (const venue of o.venues ?? VENUES) {
    const sim = sims[venue];
    const client = createOrderClient(venue, { wsUrl: sim.wsUrl, restUrl: sim.url, credentials: creds(venue), clock: o.clock });
    const gw = new OrderGateway({
      bus: o.bus,
      ...(o.streams ? { streams: o.streams } : {}),
      clock: o.clock,
      client,
      spec: o.specs?.[venue] ?? { venue, hasPrivateWs: true, venuePolicy: 'production' },
      namespace: o.namespace,
    });
    await gw.start();
    gateways[venue] = gw;
  }
  let stopping = false;
  let replayDone: Promise<number> = Promise.resolve(0);
  if (o.replay) replayDone = replayCaptures(sims, o.replay, () => stopping);
  return {
    sims,
    gateways,
    replayed: replayDone,
    stop: async () => {
      stopping = true;
      await replayDone.catch(() => undefined);
      for (const gw of Object.values(gateways)) await gw.stop();
      await sims.stop();
    },
  };
}
