import { orderEntryContract } from './contract.js';

orderEntryContract('okx');
