/**
 * Start the three simulated private venues with test credentials, default symbol rules and
 * balances: used by tests, the bench, the chaos harness and the default session.
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import type { VenueName } from '../../contracts/index.js';
import type { EngineMode, SymbolRules } from '../matching/engine.js';
import { BinancePrivateSim } from '../../venues/binance/simulator/order-entry.js';
import type { PrivateSimOptions, PrivateVenueSim, SimCredentials } from './core.js';
import { KrakenPrivateSim } from '../../venues/kraken/simulator/order-entry.js';
import { OkxPrivateSim } from '../../venues/okx/simulator/order-entry.js';
import { DEFAULT_SEED } from '../../refdata/seed.js';

/** Fixed-seed Ed25519 test key (PKCS#8 DER = fixed prefix + 32-byte seed), same in every process. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const edPrivate = createPrivateKey({
  key: Buffer.concat([ED25519_PKCS8_PREFIX, Buffer.alloc(32, 7)]),
  format: 'der',
  type: 'pkcs8',
});

/** The Binance Ed25519 test key: `apiKey` + private PEM for the client side. */
export const TEST_BINANCE_ED25519 = {
  apiKey: 'sim-binance-ed25519-key',
  privateKeyPem: edPrivate.export({ format: 'pem', type: 'pkcs8' }).toString(),
} as const;

/** Test keys of the simulators (not secrets: they only open local simulated venues). */
export const TEST_CREDENTIALS: Readonly<Record<VenueName, SimCredentials>> = {
  binance: {
    apiKey: 'sim-binance-key',
    apiSecret: 'sim-binance-secret-0123456789abcdef',
    ed25519: {
      apiKey: TEST_BINANCE_ED25519.apiKey,
      publicKeyPem: createPublicKey(edPrivate).export({ format: 'pem', type: 'spki' }).toString(),
    },
  },
  // Kraken secrets are base64.
  kraken: { apiKey: 'sim-kraken-key', apiSecret: Buffer.from('sim-kraken-secret-0123456789abcdef').toString('base64') },
  okx: { apiKey: 'sim-okx-key', apiSecret: 'sim-okx-secret-0123456789abcdef', passphrase: 'sim-pass' },
};

export const DEFAULT_SYMBOLS: readonly SymbolRules[] = [
  {
    symbol: 'BTC-USDT',
    base: 'BTC',
    quote: 'USDT',
    tickSize: 0.01,
    lotStep: 0.00001,
    minQty: 0.0001,
    maxQty: 100,
    priceBandBps: 500,
    makerFee: 0.0008,
    takerFee: 0.001,
  },
  // The Kraken capture's pair (price precision 1, volume precision 8).
  {
    symbol: 'BTC-USD',
    base: 'BTC',
    quote: 'USD',
    tickSize: 0.1,
    lotStep: 0.00000001,
    minQty: 0.0001,
    maxQty: 100,
    priceBandBps: 500,
    makerFee: 0.0016,
    takerFee: 0.0026,
  },
  {
    symbol: 'ETH-USDT',
    base: 'ETH',
    quote: 'USDT',
    tickSize: 0.01,
    lotStep: 0.0001,
    minQty: 0.001,
    maxQty: 1000,
    priceBandBps: 500,
    makerFee: 0.0008,
    takerFee: 0.001,
  },
];

/**
 * The rules one venue enforces: DEFAULT_SYMBOLS with each instrument's tick, lot step, minimum and
 * maximum size and price band taken from reference data for that venue (the seed: what the venues
 * publish). One shared rule set made the simulated OKX refuse orders sized on OKX's real 1e-8 lot
 * step (it enforced Binance's 1e-5), so paper OKX orders were rejected SIZE_PRECISION.
 */
export function symbolRulesFor(venue: VenueName): SymbolRules[] {
  return DEFAULT_SYMBOLS.map((r) => {
    const i = DEFAULT_SEED.instruments.find((x) => x.venue === venue && x.canonical === r.symbol);
    return i
      ? { ...r, tickSize: i.minTick, lotStep: i.lotStep, minQty: i.minLot, maxQty: i.maxOrderSize, priceBandBps: i.priceBandBps }
      : r;
  });
}

export const DEFAULT_BALANCES: Readonly<Record<string, number>> = { USDT: 1_000_000, USD: 1_000_000, BTC: 10, ETH: 100 };

export interface PrivateVenues {
  readonly binance: BinancePrivateSim;
  readonly kraken: KrakenPrivateSim;
  readonly okx: OkxPrivateSim;
  readonly all: readonly PrivateVenueSim[];
  stop(): Promise<void>;
}

export interface StartOptions {
  readonly mode?: EngineMode;
  readonly symbols?: readonly SymbolRules[];
  readonly balances?: Record<string, number>;
  /** Directory for per-venue request journals (duplicate-placement evidence across restarts). */
  readonly journalDir?: string;
  readonly ports?: Partial<Record<VenueName, number>>;
  readonly rateLimit?: PrivateSimOptions['rateLimit'];
  /** Account credentials per venue (default TEST_CREDENTIALS). */
  readonly credentials?: Partial<Record<VenueName, SimCredentials>>;
}

export async function startPrivateVenues(o: StartOptions = {}): Promise<PrivateVenues> {
  const mk = (venue: VenueName): PrivateSimOptions => ({
    mode: o.mode ?? 'paper',
    symbols: o.symbols ?? symbolRulesFor(venue),
    balances: { ...(o.balances ?? DEFAULT_BALANCES) },
    credentials: o.credentials?.[venue] ?? TEST_CREDENTIALS[venue],
    ...(o.journalDir ? { journalPath: `${o.journalDir}/${venue}-requests.jsonl` } : {}),
    ...(o.ports?.[venue] !== undefined ? { port: o.ports[venue] } : {}),
    ...(o.rateLimit ? { rateLimit: o.rateLimit } : {}),
  });
  const binance = await new BinancePrivateSim(mk('binance')).start();
  const kraken = await new KrakenPrivateSim(mk('kraken')).start();
  const okx = await new OkxPrivateSim(mk('okx')).start();
  const all = [binance, kraken, okx];
  return { binance, kraken, okx, all, stop: async () => void (await Promise.all(all.map((s) => s.stop()))) };
}
