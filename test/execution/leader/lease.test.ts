/**
 * The leader lease on a real NATS JetStream KV: one holder at a time, epochs that only rise, a
 * clean release handed over at once, and above all a leader whose renewals fail (NATS stopped with
 * SIGSTOP: a partition) or whose process stalls longer than its lease stops sending before any
 * standby could acquire the key.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsBus } from '../../../src/bus/nats-bus.js';
import { monotonicMs } from '../../../src/clock/monotonic.js';
import { FencedBus, LeaderLease, LeaseLostError, type LeaderSettings, type LeaseLoss } from '../../../src/execution/leader/index.js';
import { createLogger } from '../../../src/observability/logger.js';
import { ConfigError, loadConfig } from '../../../src/config/load.js';
import { portOpen } from '../../support/servers.js';
import { tmpDir } from '../../support/tmp.js';

const log = createLogger('leader-test');
const SETTINGS: LeaderSettings = { enabled: true, key: 'acct', ttl_ms: 1500, renew_ms: 200, margin_ms: 500 };

let nats: ChildProcess;
let url: string;
const buses: NatsBus[] = [];

beforeAll(async () => {
  // Its own server: the partition test freezes it.
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  nats = spawn('nats-server', ['-js', '-sd', tmpDir('leader-nats'), '-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  for (let i = 0; i < 200 && !(await portOpen('127.0.0.1', port)); i++) await new Promise((r) => setTimeout(r, 25));
  url = `nats://127.0.0.1:${port}`;
});

afterAll(async () => {
  nats.kill('SIGCONT');
  for (const b of buses) await b.close().catch(() => undefined);
  nats.kill('SIGTERM');
});

async function connect(): Promise<NatsBus> {
  const b = await NatsBus.connect({ servers: url });
  buses.push(b);
  return b;
}

async function lease(key: string, holder: string, settings: Partial<LeaderSettings> = {}): Promise<{ lease: LeaderLease; bus: NatsBus }> {
  const bus = await connect();
  return {
    bus,
    lease: new LeaderLease({ nc: bus.connection, settings: { ...SETTINGS, key, ...settings }, namespace: 'live', holder, log }),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('leader lease (JetStream KV with TTL)', () => {
  it('refuses a config whose renewals do not fit inside the TTL', async () => {
    const bus = await connect();
    expect(
      () =>
        new LeaderLease({
          nc: bus.connection,
          settings: { ...SETTINGS, ttl_ms: 1000, renew_ms: 400, margin_ms: 300 },
          namespace: 'live',
          holder: 'x',
          log,
        }),
    ).toThrow(/must not exceed ttl_ms/);
  });

  it('run executor refuses a leader config that fails execution.leader validation', () => {
    const withLeader = (leader: object) => loadConfig({ env: {}, overrides: { execution: { leader } } });
    expect(withLeader(SETTINGS).execution.leader).toEqual(SETTINGS);
    expect(() => withLeader({ ...SETTINGS, renew_ms: 600 })).toThrow(ConfigError);
    expect(() => withLeader({ ...SETTINGS, key: 'a b' })).toThrow(/leader/);
  });

  it('grants one holder; the standby takes over with a higher epoch right after a clean release', async () => {
    const a = await lease('one', 'a');
    const b = await lease('one', 'b');
    expect(await a.lease.tryAcquire()).toBe(true);
    expect(a.lease.holds()).toBe(true);
    let standby = false;
    const bAcquired = b.lease.acquire({ onStandby: () => (standby = true) });
    // Several renewals go by: the key stays with a, b keeps standing by.
    await sleep(SETTINGS.ttl_ms * 1.5);
    expect(standby).toBe(true);
    expect(a.lease.holds()).toBe(true);
    expect(b.lease.holds()).toBe(false);
    const t0 = monotonicMs();
    await a.lease.release();
    const epoch = await bAcquired;
    const handover = monotonicMs() - t0;
    expect(a.lease.holds()).toBe(false);
    expect(b.lease.holds()).toBe(true);
    expect(epoch).toBeGreaterThan(a.lease.epoch);
    // The watch sees the delete: no waiting for the TTL, nor for a poll period.
    expect(handover).toBeLessThan(SETTINGS.renew_ms);
    await b.lease.release();
  });

  it('a leader whose key was taken over loses the lease on its next renewal', async () => {
    const a = await lease('taken', 'a');
    expect(await a.lease.tryAcquire()).toBe(true);
    const lost: LeaseLoss[] = [];
    a.lease.onLost((w) => lost.push(w));
    // An operator deletes the key and another executor takes it at once.
    const kv = await (await connect()).connection.jetstream().views.kv('KESTREL_LEADER_live');
    await kv.delete('taken');
    const b = await lease('taken', 'b');
    expect(await b.lease.tryAcquire()).toBe(true);
    await sleep(SETTINGS.renew_ms * 2 + 100);
    expect(lost).toEqual(['taken']);
    expect(a.lease.holds()).toBe(false);
    expect(b.lease.holds()).toBe(true);
    await b.lease.release();
  });

  it('a leader whose renewals fail (NATS partition) stops sending before its key can expire', async () => {
    const a = await lease('partition', 'a');
    expect(await a.lease.tryAcquire()).toBe(true);
    const inner = await connect();
    const fenced = new FencedBus(inner, a.lease);
    const lostAt: number[] = [];
    a.lease.onLost(() => lostAt.push(monotonicMs()));
    // Renewals succeed while NATS answers.
    await sleep(SETTINGS.ttl_ms);
    expect(a.lease.holds()).toBe(true);
    fenced.publish('ord.req.binance', new Uint8Array([1]));
    // Partition: the server stops answering. The last renewal that got through started at most
    // renew_ms (plus one round trip) before the freeze.
    const frozenAt = monotonicMs();
    nats.kill('SIGSTOP');
    try {
      let refusedAt = 0;
      while (refusedAt === 0 && monotonicMs() - frozenAt < SETTINGS.ttl_ms * 2) {
        try {
          fenced.publish('ord.req.binance', new Uint8Array([2]));
          await sleep(5);
        } catch (err) {
          expect(err).toBeInstanceOf(LeaseLostError);
          refusedAt = monotonicMs();
        }
      }
      expect(refusedAt, 'the fence never refused a send').toBeGreaterThan(0);
      expect(lostAt).toHaveLength(1);
      // Stopped within ttl − margin of the last good renewal, i.e. at least margin_ms (less the
      // round trip) before the server could drop the key for a standby.
      const afterFreeze = refusedAt - frozenAt;
      expect(afterFreeze).toBeLessThanOrEqual(SETTINGS.ttl_ms - SETTINGS.margin_ms + 50);
      expect(afterFreeze).toBeGreaterThanOrEqual(SETTINGS.ttl_ms - SETTINGS.margin_ms - SETTINGS.renew_ms - 100);
      expect(() => fenced.publish('ord.req.binance', new Uint8Array([3]))).toThrow(LeaseLostError);
      await expect(fenced.request('ord.req.binance', new Uint8Array([4]), { timeoutMs: 100 })).rejects.toThrow(LeaseLostError);
    } finally {
      nats.kill('SIGCONT');
    }
    // Once NATS is back the key expires by TTL and a standby gets a higher epoch.
    const b = await lease('partition', 'b');
    const epoch = await b.lease.acquire();
    expect(epoch).toBeGreaterThan(a.lease.epoch);
    await b.lease.release();
  }, 20_000);

  it('a leader stalled longer than its lease (GC pause) refuses its first send after waking, before any timer runs', async () => {
    const a = await lease('stall', 'a');
    expect(await a.lease.tryAcquire()).toBe(true);
    const inner = await connect();
    const watcher = await connect();
    const seen: number[] = [];
    watcher.subscribe('ord.req.>', (m) => void seen.push(m.data[0]!));
    await watcher.flush();
    const fenced = new FencedBus(inner, a.lease);
    const handled: number[] = [];
    fenced.subscribe('sig.>', (m) => void handled.push(m.data[0]!));
    await inner.flush();
    fenced.publish('ord.req.binance', new Uint8Array([1]));
    watcher.publish('sig.s.BTC-USDT', new Uint8Array([7]));
    await inner.flush();
    await sleep(100);
    // The event loop blocks for longer than the TTL: no renewal, no watchdog tick.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, SETTINGS.ttl_ms + 100);
    expect(() => fenced.publish('ord.req.binance', new Uint8Array([2]))).toThrow(LeaseLostError);
    // A signal arriving after the stall is dropped, not handled.
    watcher.publish('sig.s.BTC-USDT', new Uint8Array([8]));
    await watcher.flush();
    await sleep(200);
    expect(seen).toEqual([1]);
    expect(handled).toEqual([7]);
  });
});
