/**
 * The venue-facing order-entry contract. The executor (src/execution/) codes against
 * `VenueOrderClient` only; each venue (Kraken WS v2, Binance WS API, OKX v5 private WS) implements
 * it over its authenticated WebSocket, and the simulators in src/simulators/private/ speak the same
 * wire protocols so tests and the default session exercise the real client code.
 *
 * Semantics every implementation guarantees:
 * - `place` resolves on the venue's acknowledgement of the request: NEW (accepted, resting or about
 *   to fill) or REJECTED with `rejectReason` mapped through the reject taxonomy. It never rejects the
 *   promise for a venue refusal; the promise rejects only with `VenueClientError` (transport down,
 *   timeout, malformed reply) — in which case the order state is UNKNOWN and the caller reconciles
 *   with `orderStatus`/`openOrders` before resending (never resend blindly: duplicate risk).
 * - Fills, partial fills, cancels and expiries arrive through `onUpdate` and only from the venue's
 *   private execution stream (never inferred from the request reply).
 * - `clientId` is the executor's idempotent id; it is carried in the venue's client-order-id field
 *   (Binance newClientOrderId, Kraken cl_ord_id, OKX clOrdId) after `venueClientId` mapping, and
 *   every OrderAck carries the original `clientId` back.
 */
import type { Clock } from '../../clock/clock.js';
import type { CancelRequest, OrderAck, OrderRequest, ReplaceRequest, VenueName } from '../../contracts/index.js';
import { RejectReason } from '../../contracts/index.js';
import { KestrelError } from '../../contracts/errors.js';

export type { CancelRequest, OrderAck, OrderRequest, ReplaceRequest, VenueName };

/** API credentials for one venue account. */
export interface VenueCredentials {
  readonly apiKey: string;
  /**
   * Binance: raw HMAC secret (ASCII). Kraken: base64 private key as issued. OKX: secret key (ASCII).
   */
  readonly apiSecret: string;
  /** OKX only: the API passphrase chosen at key creation. */
  readonly passphrase?: string;
  /**
   * Binance only: PKCS#8 PEM of an Ed25519 key registered for `apiKey`. When set, the client logs
   * the session on once (session.logon) and order requests carry no per-request signature.
   */
  readonly ed25519PrivateKeyPem?: string;
}

export interface VenueClientOptions {
  /** Private WebSocket URL (order entry + execution stream). */
  readonly wsUrl: string;
  /** Kraken only: REST base URL for GetWebSocketsToken (e.g. https://api.kraken.com or the simulator). */
  readonly restUrl?: string;
  readonly credentials: VenueCredentials;
  /**
   * Headers every private request carries, REST and the WebSocket upgrade (OKX demo trading:
   * `x-simulated-trading: 1`, from the endpoint preset, src/venues/endpoints.ts).
   */
  readonly extraHeaders?: Readonly<Record<string, string>>;
  /** Request timestamps and nonces, ack stamps, heartbeat liveness. */
  readonly clock: Clock;
  /** Per-request ack timeout; after it the order state is unknown and must be reconciled. Default 2000. */
  readonly requestTimeoutMs?: number;
  /** Reconnect the private stream automatically after a drop. Default true. */
  readonly autoReconnect?: boolean;
  /** Base reconnect delay (doubles up to 5 s). Default 100. */
  readonly reconnectDelayMs?: number;
  /**
   * WebSocket ping period; a connection that answered no ping for two periods is dead (half-open
   * TCP, frozen venue) and is dropped so new orders halt and the client reconnects. Default 5000.
   */
  readonly heartbeatMs?: number;
  /** Binance recvWindow in ms. Default 5000. */
  readonly recvWindowMs?: number;
  /**
   * Canonical symbols traded on this account. Binance and OKX can only look a closed order up per
   * symbol: `orderStatus` without a symbol hint tries each of these before answering undefined.
   */
  readonly symbols?: readonly string[];
}

