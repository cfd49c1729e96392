export { type Clock, SystemClock, VirtualClock, systemClock } from './clock.js';
