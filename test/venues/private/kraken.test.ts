import { orderEntryContract } from './contract.js';

orderEntryContract('kraken');
