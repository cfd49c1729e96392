/**
 * Market data as its own process (`kestrel run md`): the venue adapters (public WebSocket, REST
 * snapshots) → ingestion with its quality gates → md.norm.{venue}.{symbol}, md.agg.{symbol},
 * md.gap/md.anomaly on NATS, md.health.{venue} from the adapters (with --raw also the adapters' ticks
 * before the gates on md.{venue}.{symbol}.{book|trade}). With `--data PATH` it replays
 * recordings instead, read exactly as `kestrel backtest --data` reads them (src/replay/backtest.ts
 * openData: the real adapters and the real gates), publishing the accepted ticks on md.norm (and the
 * consolidated book on md.agg) in the backtest's order, so an engine process downstream decides what the backtest decides.
 * `--shard i/N` keeps the symbols whose jump hash (src/ingestion/hash.ts) is i: N processes split the
 * symbols, and going from N to N+1 moves about 1/(N+1) of them.
 */
import { monotonicMs } from '../clock/monotonic.js';
import { NatsBus } from '../bus/nats-bus.js';
import { natsSecurityFrom } from '../bus/nats-security.js';
import { systemClock } from '../clock/clock.js';
import { subjects, type Namespace } from '../contracts/subjects.js';
import { TickFlag, VENUES, type VenueName } from '../contracts/market.js';
import type { MarketDataSink } from '../venues/common/adapter-types.js';
import { TickRegion } from '../native/index.js';
import { ringName } from '../session/wiring.js';
import type { TickSink } from './types.js';
import { probeServer } from '../admin/server.js';
import { scrapedGauge } from '../observability/metrics.js';
import { createLogger, setLogLevel } from '../observability/logger.js';
import { openRefData } from '../refdata/index.js';
import { runAsEntryPoint, serviceMain } from '../cli/entry.js';
import { mdService } from '../cli/services.js';
import { listFlag, serviceConfig } from '../cli/service-config.js';
import { UsageError, type FlagValues } from '../cli/args.js';
import { endpointsOf, startVenueMarketData } from '../session/venue-market-data.js';
import { openData } from '../replay/backtest.js';
import type { Config } from '../config/schema.js';
import { loadHasher, shardFor } from './hash.js';
import { IngestionService } from './service.js';
import { qualityOptionsOf } from './quality.js';
import { CrossVenueBook } from './aggregate.js';
import { encodeTickProto } from './wire.js';

const log = createLogger('md');

/** Replay: a bus flush (one NATS round trip) every this many ticks bounds what waits in the client. */
const REPLAY_FLUSH_EVERY = 1024;
/** With --rate, the replay checks its pace (and sleeps) every this many published ticks. */
const PACE_EVERY = 50;

export function main(argv: readonly string[]): Promise<number> {
  return serviceMain(mdService, argv, run);
}

