/**
 * Chaos: the executor runs as a child process (src/execution/main.ts) against a simulated private
 * venue (Binance, OKX and Kraken: three wire protocols and status-query paths), which lives in this
 * process and outlives every executor. Each round starts the
 * executor (recovering from the previous round's WAL), fires a burst of signals over NATS and
 * SIGKILLs the executor in the middle of it; after each restart the last signals before the kill
 * are published again (same trace ids, fresh timestamps, as a strategy re-signalling would). A final
 * executor run in report mode recovers, settles and reports. Then: no client id reached the venue
 * twice, and no two venue orders carry the same content (every signal has a unique size, so a
 * re-executed signal shows up at the venue whatever its client id); the re-sent signals hit the
 * trace-id dedupe; kills landed mid-order (recovery found orders in doubt and resolved them); nonces
 * rose monotonically across every restart; every order the venue saw is known to the executor with
 * the venue's fill; nothing is left in doubt; positions equal the venue's balance changes.
 *
 * Kill times come from a seeded generator: the seed is printed, and KESTREL_CHAOS_SEED=<seed>
 * replays the same schedule.
 *
 * Uses a private nats-server on a random port so that no other suite's gateway or signals interfere.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create, toBinary } from '@bufbuild/protobuf';
import { SignalSchema, Side, TickSchema, Urgency, subjects } from '../../src/contracts/index.js';
import { NatsBus } from '../../src/bus/nats-bus.js';
import { StaticRiskGateway } from '../../src/risk/static-gateway.js';
import { systemClock } from '../../src/clock/clock.js';
import { BinancePrivateSim } from '../../src/venues/binance/simulator/order-entry.js';
import { OkxPrivateSim } from '../../src/venues/okx/simulator/order-entry.js';
import { KrakenPrivateSim } from '../../src/venues/kraken/simulator/order-entry.js';
import { TEST_CREDENTIALS, symbolRulesFor } from '../../src/simulators/private/venues.js';
import type { PrivateVenueSim } from '../../src/simulators/private/core.js';
import { ACCOUNT } from '../../src/simulators/private/core.js';
import { portOpen } from '../support/servers.js';
import { LOOSE_RISK, privateEndpoints, writeServiceConfig } from '../support/service-config.js';
import { CREDS, tmpDir } from './harness.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const ROUNDS = 4;
/** Signals of the previous round published again after each restart. */
const RESEND = 80;
const SEED = process.env.KESTREL_CHAOS_SEED ? Number(process.env.KESTREL_CHAOS_SEED) : Math.floor(Math.random() * 2 ** 31);
console.log(`chaos seed ${SEED} (replay with KESTREL_CHAOS_SEED=${SEED})`);

