/**
 * Market data and the engine as separate OS processes over a real NATS server decide what one process
 * decides: `kestrel run md --data` (the backtest's own reader: real adapters, real gates) and
 * `kestrel run engine` (md.norm → its own rings → the addon engine → sig.*) publish exactly the
 * signals `kestrel backtest --data` hands its executor, in the same order (signal digest). Two engines
 * on disjoint --symbols split the streams and, together, publish the same signals; so do two md
 * processes that split the symbols by hash (--shard i/N), and an engine attached to the shared-memory
 * rings md writes on the same host (--rings / --attach). Each process
 * answers health and metrics, and SIGTERM drains it with exit 0.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromBinary } from '@bufbuild/protobuf';
import { NatsBus } from '../../src/bus/nats-bus.js';
import { SignalSchema, type Signal } from '../../src/contracts/index.js';
import { addSignal, StreamDigest } from '../../src/session/digest.js';
import { sharedDataFile } from '../../src/simulators/recordings.js';
import { kestrel, type KestrelProcess } from '../support/processes.js';
import { startOwnNats, type OwnNats } from '../support/nats-server.js';
import { until } from '../support/wait.js';
import { loadHasher, shardFor } from '../../src/ingestion/hash.js';

const DATA = [
  sharedDataFile('binance', 'hftbacktest_spot_btcusdt_20240808.gz'),
  sharedDataFile('okx', 'cryptofeed_OKX.ws.1.0_20220513.txt'),
  sharedDataFile('kraken', 'python-kraken-sdk_orderbook-v2_btcusd_20230730.json'),
];
const SYMBOLS = 'BTC-USDT,BTC-USD';
/** `run md --data` publishes in the replay namespace; the engine is put there by config. */
const REPLAY = ['--set', 'bus.namespace=replay'];
const dataFlags = [...DATA.flatMap((f) => ['--data', f]), '--symbols', SYMBOLS];

interface BacktestJson {
  ticks: number;
  signals: number;
  signalDigest: string;
  streams: Array<{ venue: string; symbol: string; ticks: number; signals: number }>;
}
interface Drained {
  event: string;
  received: number;
  pushed: number;
  foreign: number;
  signals: number;
  signalDigest: string;
}

const running: KestrelProcess[] = [];
let nats: OwnNats | undefined;
let bus: NatsBus;
let reference: BacktestJson;

function jsonLine<T>(p: KestrelProcess, event: string): T {
  const l = p.stdout.find((x) => x.includes(`"event":"${event}"`));
  if (l === undefined) throw new Error(`no ${event} line; stdout: ${p.stdout.join('\n')}; stderr: ${p.stderr().slice(-1500)}`);
  return JSON.parse(l) as T;
}

function start(args: string[]): KestrelProcess {
  const p = kestrel([...args, '--set', `bus.nats_url=${nats!.url}`]);
  running.push(p);
  return p;
}

/** Every Signal published on replay.sig.> from now on, in arrival order. */
function collectSignals(): { list: Signal[]; stop(): void } {
  const list: Signal[] = [];
  const sub = bus.subscribe('replay.sig.>', (m) => void list.push(fromBinary(SignalSchema, m.data)));
  return { list, stop: () => sub.unsubscribe() };
}

function digestOf(signals: readonly Signal[]): string {
  const d = new StreamDigest();
  for (const s of signals) addSignal(d, s.venue, s);
  return d.hex();
}

async function replayThrough(engines: KestrelProcess[]): Promise<{ read: number; published: number; aggregated: number }> {
  for (const e of engines) await e.line(/"event":"ready"/, 120_000);
  const md = start(['run', 'md', ...dataFlags]);
  expect(await md.exited).toBe(0);
  return jsonLine<{ read: number; published: number; aggregated: number }>(md, 'replayed');
}

async function drain(p: KestrelProcess): Promise<Drained> {
  p.child.kill('SIGTERM');
  expect(await p.exited).toBe(0);
  return jsonLine<Drained>(p, 'drained');
}

const enabled = await startOwnNats().then((n) => ((nats = n), n !== undefined));