export interface VenueOrderClient {
  readonly venue: VenueName;
  /** True while the authenticated private stream is up and subscribed to executions. */
  readonly connected: boolean;
  /** Connect, authenticate and subscribe the private execution stream. Rejects on auth failure. */
  connect(): Promise<void>;
  /** Close for good (no reconnect). */
  close(): Promise<void>;
  /** Resolves on the venue's ack: NEW, or REJECTED with rejectReason mapped. Fills come via onUpdate. */
  place(req: OrderRequest): Promise<OrderAck>;
  /** Resolves CANCELLED on success, or REJECTED (e.g. unknown order) with the mapped reason. */
  cancel(req: CancelRequest): Promise<OrderAck>;
  /** Amend price/quantity keeping the client id; resolves with the order's new state or REJECTED. */
  replace(req: ReplaceRequest): Promise<OrderAck>;
  /** Open orders as known by the venue (used for reconciliation after reconnect / restart). */
  openOrders(): Promise<OrderAck[]>;
  /**
   * Venue's view of one order (open or closed) by our client id; undefined when the venue never saw
   * it. `symbol` is needed by Binance and OKX to find a closed order the client has no memory of
   * (e.g. after a restart); without it only open orders can be found there.
   */
  orderStatus(clientId: string, symbol?: string): Promise<OrderAck | undefined>;
  /** Free balances per asset. */
  balances(): Promise<Record<string, number>>;
  /**
   * Every execution-stream update (NEW, PARTIAL, FILLED, CANCELLED, REJECTED). Quantities and
   * avg price are cumulative; `lastFillQty/lastFillPrice/fee` describe the fill this update reports
   * (fee = that fill's fee). Acks without a fill (lastFillQty = 0) carry the order's total fee.
   * Returns unsubscribe.
   */
  onUpdate(cb: (ack: OrderAck) => void): () => void;
  /** Private-stream up/down transitions. Returns unsubscribe. */
  onConnectionChange(cb: (connected: boolean) => void): () => void;
  /** Private-stream counters for VenueHealth (optional so test doubles need not implement it). */
  stats?(): PrivateStreamStats;
}

export interface PrivateStreamStats {
  /** Successful reconnects since the first connect. */
  readonly reconnects: number;
  /** Frames received on the private socket since the first connect. */
  readonly messages: number;
  /** Wall-clock ns of the last frame or pong (0 = none yet). */
  readonly lastHeartbeatNs: bigint;
  /**
   * Execution-stream messages about our orders whose numbers did not parse (NaN-ish, negative,
   * exponent or empty strings): never applied; the order's state was re-queried from the venue.
   */
  readonly protocolErrors: number;
}

/** Transport-level failure: the outcome of the request is unknown (not a venue refusal). */
export class VenueClientError extends KestrelError {
  override readonly name = 'VenueClientError';
  constructor(
    readonly venue: VenueName,
    override readonly code: 'DISCONNECTED' | 'TIMEOUT' | 'AUTH_FAILED' | 'PROTOCOL' | 'CLOSED',
    message: string,
    options?: ErrorOptions,
  ) {
    super(code, `${venue} ${code}: ${message}`, options);
  }
}

/** Map from a venue-specific error to the taxonomy, with the venue's own text kept as detail. */
export interface MappedReject {
  readonly reason: RejectReason;
  readonly detail: string;
}

/**
 * Client-id constraints per venue. The executor's ids must satisfy the intersection (see
 * `isPortableClientId`): [A-Za-z0-9], 1..32 chars works on all three venues.
 * - Binance newClientOrderId: ^[\.A-Z\:/a-z0-9_-]{1,36}$
 * - Kraken cl_ord_id: long UUID (8-4-4-4-12), short UUID (32 hex chars), or free text up to 18 ASCII chars
 * - OKX clOrdId: alphanumeric, 1..32 chars
 * Ids are sent unchanged. An id that does not fit a venue is refused locally (place resolves REJECTED,
 * reason UNKNOWN, detail 'client id ... not accepted by venue'); it is never truncated or rewritten,
 * since that would break idempotency and the mapping back to our id.
 */
export const CLIENT_ID_RULES: Readonly<Record<VenueName, RegExp>> = {
  binance: /^[.A-Z:/a-z0-9_-]{1,36}$/,
  kraken: /^(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[\x21-\x7e]{1,18})$/,
  okx: /^[A-Za-z0-9]{1,32}$/,
};

/** An id that every venue accepts unchanged: <=18 alphanumerics, or a 32-hex-char short UUID. */
export function isPortableClientId(id: string): boolean {
  return /^[A-Za-z0-9]{1,18}$/.test(id) || /^[0-9a-fA-F]{32}$/.test(id);
}
