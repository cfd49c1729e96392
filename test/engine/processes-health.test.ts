/**
 * `kestrel run md` on venue feeds (the simulators, as their own process) and `kestrel run engine` on
 * its md.norm: each answers /health/live, /health/ready and /metrics while it runs, md publishes
 * md.norm, md.agg, md.health and (--raw) the adapters' ticks, the engine consumes the ticks, and SIGTERM drains each with exit 0.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { NatsBus } from '../../src/bus/nats-bus.js';
import { kestrel, type KestrelProcess } from '../support/processes.js';
import { startOwnNats, type OwnNats } from '../support/nats-server.js';
import { eventually } from '../support/wait.js';

interface Announced {
  venue: string;
  wsUrl: string;
  restUrl: string;
}

const running: KestrelProcess[] = [];
let nats: OwnNats | undefined;
const enabled = await startOwnNats().then((n) => ((nats = n), n !== undefined));

afterAll(async () => {
  for (const p of running) await p.stop();
  await nats?.stop();
});

function start(args: string[]): KestrelProcess {
  const p = kestrel(args);
  running.push(p);
  return p;
}

/** One sample of a Prometheus text exposition (labels as written, e.g. `kind="received"`), or undefined. */
function sample(metrics: string, name: string, labels = ''): number | undefined {
  const line = metrics.split('\n').find((l) => (labels ? l.startsWith(`${name}{`) && l.includes(labels) : l.startsWith(`${name} `)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** The admin URL of a service's `{"event":"ready",...}` line. */
async function readyUrl(p: KestrelProcess): Promise<string> {
  await p.line(/"event":"ready"/, 120_000);
  return (JSON.parse(p.stdout.find((l) => l.includes('"event":"ready"'))!) as { adminUrl: string }).adminUrl;
}

async function get(url: string): Promise<{ status: number; text: string }> {
  const r = await fetch(url);
  return { status: r.status, text: await r.text() };
}

describe.skipIf(!enabled)('run md and run engine: health, metrics, SIGTERM drain', () => {
  it('serve health and metrics, publish md.norm/md.agg/md.health, and exit 0 on SIGTERM after draining', async () => {
    const sims = start(['run', 'simulators', '--venues', 'binance,okx', '--pace', 'accelerated', '--speed', '10']);
    await sims.line(/"service":"simulators"/, 60_000);
    const pub = Object.fromEntries(
      sims.stdout
        .filter((l) => l.startsWith('{"venue"'))
        .map((l) => JSON.parse(l) as Announced)
        .map((a) => [a.venue, a]),
    );
    const bus = await NatsBus.connect({ servers: nats!.url });
    const seen = { norm: 0, agg: 0, health: 0, raw: 0 };
    for (const k of ['norm', 'agg', 'health'] as const) bus.subscribe(`md.${k}.>`, () => void seen[k]++);
    // --raw: the adapters' ticks before the gates, md.{venue}.{symbol}.{book|trade}.
    for (const v of ['binance', 'okx']) bus.subscribe(`md.${v}.BTC-USDT.*`, () => void seen.raw++);
    await bus.flush();
    const natsSet = ['--set', `bus.nats_url=${nats!.url}`];
    const engine = start(['run', 'engine', '--symbols', 'BTC-USDT', ...natsSet]);
    const engineUrl = await readyUrl(engine);
    const md = start([
      'run',
      'md',
      '--venues',
      'binance,okx',
      '--symbols',
      'BTC-USDT',
      '--raw',
      ...natsSet,
      ...[
        `venues.binance.endpoints.public_ws=${pub.binance!.wsUrl}`,
        `venues.binance.endpoints.public_rest=${pub.binance!.restUrl}`,
        `venues.okx.endpoints.public_ws=${pub.okx!.wsUrl}`,
        `venues.okx.endpoints.public_rest=${pub.okx!.restUrl}`,
      ].flatMap((s) => ['--set', s]),
    ]);
    const mdUrl = await readyUrl(md);

    for (const url of [mdUrl, engineUrl]) expect((await get(`${url}/health/live`)).status).toBe(200);
    // Ready once both venues' feeds are connected (md) and the engine thread runs on a live bus (engine).
    await eventually(async () => (await get(`${mdUrl}/health/ready`)).status === 200, 60_000, 'md ready');
    expect((await get(`${engineUrl}/health/ready`)).status).toBe(200);
    await eventually(() => seen.norm > 50 && seen.agg > 0 && seen.health > 0, 60_000, 'md.norm, md.agg and md.health on NATS');
    await eventually(
      async () => (sample((await get(`${engineUrl}/metrics`)).text, 'kestrel_engine_process_messages', 'kind="pushed"') ?? 0) > 50,
      60_000,
      'the engine pushing md.norm ticks into its rings',
    );
    const mdMetrics = (await get(`${mdUrl}/metrics`)).text;
    expect(sample(mdMetrics, 'kestrel_ingest_ticks_accepted_total')).toBeGreaterThan(0);

    md.child.kill('SIGTERM');
    expect(await md.exited).toBe(0);
    const mdOut = JSON.parse(md.stdout.find((l) => l.includes('"drained"'))!) as {
      received: number;
      accepted: number;
      dropped: Record<string, number>;
      published: { norm: number };
    };
    // Drained: every accepted tick went out on md.norm (nothing held back in a mailbox).
    expect(mdOut.published.norm).toBe(mdOut.accepted);
    // The line balances: every tick received was accepted or dropped under a counted reason.
    expect(mdOut.received).toBe(mdOut.accepted + Object.values(mdOut.dropped).reduce((a, b) => a + b, 0));
    await bus.flush();
    // Every tick the adapters delivered went out raw, accepted or not.
    expect(seen.raw).toBe(mdOut.received);

    engine.child.kill('SIGTERM');
    expect(await engine.exited).toBe(0);
    const engOut = JSON.parse(engine.stdout.find((l) => l.includes('"drained"'))!) as { received: number; pushed: number; foreign: number };
    // Every tick md published for BTC-USDT reached the engine's rings before it exited.
    expect(engOut.pushed).toBe(engOut.received);
    expect(engOut.received).toBe(mdOut.published.norm);
    expect(engOut.foreign).toBe(0);
    await bus.close();
  }, 240_000);
});
