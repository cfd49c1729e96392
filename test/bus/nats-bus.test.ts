import { describe, it } from 'vitest';
import { NatsBus } from '../../src/bus/nats-bus.js';
import { NATS_URL, requireServer } from '../support/servers.js';
import { busContract } from './contract.js';
import { durableContract } from './durable-contract.js';

const available = await requireServer('NATS', NATS_URL.replace('nats:', 'http:'));

if (available) {
  busContract('NatsBus (real NATS server)', () => NatsBus.connect({ servers: NATS_URL, onHandlerError: () => {} }));
  durableContract('NatsBus (real NATS JetStream)', () => NatsBus.connect({ servers: NATS_URL, onHandlerError: () => {} }));
} else {
  describe('NatsBus (real NATS server)', () => {
    it.skip('NATS not reachable; run with CI=true to fail instead', () => {});
  });
}
