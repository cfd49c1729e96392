export { AuditChain, AuditChainError, GENESIS_HASH, eventHash, verifyChain, type AuditInput } from './chain.js';
export { FileAuditSink, JetStreamAuditSink, type AuditSink, type JetStreamAuditOptions } from './sinks.js';
