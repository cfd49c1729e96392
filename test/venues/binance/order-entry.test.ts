import { generateKeyPairSync } from 'node:crypto';
import { TEST_BINANCE_ED25519 } from '../../../src/simulators/private/index.js';
import { describe, expect, it } from 'vitest';
import type { BinancePrivateSim } from '../../../src/simulators/private/index.js';
import { clientFor, orderEntryContract, startSim } from '../order-entry/contract.js';

orderEntryContract('binance');

// Ed25519 key: one session.logon, then unsigned requests on the authenticated session.
const edCreds = { apiKey: TEST_BINANCE_ED25519.apiKey, apiSecret: '', ed25519PrivateKeyPem: TEST_BINANCE_ED25519.privateKeyPem };
const otherKey = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
orderEntryContract('binance', {
  label: 'ed25519',
  credentials: edCreds,
  wrongCredentials: { ...edCreds, ed25519PrivateKeyPem: otherKey },
});

describe('binance serverShutdown notice', () => {
  it('the client reconnects at once instead of waiting for the venue to cut the connection', async () => {
    const sim = (await startSim('binance')) as BinancePrivateSim;
    const client = clientFor('binance', sim);
    await client.connect();
    const changes: boolean[] = [];
    client.onConnectionChange((up) => changes.push(up));
    try {
      sim.announceShutdown();
      await expect.poll(() => changes, { timeout: 3000 }).toEqual([false, true]);
      expect(client.connected).toBe(true);
    } finally {
      await client.close();
      await sim.stop();
    }
  });
});
