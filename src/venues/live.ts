/**
 * Order entry of a live session: the real private clients of each venue, built from its endpoints
 * (preset + overrides, src/venues/endpoints.ts) and its account credentials (KESTREL_<VENUE>_API_KEY
 * ... from the secrets mechanism, src/config/secrets.ts), one OrderGateway per venue on the bus.
 * Nothing here starts a simulator: every order goes to the URL the config names.
 */
import type { Bus } from '../bus/bus.js';
import type { DurableStreams } from '../bus/streams.js';
import type { Clock } from '../clock/clock.js';
import { venueCredentialsFromEnv } from '../config/secrets.js';
import type { Namespace, VenueName, VenueSpec } from '../contracts/index.js';
import type { VenueEndpoints } from './endpoints.js';
import { createOrderClient } from './factory.js';
import { OrderGateway } from './order-gateway.js';
import type { VenueCredentials } from './common/order-types.js';
import { KestrelError } from '../contracts/errors.js';

export class LiveRefusedError extends KestrelError {
  override readonly name = 'LiveRefusedError';
  constructor(message: string, options?: ErrorOptions) {
    super('LIVE_REFUSED', message, options);
  }
}

export interface LiveOrderEntryOptions {
  readonly bus: Bus;
  readonly namespace: Namespace;
  readonly clock: Clock;
  readonly venues: readonly VenueName[];
  readonly endpoints: Readonly<Record<VenueName, VenueEndpoints>>;
  /** With `symbols` (the full reference data), each symbol's min lot reaches the client's error mapping. */
  readonly specs: Readonly<
    Partial<Record<VenueName, Pick<VenueSpec, 'venue' | 'hasPrivateWs' | 'venuePolicy'> & Partial<Pick<VenueSpec, 'symbols'>>>>
  >;
  /** Canonical symbols traded (order lookups per symbol on Binance and OKX). */
  readonly symbols: readonly string[];
  /** Default: from the environment (KESTREL_<VENUE>_API_KEY / _API_SECRET / _PASSPHRASE / _ED25519_PRIVATE_KEY, or _FILE). */
  readonly credentials?: Partial<Record<VenueName, VenueCredentials>>;
  readonly env?: NodeJS.ProcessEnv;
  /** Durable streams (NATS session): gateway acks go to stream `ord` with msg ids. */
  readonly streams?: DurableStreams;
}

export interface LiveOrderEntry {
  readonly gateways: Readonly<Partial<Record<VenueName, OrderGateway>>>;
  stop(): Promise<void>;
}

/** Credentials of every venue, or a LiveRefusedError naming the first venue without them. */
export function liveCredentials(venues: readonly VenueName[], env: NodeJS.ProcessEnv = process.env): Record<VenueName, VenueCredentials> {
  const out: Partial<Record<VenueName, VenueCredentials>> = {};
  for (const v of venues) {
    const c = venueCredentialsFromEnv(v, env);
    if (!c)
      throw new LiveRefusedError(
        `live refused: no credentials for ${v} (set KESTREL_${v.toUpperCase()}_API_KEY and KESTREL_${v.toUpperCase()}_API_SECRET, or their _FILE forms)`,
      );
    if (v === 'okx' && c.passphrase === undefined)
      throw new LiveRefusedError('live refused: okx needs KESTREL_OKX_PASSPHRASE (or _FILE) too');
    out[v] = c;
  }
  return out as Record<VenueName, VenueCredentials>;
}

export async function startLiveOrderEntry(o: LiveOrderEntryOptions): Promise<LiveOrderEntry> {
  const creds = o.credentials ?? liveCredentials(o.venues, o.env);
  const gateways: Partial<Record<VenueName, OrderGateway>> = {};
  const stop = async () => {
    for (const gw of Object.values(gateways)) await gw.stop();
  };
  try {
    for (const venue of o.venues) {
      const e = o.endpoints[venue];
      const c = creds[venue];
      if (!c) throw new LiveRefusedError(`live refused: no credentials for ${venue}`);
      const symbolSpecs = o.specs[venue]?.symbols;
      const client = createOrderClient(venue, {
        ...(symbolSpecs ? { minLots: Object.fromEntries(symbolSpecs.map((s) => [s.symbol, s.minLot])) } : {}),
        wsUrl: e.privateWs,
        restUrl: e.privateRest,
        credentials: c,
        clock: o.clock,
        symbols: o.symbols,
        ...(Object.keys(e.privateHeaders).length > 0 ? { extraHeaders: e.privateHeaders } : {}),
        ...(e.validateOnly ? { validateOnly: true } : {}),
      });
      const gw = new OrderGateway({
        bus: o.bus,
        ...(o.streams ? { streams: o.streams } : {}),
        clock: o.clock,
        client,
        spec: o.specs[venue] ?? { venue, hasPrivateWs: true, venuePolicy: 'production' },
        namespace: o.namespace,
      });
      await gw.start();
      gateways[venue] = gw;
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { gateways, stop };
}
