/**
 * Where each venue lives: public market data (WebSocket + REST snapshots) and private order entry
 * (WebSocket + REST), as named presets of the venues' documented environments, with per-key URL
 * overrides from config (`venues.<venue>.endpoints.*`, empty = the preset's URL).
 *
 * Presets:
 *   binance  production | testnet   (Binance spot testnet: its own hosts, its own keys)
 *   okx      production | demo      (OKX demo trading: wspap hosts, and every private REST request
 *                                    carries `x-simulated-trading: 1`)
 *   kraken   production | validate  (no spot testnet: production hosts, every add_order carries
 *                                    `validate: true`, so the venue checks and never books it)
 */
import type { VenueName } from '../contracts/market.js';
import { KestrelError } from '../contracts/errors.js';

export interface VenueEndpoints {
  readonly publicWs: string;
  readonly publicRest: string;
  readonly privateWs: string;
  readonly privateRest: string;
  /** Headers every private REST request carries (OKX demo: x-simulated-trading: 1). */
  readonly privateHeaders: Readonly<Record<string, string>>;
  /** Orders are validated by the venue and never booked (Kraken `validate`). */
  readonly validateOnly: boolean;
}

export type BinancePreset = 'production' | 'testnet';
export type OkxPreset = 'production' | 'demo';
export type KrakenPreset = 'production' | 'validate';
export type PresetName = BinancePreset | OkxPreset | KrakenPreset;

export const ENDPOINT_PRESETS: {
  readonly binance: Readonly<Record<BinancePreset, VenueEndpoints>>;
  readonly okx: Readonly<Record<OkxPreset, VenueEndpoints>>;
  readonly kraken: Readonly<Record<KrakenPreset, VenueEndpoints>>;
} = {
  binance: {
    production: {
      publicWs: 'wss://stream.binance.com:9443/stream',
      publicRest: 'https://api.binance.com',
      privateWs: 'wss://ws-api.binance.com:443/ws-api/v3',
      privateRest: 'https://api.binance.com',
      privateHeaders: {},
      validateOnly: false,
    },
    testnet: {
      publicWs: 'wss://stream.testnet.binance.vision/stream',
      publicRest: 'https://testnet.binance.vision',
      privateWs: 'wss://ws-api.testnet.binance.vision/ws-api/v3',
      privateRest: 'https://testnet.binance.vision',
      privateHeaders: {},
      validateOnly: false,
    },
  },
  okx: {
    production: {
      publicWs: 'wss://ws.okx.com:8443/ws/v5/public',
      publicRest: 'https://www.okx.com',
      privateWs: 'wss://ws.okx.com:8443/ws/v5/private',
      privateRest: 'https://www.okx.com',
      privateHeaders: {},
      validateOnly: false,
    },
    demo: {
      publicWs: 'wss://wspap.okx.com:8443/ws/v5/public',
      publicRest: 'https://www.okx.com',
      privateWs: 'wss://wspap.okx.com:8443/ws/v5/private',
      privateRest: 'https://www.okx.com',
      privateHeaders: { 'x-simulated-trading': '1' },
      validateOnly: false,
    },
  },
  kraken: {
    production: {
      publicWs: 'wss://ws.kraken.com/v2',
      publicRest: 'https://api.kraken.com',
      privateWs: 'wss://ws-auth.kraken.com/v2',
      privateRest: 'https://api.kraken.com',
      privateHeaders: {},
      validateOnly: false,
    },
    validate: {
      publicWs: 'wss://ws.kraken.com/v2',
      publicRest: 'https://api.kraken.com',
      privateWs: 'wss://ws-auth.kraken.com/v2',
      privateRest: 'https://api.kraken.com',
      privateHeaders: {},
      validateOnly: true,
    },
  },
};

/** The config section of one venue (`venues.<venue>` in config/default.yaml). */
export interface VenueEndpointConfig {
  readonly preset: string;
  readonly endpoints: {
    readonly public_ws: string;
    readonly public_rest: string;
    readonly private_ws: string;
    readonly private_rest: string;
  };
}

export class EndpointError extends KestrelError {
  override readonly name = 'EndpointError';
  constructor(message: string, options?: ErrorOptions) {
    super('ENDPOINT', message, options);
  }
}

export function presetNames(venue: VenueName): string[] {
  return Object.keys(ENDPOINT_PRESETS[venue]);
}

/** The preset named in config, with every non-empty URL override applied. */
export function resolveEndpoints(venue: VenueName, cfg: VenueEndpointConfig): VenueEndpoints {
  const presets = ENDPOINT_PRESETS[venue] as Readonly<Record<string, VenueEndpoints>>;
  const base = presets[cfg.preset];
  if (!base) throw new EndpointError(`venues.${venue}.preset: unknown preset '${cfg.preset}' (use ${presetNames(venue).join(' or ')})`);
  const e = cfg.endpoints;
  return {
    ...base,
    publicWs: e.public_ws || base.publicWs,
    publicRest: e.public_rest || base.publicRest,
    privateWs: e.private_ws || base.privateWs,
    privateRest: e.private_rest || base.privateRest,
  };
}
