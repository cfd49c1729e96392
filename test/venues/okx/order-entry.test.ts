import { orderEntryContract } from '../order-entry/contract.js';

orderEntryContract('okx');
