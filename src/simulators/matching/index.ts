export * from './engine.js';
export * from './rate-limiter.js';
