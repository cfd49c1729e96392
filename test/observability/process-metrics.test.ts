/**
 * Issue 13 item 6, against real processes: `kestrel start`, `kestrel run executor`, `kestrel run
 * risk` and `kestrel run simulators` each serve /health/live, /health/ready and /metrics; every
 * kestrel_* metric that deploy/grafana/kestrel.json and deploy/prometheus/alerts.yml reference is
 * exported by at least one of them (scraped, not looked up in the source); /admin/drain ends the
 * session with its summary and exit 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create, toBinary } from '@bufbuild/protobuf';
import { parse as parseYaml } from 'yaml';
import { SignalSchema, Side, TickSchema, Urgency, subjects } from '../../src/contracts/index.js';
import { NatsBus } from '../../src/bus/nats-bus.js';
import { BinancePrivateSim } from '../../src/venues/binance/simulator/order-entry.js';
import { CREDS, RULES, tmpDir } from '../execution/harness.js';
import { LOOSE_RISK, privateEndpoints, writeServiceConfig } from '../support/service-config.js';
import { portOpen } from '../support/servers.js';
import { kestrel, repoRoot, type KestrelProcess } from '../support/processes.js';
import { eventually } from '../support/wait.js';

const TOKEN = 'metrics-test-token-0123456789';
const hasNatsServer = fs.existsSync('/usr/sbin/nats-server') || fs.existsSync('/usr/bin/nats-server');
const skip = !hasNatsServer && process.env.CI !== 'true';
if (skip) console.warn('[skip] process metrics test: no nats-server binary (set CI=true to fail instead)');

/** Metric names of a Prometheus text exposition that have a # TYPE line, with their type. */
function exported(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) out.set(m[1]!, m[2]!);
  return out;
}