/** `--rate N` → ticks per second (a positive number), or undefined (as fast as the data reads). */
export function parseRate(v: FlagValues[string]): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--rate takes ticks per second > 0, got '${String(v)}'`);
  return n;
}

/** `--shard i/N` → [i, N], or undefined. */
export function parseShard(v: FlagValues[string]): { index: number; count: number } | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(String(v));
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index >= count) throw new UsageError(`--shard takes i/N with 0 <= i < N, got '${String(v)}'`);
  return { index, count };
}

export async function run(flags: FlagValues): Promise<number> {
  const venues = listFlag(flags.venues);
  const symbols = listFlag(flags.symbols);
  // Paths as given (a path may hold a comma), like `backtest --data`.
  const data = Array.isArray(flags.data) && flags.data.length > 0 ? flags.data : undefined;
  const shard = parseShard(flags.shard);
  const ratePerS = parseRate(flags.rate);
  if (ratePerS !== undefined && !data) throw new UsageError('--rate paces a --data replay');
  if (data && flags.raw === true)
    throw new UsageError("--raw publishes the adapters' ticks of venue feeds; a --data replay publishes md.norm and md.agg");
  // Recorded ticks on the live subjects would mark the live risk gateway's book: a replay is in the
  // replay namespace unless --set says otherwise (as `kestrel backtest` does).
  const config = serviceConfig(flags, {
    ...(data ? { bus: { namespace: 'replay' } } : {}),
    ...(venues || symbols ? { session: { ...(venues ? { venues } : {}), ...(symbols ? { symbols } : {}) } } : {}),
  });
  setLogLevel(config.logging.level);
  const ns = config.bus.namespace as Namespace;
  const hasher = await loadHasher();
  const owned = (symbol: string) => shard === undefined || shardFor(hasher, symbol, shard.count) === shard.index;

  const stopRequested = new Promise<'stop'>((resolve) => {
    process.once('SIGTERM', () => resolve('stop'));
    process.once('SIGINT', () => resolve('stop'));
  });
  const refdata = await openRefData(config.refdata.postgres_url || undefined);
  const bus = await NatsBus.connect({ servers: config.bus.nats_url, name: 'kestrel-md', security: natsSecurityFrom(config.bus) });
  const probes = probeServer();
  probes.addReadinessCheck('bus', () => !bus.connection.isClosed());
  let published = 0;
  let aggregated = 0;
  const stopMetrics = scrapedGauge(
    'md_replay_published',
    'Messages a `run md --data` replay published, by subject family',
    ['subject'],
    (g) => {
      g.set({ subject: 'md.norm' }, published);
      g.set({ subject: 'md.agg' }, aggregated);
    },
  );
  // Co-located engine (`run engine --attach`): the accepted ticks also go into rings on this host.
  const rings = flags.rings === true ? await ringsFor(config, refdata, data !== undefined, symbols, owned) : undefined;
  const ready = async (extra: Record<string, unknown>) => {
    const adminUrl = await probes.listen(config.services.md.admin_port, config.admin.host);
    process.stdout.write(`${JSON.stringify({ event: 'ready', service: 'md', adminUrl, namespace: ns, ...extra })}\n`);
  };
  try {
    if (data) {
      // --symbols filters the recording as `backtest --symbols` does; the shard filter comes on top.
      const market = await openData(config, { paths: data, ...(symbols ? { symbols } : {}) }, refdata);
      await ready({ mode: 'replay', inputs: market.inputs.map((x) => x.file), ...(shard ? { shard } : {}) });
      let stopped = false;
      void stopRequested.then(() => (stopped = true));
      const maxTicks = config.session.max_ticks;
      let read = 0;
      // md.agg as live ingestion keeps it (src/ingestion/aggregate.ts), over the gated ticks in replay order.
      const books = new Map<string, CrossVenueBook>();
      const stalenessNs = BigInt(Math.round(config.data_quality.staleness_threshold_ms * 1e6));
      // --rate: a replay long enough for an operator (or a chaos test) to act while it runs; paced
      // on the monotonic clock, in steps of PACE_EVERY ticks so the sleeps stay coarse.
      const pacedFrom = monotonicMs();
      replay: for await (const ticks of market.ticks) {
        for (const t of ticks) {
          if (stopped || (maxTicks > 0 && read >= maxTicks)) break replay;
          read++;
          if (!owned(t.symbol)) continue;
          bus.publish(subjects.mdNorm(t.venue, t.symbol, ns), encodeTickProto(t));
          rings?.push(t);
          let book = books.get(t.symbol);
          if (book === undefined) books.set(t.symbol, (book = new CrossVenueBook(t.symbol, stalenessNs)));
          const agg = book.update(t);
          if (agg !== undefined) {
            bus.publish(subjects.mdAgg(t.symbol, ns), encodeTickProto(agg));
            aggregated++;
          }
          if (++published % REPLAY_FLUSH_EVERY === 0) await bus.flush();
          if (ratePerS !== undefined && published % PACE_EVERY === 0) {
            const aheadMs = (published * 1000) / ratePerS - (monotonicMs() - pacedFrom);
            if (aheadMs > 0) await new Promise((r) => setTimeout(r, aheadMs));
          }
        }
      }
      if (!stopped && maxTicks === 0) market.finish();
      await bus.flush();
      process.stdout.write(`${JSON.stringify({ event: stopped ? 'drained' : 'replayed', service: 'md', read, published, aggregated })}\n`);
      // The region lives as long as md: an engine may attach to it after the replay ended.
      if (rings && !stopped) await stopRequested;
      return 0;
    }
    return await live(config, flags, { bus, refdata, probes, owned, stopRequested, ready, ns, ...(rings ? { rings } : {}) });
  } finally {
    rings?.close();
    stopMetrics();
    await probes.close();
    await refdata.close();
    await bus.close();
  }
}

async function live(
  config: Config,
  flags: FlagValues,
  o: {
    bus: NatsBus;
    refdata: Awaited<ReturnType<typeof openRefData>>;
    probes: ReturnType<typeof probeServer>;
    owned: (symbol: string) => boolean;
    stopRequested: Promise<'stop'>;
    ready: (extra: Record<string, unknown>) => Promise<void>;
    ns: Namespace;
    rings?: TickSink;
  },
): Promise<number> {
  const symbols = config.session.symbols.filter(o.owned);
  if (symbols.length === 0)
    throw new UsageError(
      `--shard ${String(flags.shard)} owns none of ${config.session.symbols.join(', ')}: give it more symbols or fewer shards`,
    );
  const ingestion = await IngestionService.create(
    {
      shards: config.flow_control.ingestion_shards,
      mailboxCapacity: config.flow_control.queue_sizes.market_data,
      quality: await qualityOptionsOf(config, o.refdata),
    },
    { bus: o.bus, namespace: o.ns, logger: log, ...(o.rings ? { sinks: [o.rings] } : {}) },
  );
  const vmd = await startVenueMarketData({
    venues: config.session.venues as VenueName[],
    symbols,
    endpoints: endpointsOf(config),
    refData: o.refdata,
    sink: flags.raw === true ? rawPublisher(o.bus, o.ns, ingestion) : ingestion,
    bus: o.bus,
    namespace: o.ns,
    clock: systemClock,
  }).catch((err: unknown) => {
    ingestion.stop();
    throw err;
  });
  o.probes.addReadinessCheck('feeds', () => vmd.stats().every((s) => s.connected));
  try {
    await o.ready({ mode: 'venues', venues: config.session.venues, symbols });
    await o.stopRequested;
  } finally {
    // Intake first (no new frame), then what ingestion holds goes out, then the bus.
    await vmd.stop();
    ingestion.stop();
    await o.bus.flush();
  }
  const st = ingestion.stats();
  process.stdout.write(
    // dropped (by reason, mailbox_full included) makes the line balance: received = accepted + dropped.
    `${JSON.stringify({ event: 'drained', service: 'md', received: st.received, accepted: st.accepted, dropped: st.dropped, published: st.published })}\n`,
  );
  return 0;
}

/**
 * `--raw`: every adapter tick, before the gates, on md.{venue}.{symbol}.{book|trade} (SPEC: the raw
 * venue ticks ingestion subscribes to), then on to ingestion.
 */
function rawPublisher(bus: NatsBus, ns: Namespace, ingestion: IngestionService): MarketDataSink {
  const subject = new Map<string, string>();
  return {
    onTick: (t) => {
      const channel = (t.flags & TickFlag.TRADE) !== 0 ? 'trade' : 'book';
      const key = `${t.venue}\u0000${t.symbol}\u0000${channel}`;
      let s = subject.get(key);
      if (s === undefined) subject.set(key, (s = subjects.mdRaw(t.venue, t.symbol, channel, ns)));
      bus.publish(s, encodeTickProto(t));
      ingestion.onTick(t);
    },
    onEvent: (e) => ingestion.onEvent(e),
  };
}

/**
 * The region `run engine --attach` reads: one ring per (venue, symbol) md may see (replay: every
 * instrument reference data knows, as the backtest; venues: session.venues × session.symbols), named
 * rings.shm_name, replaced if a previous md left one. Unlinked when md stops.
 */
async function ringsFor(
  config: Config,
  refdata: Awaited<ReturnType<typeof openRefData>>,
  replay: boolean,
  symbols: readonly string[] | undefined,
  owned: (symbol: string) => boolean,
): Promise<TickSink & { close(): void }> {
  const names: string[] = [];
  for (const venue of replay ? VENUES : (config.session.venues as VenueName[])) {
    for (const m of await refdata.mappings(venue)) {
      const name = ringName(venue, m.symbol);
      const wanted = replay ? symbols === undefined || symbols.includes(m.symbol) : config.session.symbols.includes(m.symbol);
      if (wanted && owned(m.symbol) && !names.includes(name)) names.push(name);
    }
  }
  const region = TickRegion.create({ name: config.rings.shm_name, symbols: names, tickCapacity: config.rings.capacity, replace: true });
  const ringOf = new Map(names.map((n, i) => [n, i]));
  let closed = false;
  return {
    name: 'rings',
    push: (t) => {
      const ring = ringOf.get(ringName(t.venue, t.symbol));
      if (ring !== undefined && !closed) region.pushNormalized(ring, t);
    },
    close: () => {
      if (closed) return;
      closed = true;
      region.unlink();
      region.close();
    },
  };
}

runAsEntryPoint(import.meta.url, 'market data failed', main);
