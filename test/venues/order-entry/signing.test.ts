/**
 * Known-answer tests of the venue signatures against the venues' own published examples, so the
 * simulator and the clients cannot agree on a wrong algorithm.
 */
import { systemClock } from '../../../src/clock/clock.js';
import { createSecretKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { binanceSignature } from '../../../src/venues/binance/order-entry.js';
import { KrakenOrderClient } from '../../../src/venues/kraken/order-entry.js';
import { OkxOrderClient } from '../../../src/venues/okx/order-entry.js';
import { createHmac } from 'node:crypto';

describe('venue request signing', () => {
  it('Binance WS API HMAC-SHA256 over the sorted params matches the documented example', () => {
    // Binance Spot API docs, "SIGNED request example (HMAC)".
    const secret = 'NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j';
    const params = {
      symbol: 'BTCUSDT',
      side: 'SELL',
      type: 'LIMIT',
      timeInForce: 'GTC',
      quantity: '0.01000000',
      price: '52000.00',
      newOrderRespType: 'ACK',
      recvWindow: 100,
      timestamp: 1645423376532,
      apiKey: 'vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A',
    };
    const expected = 'cc15477742bd704c29492d96c7ead9414dfd8e0ec4a00f947bb5bb454ddbd08a';
    expect(binanceSignature(secret, params)).toBe(expected);
    // The pre-built key object signs identically.
    expect(binanceSignature(createSecretKey(Buffer.from(secret)), params)).toBe(expected);
    expect(binanceSignature(secret, { ...params, price: '52000.01' })).not.toBe(expected);
  });

  it('Kraken API-Sign = HMAC-SHA512(path + SHA256(nonce + postdata)) matches the documented example', () => {
    // Kraken REST docs, "Authentication" example.
    const client = new KrakenOrderClient({
      clock: systemClock,
      wsUrl: 'ws://127.0.0.1:1/v2',
      restUrl: 'http://127.0.0.1:1',
      credentials: {
        apiKey: 'k',
        apiSecret: 'kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==',
      },
    });
    const sign = client.signRest(
      '/0/private/AddOrder',
      'nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25',
      '1616492376594',
    );
    expect(sign).toBe('4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ==');
  });

  it('OKX sign is base64 HMAC-SHA256 of timestamp + method + path', () => {
    const client = new OkxOrderClient({
      clock: systemClock,
      wsUrl: 'ws://127.0.0.1:1/ws/v5/private',
      credentials: { apiKey: 'k', apiSecret: 'okx-secret', passphrase: 'p' },
    });
    const text = '1538054050GET/users/self/verify';
    expect(client.sign(text)).toBe(createHmac('sha256', 'okx-secret').update(text).digest('base64'));
  });
});