/** mulberry32: small, seedable, good enough to spread kill times. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const PREFIX = 'CH';
const INITIAL = { USDT: 1e9, USD: 1e9, BTC: 1e6 };

interface Report {
  event: 'report';
  recovery: { inDoubt: number; adopted: number; failed: number; orphansCancelled: number };
  orders: Array<{ clientId: string; nonce: string; state: string; inDoubt: boolean; filled: number }>;
  positions: Array<{ venue: string; symbol: string; quantity: number }>;
  balanceMismatches: unknown[];
}

const hasNatsServer = fs.existsSync('/usr/sbin/nats-server') || fs.existsSync('/usr/bin/nats-server');
// Under CI a missing nats-server is a failure (the spawn below fails loudly), never a silent skip.
const skip = !hasNatsServer && process.env.CI !== 'true';
if (skip) console.warn('[skip] chaos test: no nats-server binary (set CI=true to fail instead)');

// Each venue trades its BTC instrument as reference data (the seed) knows it: Kraken quotes BTC
// against USD. The simulator enforces that venue's rules from the same seed (symbolRulesFor), so the
// executor's venue spec and the venue agree as they would in production.
const VENUES = [
  {
    venue: 'binance' as const,
    symbol: 'BTC-USDT',
    creds: CREDS,
    make: (o: ConstructorParameters<typeof BinancePrivateSim>[0]) => new BinancePrivateSim(o),
  },
  {
    venue: 'okx' as const,
    symbol: 'BTC-USDT',
    creds: { apiKey: 'okx-key', apiSecret: 'okx-secret', passphrase: 'okx-pass' },
    make: (o: ConstructorParameters<typeof OkxPrivateSim>[0]) => new OkxPrivateSim(o),
  },
  {
    venue: 'kraken' as const,
    symbol: 'BTC-USD',
    creds: TEST_CREDENTIALS.kraken,
    make: (o: ConstructorParameters<typeof KrakenPrivateSim>[0]) => new KrakenPrivateSim(o),
  },
];

function venueCredentialEnv(venue: string, c: { apiKey: string; apiSecret: string; passphrase?: string }): Record<string, string> {
  const p = `KESTREL_${venue.toUpperCase()}_`;
  return { [`${p}API_KEY`]: c.apiKey, [`${p}API_SECRET`]: c.apiSecret, ...(c.passphrase ? { [`${p}PASSPHRASE`]: c.passphrase } : {}) };
}

describe.skipIf(skip).each(VENUES)(
  'executor chaos on $venue ($symbol): SIGKILL mid-burst, restart, reconcile',
  ({ venue: venueName, symbol, creds, make }) => {
    const rules = symbolRulesFor(venueName).find((r) => r.symbol === symbol)!;
    const random = rng(SEED + VENUES.findIndex((v) => v.venue === venueName));
    let nats: ChildProcess;
    let port: number;
    let bus: NatsBus;
    let sim: PrivateVenueSim;
    let dir: string;
    let tickTimer: NodeJS.Timeout;
    let risk: StaticRiskGateway;

    beforeAll(async () => {
      port = 20_000 + Math.floor(Math.random() * 20_000);
      // JetStream: the executor and risk processes keep acks and breaches in streams (src/bus/streams.ts).
      nats = spawn('nats-server', ['-js', '-sd', tmpDir('kestrel-nats-js-'), '-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
      for (let i = 0; i < 100 && !(await portOpen('127.0.0.1', port)); i++) await new Promise((r) => setTimeout(r, 50));
      bus = await NatsBus.connect({ servers: `nats://127.0.0.1:${port}` });
      // risk.check answered by a notional-cap gateway in this process: it outlives every executor kill.
      risk = new StaticRiskGateway(bus, { perSymbolNotional: 1e12, portfolioNotional: 1e13, maxOrderNotional: 1e9 }, 'live', {
        clock: systemClock,
      });
      risk.start();
      dir = tmpDir('kestrel-chaos-');
      sim = await make({
        symbols: [rules],
        balances: { ...INITIAL },
        credentials: creds,
        rateLimit: { limit: 0, windowMs: 1000 },
        journalPath: path.join(dir, 'venue-journal.jsonl'),
      }).start();
      sim.feedBook(symbol, [[100, 1e6]], [[100.1, 1e6]]);
      // Market data for the executor's snapshots (staleness guard), as ingestion would publish it.
      const tick = create(TickSchema, { venue: venueName, symbol, bid: 100, ask: 100.1, bidSize: 1e6, askSize: 1e6 });
      const bytes = toBinary(TickSchema, tick);
      tickTimer = setInterval(() => bus.publish(subjects.mdNorm(venueName, symbol, 'live'), bytes), 20);
    });

    afterAll(async () => {
      clearInterval(tickTimer);
      risk?.stop();
      await bus?.close();
      await sim?.stop();
      nats?.kill('SIGTERM');
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    /** The one config (YAML overlay); report mode is the --report flag. The baseline is the WAL's baseline.json. */
    function writeConfig(): string {
      fs.mkdirSync(path.join(dir, 'wal'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'wal', 'baseline.json'), JSON.stringify({ [venueName]: { BTC: INITIAL.BTC } }));
      return writeServiceConfig(path.join(dir, 'kestrel.yaml'), LOOSE_RISK, privateEndpoints(venueName, sim.wsUrl, sim.url), {
        session: { venues: [venueName] },
        bus: { nats_url: `nats://127.0.0.1:${port}` },
        execution: {
          wal_dir: path.join(dir, 'wal'),
          wal_rotation_bytes: 256 * 1024, // several rotations during the test
          client_id_prefix: PREFIX,
          nonce_block: 50,
          max_slippage_bps: 50,
          stale_snapshot_ms: 1000,
          concurrency: { global_max_inflight: 64, per_symbol_max_inflight: 64, per_venue_max_inflight: { [venueName]: 64 } },
        },
        flow_control: { queue_sizes: { signals: 200 } },
      });
    }

    function startChild(
      configPath: string,
      report = false,
    ): {
      child: ChildProcess;
      ready: Promise<unknown>;
      lines: string[];
      exited: Promise<number | null>;
      stderr: () => string;
    } {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', path.join(repoRoot, 'src/execution/main.ts'), '--config', configPath, ...(report ? ['--report'] : [])],
        {
          cwd: repoRoot,
          // Venue keys reach the executor through the environment only (never its config file).
          env: { ...process.env, ...venueCredentialEnv(venueName, creds), KESTREL_LOG_LEVEL: 'error', KESTREL_EXECUTOR_STATS: '1' },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      const lines: string[] = [];
      let buf = '';
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const ready = new Promise<unknown>((resolve, reject) => {
        child.stdout!.on('data', (d: Buffer) => {
          buf += d.toString();
          let nl;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            lines.push(line);
            if (line.includes('"event":"ready"')) resolve(JSON.parse(line));
          }
        });
        child.once('exit', (code) => reject(new Error(`executor exited (${code}) before ready: ${stderr.slice(-2000)}`)));
        child.once('exit', () => process.env.CHAOS_DEBUG && console.log(stderr.slice(0, 1500)));
      });
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      return { child, ready, lines, exited, stderr: () => stderr };
    }

    it('never duplicates, keeps nonces monotonic, reconciles every order and matches venue positions', async () => {
      const cfgPath = writeConfig();
      let published = 0;
      const recoveries: Array<{ inDoubt: number; adopted: number; failed: number }> = [];
      let dedupedResends = 0;
      let lastRound: number[] = [];
      let resendSeen = 0;
      /** Signal numbers the venue received an order for (the order's quantity names its signal). */
      const seenAtVenue = (): Set<number> => {
        const out = new Set<number>();
        for (const [id, c] of Object.entries(sim.snapshot().received)) {
          const o = c.place > 0 ? sim.engine.findByClientId(ACCOUNT, id) : undefined;
          if (o) out.add(Math.round(o.qty * 10_000) - 10);
        }
        return out;
      };
      const signalBytes = (n: number) =>
        toBinary(
          SignalSchema,
          create(SignalSchema, {
            strategyId: 'chaos',
            symbol,
            side: n % 3 === 0 ? Side.SELL : Side.BUY,
            // Unique per signal (0.0001 lot steps): a venue order's content names its signal.
            size: (10 + n) / 10_000,
            confidence: 0.9,
            ttlMs: 500,
            maxSlippageBps: 50,
            urgency: Urgency.NORMAL,
            traceId: `chaos-${n}`,
            emitTsNs: BigInt(Date.now()) * 1_000_000n,
          }),
        );
      const killTimes: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const { child, ready, exited, stderr } = startChild(cfgPath);
        recoveries.push(((await ready) as { recovery: { inDoubt: number; adopted: number; failed: number } }).recovery);
        // The strategy re-signals what it sent just before the crash (fresh timestamps, same trace
        // ids): what the WAL holds must be refused as duplicate, the rest executes once.
        const resend = lastRound;
        for (const n of resend) bus.publish(subjects.signal('chaos', symbol, 'live'), signalBytes(n));
        const thisRound: number[] = [];
        // Burst: 40 signals every 5 ms until the (seeded) kill lands somewhere in the middle of it.
        const killAfter = 300 + Math.floor(random() * 900);
        killTimes.push(killAfter);
        const t0 = Date.now();
        await new Promise<void>((resolve) => {
          const timer = setInterval(() => {
            for (let i = 0; i < 40; i++) {
              published++;
              thisRound.push(published);
              bus.publish(subjects.signal('chaos', symbol, 'live'), signalBytes(published));
            }
            if (Date.now() - t0 >= killAfter) {
              clearInterval(timer);
              child.kill('SIGKILL');
              resolve();
            }
          }, 5);
        });
        await exited;
        const stats = stderr()
          .split('\n')
          .filter((l) => l.startsWith('{"counters"'))
          .at(-1);
        if (resend.length > 0) {
          expect(stats, 'no counters from the executor').toBeDefined();
          const dups = (JSON.parse(stats!) as { counters: { duplicates: number } }).counters.duplicates;
          // Every re-sent signal the venue had already seen was refused by trace id.
          expect(dups, `round ${round}: re-sent signals seen at the venue not refused as duplicates`).toBeGreaterThanOrEqual(resendSeen);
          dedupedResends += dups;
        }
        // Next round re-sends the last signals the venue saw (their intents were durable before the
        // send, so the WAL must know them) and the last ones published (maybe never processed).
        const seen = seenAtVenue();
        const seenThisRound = thisRound.filter((n) => seen.has(n)).slice(-RESEND / 2);
        resendSeen = seenThisRound.length;
        lastRound = [...new Set([...seenThisRound, ...thisRound.slice(-RESEND / 2)])];
      }
      expect(published).toBeGreaterThan(1000);

      const { ready, lines, exited } = startChild(cfgPath, true);
      await ready;
      await exited;
      const report = JSON.parse(lines.find((l) => l.includes('"event":"report"'))!) as Report;

      // 1. No client id was ever placed twice at the venue.
      const venue = sim.snapshot();
      expect(venue.duplicates).toEqual([]);
      const receivedIds = Object.keys(venue.received).filter((id) => venue.received[id]!.place > 0);
      expect(receivedIds.length).toBeGreaterThan(100);

      // 1b. Duplicates by venue-side content, whatever the client id: every signal has its own size,
      //     so two venue orders with the same side and quantity are one signal executed twice.
      const byContent = new Map<string, Array<{ clientId: string; price: number; createdMs: number }>>();
      for (const id of receivedIds) {
        const o = sim.engine.findByClientId(ACCOUNT, id);
        if (!o) continue; // refused before it reached the book
        // The venue got exactly the signal's size (0.0001 steps): no lot-step flooring lost a step.
        expect(o.qty, `${id} quantity`).toBe(Math.round(o.qty * 10_000) / 10_000);
        const key = `${o.side}:${o.qty.toFixed(4)}`;
        const list = byContent.get(key) ?? [];
        list.push({ clientId: id, price: o.price, createdMs: o.createdMs });
        byContent.set(key, list);
      }
      expect(byContent.size).toBeGreaterThan(100);
      expect([...byContent].filter(([, l]) => l.length > 1)).toEqual([]);

      // 1c. Re-sent signals were refused by the trace-id dedupe (the WAL knew them), not re-executed.
      expect(dedupedResends, 'no re-sent signal reached the trace-id dedupe').toBeGreaterThan(0);

      // 1d. The kills landed mid-order: some restart found orders without a final venue answer in its
      //     WAL and resolved them with the venue (adopted or failed), else this run proved nothing.
      const afterKills = [...recoveries.slice(1), report.recovery];
      const inDoubtAtRestart = afterKills.reduce((a, r) => a + r.inDoubt, 0);
      const resolved = afterKills.reduce((a, r) => a + r.adopted + r.failed, 0);
      expect(inDoubtAtRestart, `kill times ${killTimes.join(',')} (seed ${SEED}) never hit an order in flight`).toBeGreaterThan(0);
      expect(resolved).toBeGreaterThan(0);

      // 2. Nonces strictly increase in the order the venue received them, across every restart.
      const journal = fs
        .readFileSync(path.join(dir, 'venue-journal.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { kind: string; clientId: string })
        .filter((r) => r.kind === 'place');
      // Client ids: prefix, instance id (4), venue digit, base36 nonce.
      const nonces = journal.map((r) => BigInt(parseInt(r.clientId.slice(PREFIX.length + 5), 36)));
      for (let i = 1; i < nonces.length; i++) expect(nonces[i]! > nonces[i - 1]!).toBe(true);

      // 3. Every order is reconciled: nothing open or in doubt; the venue's orders are all known with
      //    the venue's fill; orders the executor marked FAILED never reached the venue.
      const byId = new Map(report.orders.map((o) => [o.clientId, o]));
      for (const o of report.orders) {
        expect(o.inDoubt, o.clientId).toBe(false);
        expect(['FILLED', 'CANCELLED', 'REJECTED', 'FAILED'], `${o.clientId} ${o.state}`).toContain(o.state);
      }
      for (const id of receivedIds) {
        const ours = byId.get(id);
        expect(ours, `venue order ${id} unknown to the executor`).toBeDefined();
        const theirs = sim.engine.findByClientId(ACCOUNT, id);
        expect(ours!.filled, `${id} ours ${JSON.stringify(ours)} venue ${JSON.stringify(theirs)}`).toBeCloseTo(theirs?.filled ?? 0, 9);
      }
      for (const o of report.orders) if (o.state === 'FAILED') expect(venue.received[o.clientId], o.clientId).toBeUndefined();

      // 4. Positions equal the venue's balances.
      const btc = venue.balances['BTC']!;
      const venueDelta = btc.free + btc.locked - INITIAL.BTC;
      const ours = report.positions.filter((p) => p.symbol === symbol).reduce((a, p) => a + p.quantity, 0);
      expect(ours).toBeCloseTo(venueDelta, 9);
      expect(report.balanceMismatches).toEqual([]);
      console.log(
        `chaos ${venueName} (seed ${SEED}, kills at ${killTimes.join('/')} ms): ${ROUNDS} kills, ${published} signals, ${dedupedResends} re-sent signals deduped, ${receivedIds.length} orders at venue, ${report.orders.length} in WAL, ` +
          `recoveries ${JSON.stringify([...recoveries, report.recovery])}, position ${ours.toFixed(4)} BTC`,
      );
    }, 180_000);
  },
);
