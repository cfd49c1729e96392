/**
 * Bundled reference data: the embedded default when no PostgreSQL is configured, and the seed written
 * into PostgreSQL by `seedPostgres`. Symbol ids are fixed here (not left to SERIAL) because they go
 * into ring records and capture files: both stores must agree.
 *
 * Precision is what the venues publish for these instruments, cross-checked against the recordings
 * in ../shared/data: Binance BTCUSDT prices at 0.01 and sizes at 1e-5 (hftbacktest 2024-08-08),
 * Kraken BTC/USD at price precision 1 and qty precision 8 (the CRC32-verified v2 book, 2023-07-30),
 * OKX BTC-USDT at 0.1 (v5 tickers, 2022-05-13). Fees are each venue's base (lowest volume) tier.
 */
export interface SeedSymbol {
  id: number;
  canonical: string;
  assetClass: string;
  base: string;
  quote: string;
  decimalPlaces: number;
}

export interface SeedVenue {
  venue: string;
  venueId: number;
  hasPrivateWs: boolean;
  policy: 'production' | 'shadow_only';
  ordersPerSecond: number;
  requestsPerMinute: number;
  supportedTif: string[];
}

export interface SeedInstrument {
  venue: string;
  venueSymbol: string;
  canonical: string;
  active: boolean;
  minTick: number;
  minLot: number;
  lotStep: number;
  maxOrderSize: number;
  pricePrecision: number;
  qtyPrecision: number;
  /** Max deviation of a limit price from mid, basis points (500 = 5 %). */
  priceBandBps: number;
  makerFee: number;
  takerFee: number;
  supportsIoc: boolean;
  supportsFok: boolean;
  orderTypes: string[];
  liquidityTier: 'A' | 'B' | 'C';
}

/**
 * Bounds the ingestion quality gate applies to one canonical symbol's market data (sql/003): a value
 * outside them is dropped as out_of_bounds and reported, never passed on.
 */
export interface SeedMarketDataBounds {
  canonical: string;
  /** Largest single trade accepted, in base units. */
  maxTradeQty: number;
  /** Largest size accepted at a book level (the touch ingestion sees), in base units. */
  maxLevelQty: number;
  /** Largest distance of any price from the symbol's reference mark, in basis points. */
  maxMarkDeviationBps: number;
}

export interface RefDataSeed {
  symbols: SeedSymbol[];
  venues: SeedVenue[];
  instruments: SeedInstrument[];
  marketDataBounds: SeedMarketDataBounds[];
}

const LIMIT_MARKET = ['limit', 'market', 'limit_maker'];

/**
 * Far outside anything real yet far inside anything absurd. The largest BTC prints in the captures
 * are a few BTC and touch sizes stay below ~100 BTC; 1,000 BTC in one trade (about 60 M USD) or
 * 5,000 BTC at the touch is 10-100x beyond that. ETH scaled by its ~20x smaller unit value. A
 * 1,000 bps (10 %) jump from the last accepted price inside the reference window is not a move BTC
 * or ETH make between two ticks; a price 100x off is 990,000 bps away.
 */
const MARKET_DATA_BOUNDS: SeedMarketDataBounds[] = [
  { canonical: 'BTC-USDT', maxTradeQty: 1000, maxLevelQty: 5000, maxMarkDeviationBps: 1000 },
  { canonical: 'BTC-USD', maxTradeQty: 1000, maxLevelQty: 5000, maxMarkDeviationBps: 1000 },
  { canonical: 'ETH-USDT', maxTradeQty: 20_000, maxLevelQty: 100_000, maxMarkDeviationBps: 1000 },
  { canonical: 'ETH-USD', maxTradeQty: 20_000, maxLevelQty: 100_000, maxMarkDeviationBps: 1000 },
];

