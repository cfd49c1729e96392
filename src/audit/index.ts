export { AuditChain, AuditChainError, GENESIS_HASH, encodeEvent, eventHash, verifyChain, type AuditInput } from './chain.js';
export { AuditLog, pack, packRaw, type AuditHealth, type AuditLogOptions, type PayloadSource } from './audit-log.js';
export {
  FileAuditSink,
  JetStreamAuditSink,
  auditStreamName,
  parseAuditBytes,
  readAuditFile,
  type AuditFileRead,
  type AuditSink,
  type JetStreamAuditOptions,
} from './sinks.js';
export { AuditEventType, attachBusAudit, attachConfigAudit, attachExecutorAudit, configDiff, recordConfigChange } from './order-audit.js';
export { formatHistory, formatVerify, orderHistory, verifyAuditBytes, verifyAuditFile, verifyEvents, type VerifyResult } from './verify.js';
