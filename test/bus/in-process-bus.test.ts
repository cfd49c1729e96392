import { InProcessBus } from '../../src/bus/in-process-bus.js';
import { busContract } from './contract.js';

busContract('InProcessBus', async () => new InProcessBus({ onHandlerError: () => {} }));
