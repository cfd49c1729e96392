/**
 * The simulators authenticate like the venues: replayed Kraken nonces, Binance timestamps outside
 * recvWindow, stale OKX logins and unsigned or foreign-key requests are refused with the venue's
 * own errors. Raw sockets, not our clients, so the clients cannot mask a lax simulator.
 */
import { createHash, createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startPrivateVenues, TEST_CREDENTIALS, type PrivateVenues } from '../../../src/simulators/private/index.js';
import { binanceSignature } from '../../../src/venues/binance/order-entry.js';

let venues: PrivateVenues;
beforeAll(async () => {
  venues = await startPrivateVenues();
});
afterAll(async () => {
  await venues.stop();
});

function wsRequest(url: string, frame: unknown): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => ws.send(JSON.stringify(frame)));
    ws.once('message', (d: Buffer) => {
      resolve(JSON.parse(d.toString()) as Record<string, unknown>);
      ws.close();
    });
    ws.once('error', reject);
  });
}

describe('simulated venue authentication', () => {
  it('Kraken: a replayed nonce and a forged API-Sign are refused', async () => {
    const c = TEST_CREDENTIALS.kraken;
    const path = '/0/private/GetWebSocketsToken';
    const nonce = String(Date.now() * 1000);
    const body = `nonce=${nonce}`;
    const sign = createHmac('sha512', Buffer.from(c.apiSecret, 'base64'))
      .update(path)
      .update(
        createHash('sha256')
          .update(nonce + body)
          .digest(),
      )
      .digest('base64');
    const post = async (s: string) =>
      (await (
        await fetch(venues.kraken.url + path, {
          method: 'POST',
          headers: { 'API-Key': c.apiKey, 'API-Sign': s, 'Content-Type': 'application/x-www-form-urlencoded' },
          body,
        })
      ).json()) as { error: string[]; result?: { token: string } };
    const first = await post(sign);
    expect(first.error).toEqual([]);
    expect(first.result?.token).toBeTruthy();
    expect((await post(sign)).error).toEqual(['EAPI:Invalid nonce']);
    expect((await post(Buffer.alloc(64).toString('base64'))).error).toEqual(['EAPI:Invalid key']);
    // A WebSocket request without a valid token is refused.
    const r = await wsRequest(venues.kraken.wsUrl, { method: 'add_order', params: { token: 'forged' }, req_id: 1 });
    expect(r).toMatchObject({ success: false, error: 'EGeneral:Permission denied', req_id: 1 });
  });

  it('Binance: timestamp outside recvWindow (-1021), bad signature (-1022), unknown key (-2015)', async () => {
    const c = TEST_CREDENTIALS.binance;
    const base = { symbol: 'BTCUSDT', apiKey: c.apiKey, recvWindow: 5000 };
    const stale = { ...base, timestamp: Date.now() - 60_000 };
    const r1 = await wsRequest(venues.binance.wsUrl, {
      id: 1,
      method: 'openOrders.status',
      params: { ...stale, signature: binanceSignature(c.apiSecret, stale) },
    });
    expect((r1.error as { code: number }).code).toBe(-1021);
    const fresh = { ...base, timestamp: Date.now() };
    const r2 = await wsRequest(venues.binance.wsUrl, {
      id: 2,
      method: 'openOrders.status',
      params: { ...fresh, signature: binanceSignature('wrong', fresh) },
    });
    expect((r2.error as { code: number }).code).toBe(-1022);
    const r3 = await wsRequest(venues.binance.wsUrl, {
      id: 3,
      method: 'openOrders.status',
      params: { ...fresh, apiKey: 'nope', signature: 'x' },
    });
    expect((r3.error as { code: number }).code).toBe(-2015);
    const ok = await wsRequest(venues.binance.wsUrl, {
      id: 4,
      method: 'openOrders.status',
      params: { ...fresh, signature: binanceSignature(c.apiSecret, fresh) },
    });
    expect(ok).toMatchObject({ id: 4, status: 200, result: [] });
    // HMAC keys cannot log a session on (Ed25519 only).
    const lg = { apiKey: c.apiKey, timestamp: Date.now() };
    const r5 = await wsRequest(venues.binance.wsUrl, {
      id: 5,
      method: 'session.logon',
      params: { ...lg, signature: binanceSignature(c.apiSecret, lg) },
    });
    expect(r5.status).not.toBe(200);
  });

  it('OKX: a stale login timestamp and order ops before login are refused', async () => {
    const c = TEST_CREDENTIALS.okx;
    const ts = String(Math.floor(Date.now() / 1000) - 120);
    const sign = createHmac('sha256', c.apiSecret).update(`${ts}GET/users/self/verify`).digest('base64');
    const r1 = await wsRequest(venues.okx.wsUrl, {
      op: 'login',
      args: [{ apiKey: c.apiKey, passphrase: c.passphrase, timestamp: ts, sign }],
    });
    expect(r1).toMatchObject({ event: 'error', code: '60009' });
    const r2 = await wsRequest(venues.okx.wsUrl, {
      id: '7',
      op: 'order',
      args: [{ instId: 'BTC-USDT', side: 'buy', ordType: 'limit', px: '1', sz: '1', clOrdId: 'x1' }],
    });
    expect(r2).toMatchObject({ id: '7', code: '60011' });
    expect(venues.okx.receivedCounts().x1).toBeUndefined();
  });
});
