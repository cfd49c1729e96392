/**
 * Golden vectors for the strategy engines (docs/STRATEGY.md "Golden vectors").
 *
 *   npm run gen:golden            # (re)write test/golden/*
 *
 * Inputs: a seeded synthetic OU stream with injected tainted ticks, and the first 120 s of the real
 * Binance BTCUSDT capture in ../shared (bookTicker -> quotes, trades -> trades, ts = local receive
 * time). Expected outputs come from the native engine's deterministic replay. The Julia engine is
 * held to the same files with the tolerance written into each meta.json.
 */
import { createReadStream, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createGunzip } from 'node:zlib';
import { DEFAULT_STRATEGY_PARAMS, LAYOUT, TickBatch, replay, type StrategyParams, type TickInput } from '../src/native/index.js';
import { loadConfig } from '../src/config/load.js';
import { engineParams } from '../src/session/wiring.js';
import { syntheticTicks } from './gen-golden-synthetic.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const GOLDEN_DIR = path.join(root, 'test/golden');
export const TOLERANCE = { relative: 1e-9, absolute: 1e-12 };

/** Shortest decimal that parses back to the same double (JS toString); NaN as NaN. */
export function num(x: number): string {
  return Number.isNaN(x) ? 'NaN' : String(x);
}

export async function binanceSlice(seconds: number): Promise<TickInput[]> {
  const file = path.resolve(root, '../shared/data/binance/hftbacktest_spot_btcusdt_20240808.gz');
  if (!existsSync(file)) throw new Error(`shared data missing: ${file} (expected ../shared beside the repo)`);
  const rl = createInterface({ input: createReadStream(file).pipe(createGunzip()), crlfDelay: Infinity });
  const out: TickInput[] = [];
  let t0: bigint | undefined;
  const limit = BigInt(seconds) * 1_000_000_000n;
  for await (const line of rl) {
    const sp = line.indexOf(' ');
    const recv = BigInt(line.slice(0, sp));
    t0 ??= recv;
    if (recv - t0 > limit) break;
    const msg = JSON.parse(line.slice(sp + 1)) as { stream?: string; data?: Record<string, unknown> };
    if (!msg.stream || !msg.data) continue; // REST snapshot
    const d = msg.data;
    if (msg.stream.endsWith('@bookTicker')) {
      out.push({
        tsNs: recv,
        flags: 0,
        bid: Number(d['b']),
        ask: Number(d['a']),
        bidSize: Number(d['B']),
        askSize: Number(d['A']),
        venueId: 1,
      });
    } else if (msg.stream.endsWith('@trade')) {
      const px = Number(d['p']);
      const buyerAggressor = d['m'] === false;
      out.push({
        tsNs: recv,
        flags: LAYOUT.kFlagTrade | (buyerAggressor ? LAYOUT.kFlagBuyAggressor : 0),
        bid: px,
        ask: px,
        bidSize: Number(d['q']),
        askSize: 0,
        venueId: 1,
      });
    }
  }
  return out;
}

export const FEATURE_COLUMNS = [
  'index',
  'mid',
  'spread',
  'spread_bps',
  'microprice',
  'ofi',
  'ofi_norm',
  'ewma_var',
  'vpin',
  'n_buckets',
  'ou_valid',
  'kappa',
  'mu',
  'sigma',
  'half_life',
  'zscore',
  'ou_b',
  'vr',
  'vol_ratio',
  'regime',
] as const;
export const SIGNAL_COLUMNS = [
  'index',
  'side',
  'size',
  'confidence',
  'zscore',
  'ref_price',
  'urgency',
  'min_fill_qty',
  'ttl_ms',
  'max_slippage_bps',
  'trace_hi',
  'trace_lo',
  'regime',
] as const;

/**
 * The parameters a session with the shipped config/default.yaml runs the engine with (environment
 * overrides ignored). Golden cases start from these, so sizing (kelly_fraction, capital, max_size,
 * min_confidence) is tested as deployed: a toy capital once hid that every signal sat at max_size.
 */
export function defaultSessionParams(): StrategyParams {
  return { ...DEFAULT_STRATEGY_PARAMS, ...engineParams(loadConfig({ env: {} })) };
}

export interface GoldenCase {
  name: string;
  description: string;
  source: string;
  stride: number;
  params: Partial<StrategyParams>;
  ticks: TickInput[];
}

