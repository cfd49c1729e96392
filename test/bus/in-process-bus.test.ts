import { InProcessBus } from '../../src/bus/in-process-bus.js';
import { busContract } from './contract.js';
import { durableContract } from './durable-contract.js';

busContract('InProcessBus', async () => new InProcessBus({ onHandlerError: () => {} }));
durableContract('InProcessBus', async () => new InProcessBus({ onHandlerError: () => {} }));