export const DEFAULT_SEED: RefDataSeed = {
  symbols: [
    { id: 1, canonical: 'BTC-USDT', assetClass: 'crypto', base: 'BTC', quote: 'USDT', decimalPlaces: 2 },
    { id: 2, canonical: 'ETH-USDT', assetClass: 'crypto', base: 'ETH', quote: 'USDT', decimalPlaces: 2 },
    { id: 3, canonical: 'BTC-USD', assetClass: 'crypto', base: 'BTC', quote: 'USD', decimalPlaces: 1 },
    { id: 4, canonical: 'ETH-USD', assetClass: 'crypto', base: 'ETH', quote: 'USD', decimalPlaces: 2 },
  ],
  venues: [
    {
      venue: 'binance',
      venueId: 1,
      hasPrivateWs: true,
      policy: 'production',
      ordersPerSecond: 50,
      requestsPerMinute: 6000,
      supportedTif: ['GTC', 'IOC', 'FOK'],
    },
    {
      venue: 'kraken',
      venueId: 2,
      hasPrivateWs: true,
      policy: 'production',
      ordersPerSecond: 10,
      requestsPerMinute: 900,
      supportedTif: ['GTC', 'IOC', 'GTD'],
    },
    {
      venue: 'okx',
      venueId: 3,
      hasPrivateWs: true,
      policy: 'production',
      ordersPerSecond: 30,
      requestsPerMinute: 1200,
      supportedTif: ['GTC', 'IOC', 'FOK'],
    },
  ],
  instruments: [
    {
      venue: 'binance',
      venueSymbol: 'BTCUSDT',
      canonical: 'BTC-USDT',
      active: true,
      minTick: 0.01,
      minLot: 0.00001,
      lotStep: 0.00001,
      maxOrderSize: 9000,
      pricePrecision: 2,
      qtyPrecision: 5,
      priceBandBps: 500,
      makerFee: 0.001,
      takerFee: 0.001,
      supportsIoc: true,
      supportsFok: true,
      orderTypes: LIMIT_MARKET,
      liquidityTier: 'A',
    },
    {
      venue: 'binance',
      venueSymbol: 'ETHUSDT',
      canonical: 'ETH-USDT',
      active: true,
      minTick: 0.01,
      minLot: 0.0001,
      lotStep: 0.0001,
      maxOrderSize: 9000,
      pricePrecision: 2,
      qtyPrecision: 4,
      priceBandBps: 500,
      makerFee: 0.001,
      takerFee: 0.001,
      supportsIoc: true,
      supportsFok: true,
      orderTypes: LIMIT_MARKET,
      liquidityTier: 'A',
    },
    {
      venue: 'kraken',
      venueSymbol: 'BTC/USD',
      canonical: 'BTC-USD',
      active: true,
      minTick: 0.1,
      minLot: 0.0001,
      lotStep: 0.00000001,
      maxOrderSize: 1000,
      pricePrecision: 1,
      qtyPrecision: 8,
      priceBandBps: 500,
      makerFee: 0.0025,
      takerFee: 0.004,
      supportsIoc: true,
      supportsFok: false,
      orderTypes: LIMIT_MARKET,
      liquidityTier: 'A',
    },
    {
      // Kraken's legacy (REST / WS v1) name of the same instrument.
      venue: 'kraken',
      venueSymbol: 'XBT/USD',
      canonical: 'BTC-USD',
      active: true,
      minTick: 0.1,
      minLot: 0.0001,
      lotStep: 0.00000001,
      maxOrderSize: 1000,
      pricePrecision: 1,
      qtyPrecision: 8,
      priceBandBps: 500,
      makerFee: 0.0025,
      takerFee: 0.004,
      supportsIoc: true,
      supportsFok: false,
      orderTypes: LIMIT_MARKET,
      liquidityTier: 'A',
    },
    {
      venue: 'kraken',
      venueSymbol: 'ETH/USD',
      canonical: 'ETH-USD',
      active: true,
      minTick: 0.01,
      minLot: 0.002,
      lotStep: 0.00000001,
      maxOrderSize: 10000,
      pricePrecision: 2,
      qtyPrecision: 8,
      priceBandBps: 500,
      makerFee: 0.0025,
      takerFee: 0.004,
      supportsIoc: true,
      supportsFok: false,
      orderTypes: LIMIT_MARKET,
      liquidityTier: 'A',
    },
    {
      venue: 'okx',
      venueSymbol: 'BTC-USDT',
      canonical: 'BTC-USDT',
      active: true,
      minTick: 0.1,
      minLot: 0.00001,
      lotStep: 0.00000001,
      maxOrderSize: 1000,
      pricePrecision: 1,
      qtyPrecision: 8,
      priceBandBps: 500,
      makerFee: 0.0008,
      takerFee: 0.001,
      supportsIoc: true,
      supportsFok: true,
      orderTypes: LIMIT_MARKET,
      liquidityTier: 'A',
    },
    {
      venue: 'okx',
      venueSymbol: 'ETH-USDT',
      canonical: 'ETH-USDT',
      active: true,
      minTick: 0.01,
      minLot: 0.0001,
      lotStep: 0.000001,
      maxOrderSize: 10000,
      pricePrecision: 2,
      qtyPrecision: 6,
      priceBandBps: 500,
      makerFee: 0.0008,
      takerFee: 0.001,
      supportsIoc: true,
      supportsFok: true,
      orderTypes: LIMIT_MARKET,
      liquidityTier: 'A',
    },
  ],
  marketDataBounds: MARKET_DATA_BOUNDS,
};
