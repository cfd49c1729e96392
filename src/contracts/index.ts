/** The one contracts module: generated protobuf schemas, subjects, reject taxonomy, market types. */
export * from './gen/kestrel/v1/audit_pb.js';
export * from './gen/kestrel/v1/control_pb.js';
export * from './gen/kestrel/v1/errors_pb.js';
export * from './gen/kestrel/v1/market_pb.js';
export * from './gen/kestrel/v1/order_pb.js';
export * from './gen/kestrel/v1/position_pb.js';
export * from './gen/kestrel/v1/risk_pb.js';
export * from './gen/kestrel/v1/signal_pb.js';
export * from './gen/kestrel/v1/venue_pb.js';
export { subjects, patterns, headers, timeouts, token, SubjectError, type Namespace, type ControlFamily } from './subjects.js';
export { classify, rejectName, OrderRejectedError } from './rejects.js';
export { VENUES, VENUE_IDS, isVenue, toProto, fromProto, type NormalizedTick, type VenueName } from './market.js';