describe.skipIf(!enabled)('run md + run engine as processes over NATS', () => {
  let single: Signal[] = [];

  beforeAll(async () => {
    bus = await NatsBus.connect({ servers: nats!.url });
    const bt = kestrel(['backtest', ...dataFlags, '--json']);
    running.push(bt);
    expect(await bt.exited).toBe(0);
    reference = JSON.parse(bt.stdout.join('\n')) as BacktestJson;
  }, 180_000);

  afterAll(async () => {
    for (const p of running) await p.stop();
    await bus?.close();
    await nats?.stop();
  });

  it('publishes exactly the signals of `kestrel backtest --data`, in its order, from two processes', async () => {
    // Not vacuous: the recording makes the strategy trade, on three venues' streams.
    expect(reference.signals).toBeGreaterThan(5);
    expect(reference.streams.map((s) => s.venue).sort()).toEqual(['binance', 'kraken', 'okx']);
    const wire = collectSignals();
    let aggs = 0;
    const aggSub = bus.subscribe('replay.md.agg.>', () => void aggs++);
    const engine = start(['run', 'engine', ...REPLAY]);
    const md = await replayThrough([engine]);
    expect(md.published).toBe(reference.ticks);
    // The consolidated book goes out too (BTC-USDT on two venues), every message of it.
    expect(md.aggregated).toBeGreaterThan(0);
    await bus.flush();
    await until(() => aggs === md.aggregated, 10_000, 'every md.agg message');
    aggSub.unsubscribe();
    await until(() => wire.list.length >= reference.signals, 60_000, 'every signal on replay.sig.>');
    const out = await drain(engine);
    wire.stop();
    expect(out.received).toBe(reference.ticks);
    expect(out.pushed).toBe(reference.ticks);
    expect(out.signals).toBe(reference.signals);
    // What the engine process published, what crossed the wire, and what the backtest executed: one digest.
    expect(out.signalDigest).toBe(reference.signalDigest);
    expect(digestOf(wire.list)).toBe(reference.signalDigest);
    for (const s of wire.list) {
      expect(s.strategyId).toBe('core');
      expect(s.emitTsNs).toBeGreaterThan(0n);
      expect(s.sourceRecvTsNs).toBeGreaterThan(0n);
    }
    single = wire.list;
  }, 240_000);

  it('two engines on disjoint --symbols split the streams and together publish the same signals', async () => {
    expect(single.length).toBe(reference.signals);
    const wire = collectSignals();
    const usdt = start(['run', 'engine', '--symbols', 'BTC-USDT', ...REPLAY]);
    const usd = start(['run', 'engine', '--symbols', 'BTC-USD', ...REPLAY]);
    await replayThrough([usdt, usd]);
    await until(() => wire.list.length >= reference.signals, 60_000, 'every signal on replay.sig.>');
    const [a, b] = [await drain(usdt), await drain(usd)];
    wire.stop();
    const ticksOf = (symbol: string) => reference.streams.filter((s) => s.symbol === symbol).reduce((n, s) => n + s.ticks, 0);
    // Each engine subscribed to its own symbols only: nothing foreign reached it.
    expect([a.received, a.foreign]).toEqual([ticksOf('BTC-USDT'), 0]);
    expect([b.received, b.foreign]).toEqual([ticksOf('BTC-USD'), 0]);
    expect(a.signals + b.signals).toBe(reference.signals);
    // Per symbol, the same signals in the same order as the single engine (the backtest's order).
    for (const symbol of ['BTC-USDT', 'BTC-USD']) {
      const mine = wire.list.filter((s) => s.symbol === symbol);
      expect(digestOf(mine), symbol).toBe(digestOf(single.filter((s) => s.symbol === symbol)));
    }
    expect(a.signalDigest).toBe(digestOf(single.filter((s) => s.symbol === 'BTC-USDT')));
  }, 240_000);

  it('two `run md --shard i/2` processes split the symbols by hash; the engine downstream publishes the same signals', async () => {
    expect(single.length).toBe(reference.signals);
    const hasher = await loadHasher();
    const wire = collectSignals();
    const engine = start(['run', 'engine', ...REPLAY]);
    await engine.line(/"event":"ready"/, 120_000);
    const shards = [0, 1].map((i) => start(['run', 'md', ...dataFlags, '--shard', `${i}/2`]));
    for (const p of shards) expect(await p.exited).toBe(0);
    const published = shards.map((p) => jsonLine<{ published: number }>(p, 'replayed').published);
    // Each shard published exactly the ticks of the symbols its hash owns; together, every tick once.
    for (const i of [0, 1]) {
      const owned = reference.streams.filter((st) => shardFor(hasher, st.symbol, 2) === i).reduce((n, st) => n + st.ticks, 0);
      expect(published[i], `shard ${i}/2`).toBe(owned);
      expect(owned, `shard ${i}/2 owns a stream`).toBeGreaterThan(0);
    }
    expect(published[0]! + published[1]!).toBe(reference.ticks);
    await until(() => wire.list.length >= reference.signals, 60_000, 'every signal on replay.sig.>');
    const out = await drain(engine);
    wire.stop();
    expect(out.received).toBe(reference.ticks);
    // Per symbol one publisher, in order: the same signals as from one md process.
    for (const symbol of ['BTC-USDT', 'BTC-USD'])
      expect(digestOf(wire.list.filter((x) => x.symbol === symbol)), symbol).toBe(digestOf(single.filter((x) => x.symbol === symbol)));
  }, 240_000);

  it('co-located: `run engine --attach` reads the rings `run md --data --rings` writes, and publishes the same signals', async () => {
    expect(single.length).toBe(reference.signals);
    const shm = ['--set', `rings.shm_name=kestrel-test-colocated-${process.pid}`];
    const md = start(['run', 'md', ...dataFlags, '--rings', ...shm]);
    const replayed = await md.line(/"event":"replayed"/, 120_000);
    expect(JSON.parse(replayed.input) as { published: number }).toMatchObject({ published: reference.ticks });
    // The region outlives the replay until md is stopped: an engine attaching now finds every tick waiting.
    const wire = collectSignals();
    const engine = start(['run', 'engine', '--attach', ...REPLAY, ...shm]);
    const ready = JSON.parse((await engine.line(/"event":"ready"/, 120_000)).input) as { source: string; rings: number };
    expect(ready.source).toBe('rings');
    await until(() => wire.list.length >= reference.signals, 60_000, 'every signal on replay.sig.>');
    const out = await drain(engine);
    wire.stop();
    expect(out.received).toBe(reference.ticks);
    // One stream trades here, so ring order is tick order: the whole digest equals the backtest's.
    expect(out.signalDigest).toBe(reference.signalDigest);
    for (const symbol of ['BTC-USDT', 'BTC-USD'])
      expect(digestOf(wire.list.filter((x) => x.symbol === symbol)), symbol).toBe(digestOf(single.filter((x) => x.symbol === symbol)));
    md.child.kill('SIGTERM');
    expect(await md.exited).toBe(0);
  }, 240_000);
});
