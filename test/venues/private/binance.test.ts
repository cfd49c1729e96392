import { orderEntryContract } from './contract.js';

orderEntryContract('binance');