/** Sample value of a series (first match of name{…labels…}), undefined when absent. */
function sample(text: string, series: RegExp): number | undefined {
  const m = new RegExp(`^${series.source}\\s+(\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

/** kestrel_* names in a dashboard or rule file, _bucket/_sum/_count of histograms reduced to the histogram. */
function referenced(text: string): string[] {
  return [...new Set([...text.matchAll(/\bkestrel_[a-z0-9_]*[a-z0-9]\b/g)].map((m) => m[0]))];
}

describe.skipIf(skip)('metrics and health on every process', () => {
  let nats: ChildProcess;
  let natsUrl: string;
  let bus: NatsBus;
  let sim: BinancePrivateSim;
  let dir: string;
  let tickTimer: NodeJS.Timeout;
  let signalTimer: NodeJS.Timeout;
  const procs: Record<'session' | 'executor' | 'risk' | 'simulators', { p: KestrelProcess; url: string }> = {} as never;

  beforeAll(async () => {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    // JetStream: the executor and risk processes keep acks and breaches in streams (src/bus/streams.ts).
    nats = spawn('nats-server', ['-js', '-sd', tmpDir('kestrel-nats-js-'), '-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !(await portOpen('127.0.0.1', port)); i++) await new Promise((r) => setTimeout(r, 50));
    natsUrl = `nats://127.0.0.1:${port}`;
    bus = await NatsBus.connect({ servers: natsUrl });
    dir = tmpDir('kestrel-metrics-');
    sim = await new BinancePrivateSim({
      symbols: [RULES],
      balances: { USDT: 1e9, BTC: 1e6 },
      credentials: CREDS,
      rateLimit: { limit: 0, windowMs: 1000 },
    }).start();
    sim.feedBook('BTC-USDT', [[100, 1e6]], [[100.1, 1e6]]);
    // Market data as ingestion publishes it: the executor's snapshots and the risk gateway's marks.
    tickTimer = setInterval(() => {
      const tick = create(TickSchema, {
        venue: 'binance',
        symbol: 'BTC-USDT',
        bid: 100,
        ask: 100.1,
        bidSize: 1e6,
        askSize: 1e6,
        recvTsNs: BigInt(Date.now()) * 1_000_000n,
      });
      bus.publish(subjects.mdNorm('binance', 'BTC-USDT', 'live'), toBinary(TickSchema, tick));
    }, 20);

    // One config for both processes, as a deployment gives them: each reads its own sections.
    const cfg = writeServiceConfig(path.join(dir, 'kestrel.yaml'), LOOSE_RISK, privateEndpoints('binance', sim.wsUrl, sim.url), {
      bus: { nats_url: natsUrl },
      risk: {
        max_order_notional: 1e7,
        position_limits: { per_symbol: 1e9, portfolio: 1e9 },
        var_limits: { max_var: 1e6, bar_ms: 100, min_bars: 2 },
      },
      execution: { wal_dir: path.join(dir, 'wal'), max_slippage_bps: 50, stale_snapshot_ms: 1000 },
      services: { executor: { reconcile_interval_ms: 0 } },
    });
    const riskCfg = cfg;
    const execCfg = cfg;
    const env = { KESTREL_ADMIN_TOKEN: TOKEN, KESTREL_BINANCE_API_KEY: CREDS.apiKey, KESTREL_BINANCE_API_SECRET: CREDS.apiSecret };
    const sims = kestrel(['run', 'simulators', '--venues', 'binance', '--pace', 'accelerated', '--speed', '20', '--no-wait'], env);
    const risk = kestrel(['run', 'risk', '--config', riskCfg], env);
    const executor = kestrel(['run', 'executor', '--config', execCfg], env);
    const session = kestrel(
      [
        'start',
        '--set',
        'session.speed=4',
        '--set',
        'admin.port=0',
        '--set',
        `execution.wal_dir=${path.join(dir, 'session-wal')}`,
        '--set',
        `audit.file=${path.join(dir, 'audit.log')}`,
        '--set',
        `storage.capture_dir=${path.join(dir, 'capture')}`,
      ],
      env,
    );
    const adminUrl = (p: KestrelProcess, re: RegExp) => p.line(re, 90_000).then((m) => m[1]!);
    const [simUrl, riskUrl, execUrl, sessionUrl] = await Promise.all([
      adminUrl(sims, /"service":"simulators","adminUrl":"([^"]+)"/),
      adminUrl(risk, /"event":"ready".*"adminUrl":"([^"]+)"/),
      adminUrl(executor, /"event":"ready".*"adminUrl":"([^"]+)"/),
      adminUrl(session, /kestrel: operator console (http:\/\/[^\s/]+)\//),
    ]);
    procs.simulators = { p: sims, url: simUrl };
    procs.risk = { p: risk, url: riskUrl };
    procs.executor = { p: executor, url: execUrl };
    procs.session = { p: session, url: sessionUrl };
    // Signals for the executor process: orders go out, the WAL commits, signal → wire is observed.
    let n = 0;
    signalTimer = setInterval(() => {
      n++;
      const s = create(SignalSchema, {
        strategyId: 'metrics',
        symbol: 'BTC-USDT',
        side: n % 2 ? Side.BUY : Side.SELL,
        size: 0.001,
        confidence: 0.9,
        ttlMs: 1000,
        maxSlippageBps: 50,
        urgency: Urgency.NORMAL,
        traceId: `metrics-${n}`,
        emitTsNs: BigInt(Date.now()) * 1_000_000n,
      });
      bus.publish(subjects.signal('metrics', 'BTC-USDT', 'live'), toBinary(SignalSchema, s));
    }, 50);
  }, 120_000);

  afterAll(async () => {
    clearInterval(tickTimer);
    clearInterval(signalTimer);
    for (const x of Object.values(procs)) await x?.p.stop();
    await bus?.close();
    await sim?.stop();
    nats?.kill('SIGTERM');
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const scrape = async (url: string) => {
    const r = await fetch(`${url}/metrics`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
    return r.text();
  };

  it('every process answers /health/live, /health/ready and /metrics', async () => {
    for (const [name, { url }] of Object.entries(procs)) {
      expect((await fetch(`${url}/health/live`)).status, `${name} live`).toBe(200);
      const ready = await eventually(
        async () => {
          const r = await fetch(`${url}/health/ready`);
          return r.status === 200 ? ((await r.json()) as { ready: boolean; checks: Record<string, boolean> }) : undefined;
        },
        30_000,
        `${name} ready`,
      );
      expect(ready.ready).toBe(true);
      expect(Object.keys(ready.checks).length, `${name} has readiness checks`).toBeGreaterThan(0);
      const text = await scrape(url);
      // Runtime metrics of the process itself (CPU, memory, event loop), from every process.
      expect(exported(text).get('kestrel_process_cpu_seconds_total'), name).toBe('counter');
    }
  }, 60_000);

  it('exports every metric the Grafana dashboard and the alert rules reference, with live samples', async () => {
    const dashboard = fs.readFileSync(path.join(repoRoot, 'deploy/grafana/kestrel.json'), 'utf8');
    const alertsText = fs.readFileSync(path.join(repoRoot, 'deploy/prometheus/alerts.yml'), 'utf8');
    // Both files are what Grafana and Prometheus load: valid JSON with panels, a rule group with alerts.
    const dash = JSON.parse(dashboard) as { panels: Array<{ targets: Array<{ expr: string }> }> };
    expect(dash.panels.length).toBeGreaterThan(8);
    const rules = (parseYaml(alertsText) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> }).groups.flatMap(
      (g) => g.rules,
    );
    expect(rules.map((r) => r.alert)).toEqual(
      expect.arrayContaining([
        'KestrelFeedStale',
        'KestrelBreakerOpen',
        'KestrelVarHigh',
        'KestrelWalFsyncSlow',
        'KestrelRejectsSpike',
        'KestrelSignalAccuracyDrift',
      ]),
    );

    // Let the session and the executor trade a little, so histograms and per-stream gauges have samples.
    const texts = await eventually(
      async () => {
        const t = Object.fromEntries(await Promise.all(Object.entries(procs).map(async ([k, { url }]) => [k, await scrape(url)] as const)));
        const ok =
          (sample(t.executor!, /kestrel_executor_signal_to_wire_seconds_count/) ?? 0) > 0 &&
          (sample(t.executor!, /kestrel_wal_fsync_seconds_count\{kind="commit"\}/) ?? 0) > 0 &&
          sample(t.session!, /kestrel_feed_last_message_age_seconds\{venue="binance",symbol="BTC-USDT"\}/) !== undefined &&
          sample(t.executor!, /kestrel_feed_last_message_age_seconds\{venue="binance",symbol="BTC-USDT"\}/) !== undefined;
        return ok ? t : undefined;
      },
      60_000,
      'orders through the executor process and ticks in the session',
    );

    const all = new Map<string, string>();
    for (const t of Object.values(texts)) for (const [k, v] of exported(t)) all.set(k, v);
    const missing: string[] = [];
    const names = [...referenced(dashboard), ...referenced(alertsText)];
    for (const name of names) {
      const base = name.replace(/_(bucket|sum|count)$/, '');
      const ok = all.has(name) || (base !== name && all.get(base) === 'histogram');
      if (!ok) missing.push(name);
    }
    expect(missing, 'referenced but exported by no process').toEqual([]);
    expect(names.length).toBeGreaterThan(15);

    // What each alert watches has a live sample in the process that owns it.
    expect(sample(texts.session!, /kestrel_ring_occupancy\{ring="binance:BTC-USDT"\}/)).toBeGreaterThanOrEqual(0);
    expect(sample(texts.session!, /kestrel_ring_drops_total\{ring="signals"\}/)).toBe(0);
    expect(sample(texts.session!, /kestrel_shadow_drift_threshold_ratio/)).toBeCloseTo(0.05, 9);
    expect(sample(texts.session!, /kestrel_circuit_state\{venue="binance"\}/)).toBe(0);
    expect(sample(texts.executor!, /kestrel_circuit_state\{venue="binance"\}/)).toBe(0);
    const varUse = sample(texts.risk!, /kestrel_risk_var_utilisation_ratio/);
    expect(varUse).toBeGreaterThanOrEqual(0);
    expect(varUse).toBeLessThan(1);
    expect(sample(texts.simulators!, /kestrel_simulator_clients\{venue="binance"\}/)).toBeGreaterThanOrEqual(0);
    // Feed age is the age of the newest tick: ticks arrive every 20 ms here.
    expect(sample(texts.executor!, /kestrel_feed_last_message_age_seconds\{venue="binance",symbol="BTC-USDT"\}/)).toBeLessThan(2);
  }, 120_000);

  it('/admin/drain ends the session: refused without the token, then summary and exit 0', async () => {
    const { p, url } = procs.session;
    expect((await fetch(`${url}/admin/drain`, { method: 'POST' })).status).toBe(401);
    const r = await fetch(`${url}/admin/drain`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(r.status).toBe(200);
    const code = await p.exited;
    expect(code, p.stderr().slice(-2000)).toBe(0);
    const out = p.stdout.join('\n');
    expect(out).toMatch(/drained\s+every order terminal/);
    expect(out).toMatch(/^kestrel paper session/m);
  }, 60_000);
});
