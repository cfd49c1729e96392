import { generateKeyPairSync } from 'node:crypto';
import { TEST_BINANCE_ED25519 } from '../../../src/simulators/private/index.js';
import { orderEntryContract } from './contract.js';

orderEntryContract('binance');

// Ed25519 key: one session.logon, then unsigned requests on the authenticated session.
const edCreds = { apiKey: TEST_BINANCE_ED25519.apiKey, apiSecret: '', ed25519PrivateKeyPem: TEST_BINANCE_ED25519.privateKeyPem };
const otherKey = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
orderEntryContract('binance', {
  label: 'ed25519',
  credentials: edCreds,
  wrongCredentials: { ...edCreds, ed25519PrivateKeyPem: otherKey },
});
