export * from './bus.js';
export { InProcessBus, type InProcessBusOptions } from './in-process-bus.js';
export { NatsBus, type NatsBusOptions } from './nats-bus.js';