export async function goldenCases(): Promise<GoldenCase[]> {
  return [
    {
      name: 'synthetic_ou',
      description:
        'Seeded OU mid path (mu 30000, kappa 0.2/s, sigma 2/sqrt(s), 20 ms mean spacing), 25% trades, with one CROSSED (30%), one STALE (40%) and one GAP (50%) tick injected.',
      source: 'scripts/gen-golden-synthetic.ts syntheticTicks({ ticks: 12000, seed: 42n, inject: true })',
      stride: 25,
      params: { vpin_bucket_volume: 2, vpin_buckets: 20, z_entry: 1.5 },
      ticks: syntheticTicks({ ticks: 12000, seed: 42n, inject: true }).ticks,
    },
    {
      name: 'binance_btcusdt',
      description: 'First 120 s of the real Binance spot BTCUSDT capture: bookTicker as quotes, trades as trades, ts = local receive ns.',
      source: '../shared/data/binance/hftbacktest_spot_btcusdt_20240808.gz (hftbacktest, see data/SOURCES.md)',
      stride: 25,
      params: { vpin_bucket_volume: 0.5, vpin_buckets: 20, z_entry: 1.5 },
      ticks: await binanceSlice(120),
    },
    {
      name: 'binance_btcusdt_trend_entries',
      description:
        'binance_btcusdt with strategy.regime.trend_entries: true: the regime gate is off, so entries also fire while TRENDING or HIGH_VOL (the regime is still carried on every signal).',
      source: '../shared/data/binance/hftbacktest_spot_btcusdt_20240808.gz (hftbacktest, see data/SOURCES.md)',
      stride: 25,
      params: { vpin_bucket_volume: 0.5, vpin_buckets: 20, z_entry: 1.5, trend_entries: 1 },
      ticks: await binanceSlice(120),
    },
  ];
}

export function toBatch(ticks: TickInput[]): TickBatch {
  const b = new TickBatch(Math.max(1, ticks.length));
  for (const t of ticks) b.push(t);
  return b;
}

async function main(): Promise<void> {
  mkdirSync(GOLDEN_DIR, { recursive: true });
  for (const c of await goldenCases()) {
    const params: StrategyParams = { ...defaultSessionParams(), ...c.params };
    const r = replay(toBatch(c.ticks), { params, featureStride: c.stride });
    const w = (suffix: string, text: string) => writeFileSync(path.join(GOLDEN_DIR, `${c.name}.${suffix}`), text);
    w(
      'ticks.csv',
      ['index,ts_ns,flags,bid,ask,bid_size,ask_size']
        .concat(c.ticks.map((t, i) => `${i},${t.tsNs},${t.flags},${num(t.bid)},${num(t.ask)},${num(t.bidSize)},${num(t.askSize)}`))
        .join('\n') + '\n',
    );
    w('params.csv', ['name,value'].concat(Object.entries(params).map(([k, v]) => `${k},${num(v)}`)).join('\n') + '\n');
    w(
      'features.csv',
      [FEATURE_COLUMNS.join(',')].concat(r.features.map((f) => FEATURE_COLUMNS.map((k) => num(f[k]!)).join(','))).join('\n') + '\n',
    );
    w(
      'signals.csv',
      [SIGNAL_COLUMNS.join(',')]
        .concat(
          r.signals.map((s) =>
            [
              s.sourceSeq,
              s.side,
              num(s.size),
              num(s.confidence),
              num(s.zscore),
              num(s.refPrice),
              s.urgency,
              num(s.minFillQty),
              s.ttlMs,
              num(s.maxSlippageBps),
              s.traceHi,
              s.traceLo,
              s.regime,
            ].join(','),
          ),
        )
        .join('\n') + '\n',
    );
    const meta = {
      name: c.name,
      description: c.description,
      source: c.source,
      generator: 'npm run gen:golden (scripts/gen-golden.ts, native engine replay)',
      spec: 'docs/STRATEGY.md',
      stride: c.stride,
      ticks: c.ticks.length,
      featureRows: r.features.length,
      signals: r.signals.length,
      skippedTicks: r.skipped,
      resets: r.resets,
      tolerance: TOLERANCE,
      numberFormat: 'shortest round-trip decimal; NaN = not available; integers exact',
      files: {
        ticks: `${c.name}.ticks.csv`,
        params: `${c.name}.params.csv`,
        features: `${c.name}.features.csv`,
        signals: `${c.name}.signals.csv`,
      },
    };
    w('meta.json', JSON.stringify(meta, null, 2) + '\n');
    console.log(`${c.name}: ${c.ticks.length} ticks, ${r.features.length} feature rows, ${r.signals.length} signals, ${r.skipped} skipped`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
