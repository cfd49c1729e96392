import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { KrakenSimulator } from '../../src/venues/kraken/simulator/market-data.js';
import { OkxSimulator } from '../../src/venues/okx/simulator/market-data.js';
import { BinanceSimulator } from '../../src/venues/binance/simulator/market-data.js';
import { parseFault } from '../../src/simulators/common/faults.js';
import { until } from '../support/wait.js';

let stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.reverse()) await s();
  stops = [];
});

function collect(url: string, onOpen: (ws: WebSocket) => void): { ws: WebSocket; msgs: string[] } {
  const ws = new WebSocket(url);
  const msgs: string[] = [];
  ws.on('message', (d) => msgs.push(d.toString()));
  ws.on('open', () => onOpen(ws));
  stops.push(async () => void ws.terminate());
  return { ws, msgs };
}

describe('venue simulators', () => {
  it('listen on 127.0.0.1 with an ephemeral port and expose their URLs', async () => {
    const k = await KrakenSimulator.create();
    const o = await OkxSimulator.create();
    stops.push(
      () => k.stop(),
      () => o.stop(),
    );
    expect(k.wsUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/v2$/);
    expect(o.wsUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/ws\/v5\/public$/);
    expect(k.wsUrl).not.toBe(o.wsUrl);
  });

  it('accepts faults over the HTTP control endpoint and refuses malformed ones with a typed reason', async () => {
    const sim = await KrakenSimulator.create();
    stops.push(() => sim.stop());
    const post = (body: string) =>
      fetch(`${sim.controlUrl}/fault`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    const ok = await post(JSON.stringify({ kind: 'gap', count: 2 }));
    expect(ok.status).toBe(200);
    expect((await fetch(`${sim.controlUrl}/stats`).then((r) => r.json())) as { faultsInjected: { gap: number } }).toMatchObject({
      faultsInjected: { gap: 1 },
    });
    for (const bad of ['{"kind":"meteor"}', '{"kind":"gap","count":-1}', 'not json', '[]', '{"kind":"slow","delayMs":"x"}']) {
      const r = await post(bad);
      expect(r.status, bad).toBe(400);
      expect(((await r.json()) as { ok: boolean }).ok).toBe(false);
    }
  });

  it('parseFault names what was wrong', () => {
    expect(() => parseFault({ kind: 'x' })).toThrow(/unknown fault kind/);
    expect(() => parseFault({ kind: 'stale', offsetMs: Infinity })).toThrow(/offsetMs/);
    expect(parseFault({ kind: 'stale', offsetMs: 10 })).toEqual({ kind: 'stale', offsetMs: 10 });
  });

  it('replays at original pace with the recording inter-arrival times', async () => {
    const sim = await KrakenSimulator.create();
    stops.push(() => sim.stop());
    const { msgs } = collect(sim.wsUrl, (ws) =>
      ws.send(JSON.stringify({ method: 'subscribe', params: { channel: 'book', symbol: ['BTC/USD'], depth: 10 } })),
    );
    const t0 = Date.now();
    await sim.start({ pace: 'original' });
    // The capture's first two updates are 1.686 s apart (15:29:58.343 → 15:30:00.029).
    await until(() => msgs.filter((m) => m.includes('"channel":"book","type":"update"')).length >= 2, 5000, 'two updates');
    const elapsed = Date.now() - t0;
    expect(elapsed).toBeGreaterThanOrEqual(1600);
    expect(elapsed).toBeLessThan(4000);
    // Exchange timestamps are rebased onto the live clock.
    const ts = (JSON.parse(msgs.find((m) => m.includes('"channel":"book","type":"update"'))!) as { data: Array<{ timestamp: string }> })
      .data[0]!.timestamp;
    expect(Math.abs(Date.parse(ts) - t0)).toBeLessThan(2000);
  });

  it('accelerated pace divides the recorded gaps by the speed', async () => {
    const sim = await KrakenSimulator.create();
    stops.push(() => sim.stop());
    collect(sim.wsUrl, (ws) =>
      ws.send(JSON.stringify({ method: 'subscribe', params: { channel: 'book', symbol: ['BTC/USD'], depth: 10 } })),
    );
    const t0 = Date.now();
    await sim.start({ pace: 'accelerated', speed: 25 });
    await sim.finished();
    // 51.4 s of recording at 25x ≈ 2.06 s.
    const elapsed = Date.now() - t0;
    expect(elapsed).toBeGreaterThan(1800);
    expect(elapsed).toBeLessThan(6000);
  });

  it('Kraken: answers subscribe with an ack and a checksummed snapshot; unknown pairs get an error', async () => {
    const sim = await KrakenSimulator.create();
    stops.push(() => sim.stop());
    const { msgs } = collect(sim.wsUrl, (ws) => {
      ws.send(JSON.stringify({ method: 'subscribe', params: { channel: 'book', symbol: ['BTC/USD', 'DOGE/EUR'], depth: 10 }, req_id: 7 }));
    });
    await until(() => msgs.length >= 4, 3000, 'replies');
    const parsed = msgs.map((m) => JSON.parse(m) as Record<string, unknown>);
    expect(parsed[0]).toMatchObject({ channel: 'status' });
    expect(parsed.find((p) => p.success === true)).toMatchObject({
      method: 'subscribe',
      req_id: 7,
      result: { channel: 'book', symbol: 'BTC/USD' },
    });
    expect(parsed.find((p) => p.type === 'snapshot')).toMatchObject({
      channel: 'book',
      data: [{ symbol: 'BTC/USD', checksum: 2785033588 }],
    });
    expect(parsed.find((p) => p.success === false)).toMatchObject({ method: 'subscribe' });
  });

  it('OKX: answers ping with pong and serves REST books with the seqId the stream continues from', async () => {
    const sim = await OkxSimulator.create({ protocol: 'seqid-only' });
    stops.push(() => sim.stop());
    const { msgs, ws } = collect(sim.wsUrl, (w) => {
      w.send('ping');
      w.send(JSON.stringify({ op: 'subscribe', args: [{ channel: 'books', instId: 'BTC-USDT' }] }));
    });
    await until(() => msgs.includes('pong'), 3000, 'pong');
    await sim.start({ pace: 'instant' });
    await sim.finished();
    const rest = (await fetch(`${sim.restUrl}/api/v5/market/books?instId=BTC-USDT&sz=5`).then((r) => r.json())) as {
      code: string;
      data: Array<{ seqId: number; bids: string[][] }>;
    };
    expect(rest.code).toBe('0');
    expect(rest.data[0]!.bids).toHaveLength(5);
    const updates = msgs
      .filter((m) => m.includes('"update"'))
      .map((m) => (JSON.parse(m) as { data: Array<{ seqId: number; prevSeqId: number; checksum: number }> }).data[0]!);
    expect(updates.length).toBe(97);
    // The chain is unbroken and checksums are retired in this protocol generation.
    for (let i = 1; i < updates.length; i++) expect(updates[i]!.prevSeqId).toBe(updates[i - 1]!.seqId);
    expect(updates.every((u) => u.checksum === 0)).toBe(true);
    expect(rest.data[0]!.seqId).toBe(updates.at(-1)!.seqId);
    ws.terminate();
    expect(() => sim.inject({ kind: 'badChecksum' })).toThrow(/cannot inject/);
  });

  it('Binance: REST depth answers with weight headers and 429 + Retry-After past the limit', async () => {
    const sim = await BinanceSimulator.create();
    stops.push(() => sim.stop());
    const r1 = await fetch(`${sim.restUrl}/api/v3/depth?symbol=BTCUSDT&limit=5000`);
    expect(r1.status).toBe(200);
    expect(r1.headers.get('x-mbx-used-weight-1m')).toBe('250');
    const body = (await r1.json()) as { lastUpdateId: number };
    expect(body.lastUpdateId).toBe(50093239218);
    let last = r1;
    for (let i = 0; i < 30 && last.status !== 429; i++) last = await fetch(`${sim.restUrl}/api/v3/depth?symbol=BTCUSDT&limit=5000`);
    expect(last.status).toBe(429);
    expect(Number(last.headers.get('retry-after'))).toBeGreaterThan(0);
    const bad = await fetch(`${sim.restUrl}/api/v3/depth?symbol=NOPE`);
    expect([400, 429]).toContain(bad.status);
  });
});
