/**
 * Shared machinery of the simulated private venues: one HTTP server per venue that serves the
 * venue's private WebSocket (upgrade), its REST endpoints, and a control API (`/__sim/*`) used by
 * tests, the chaos harness and the default session. Backed by the deterministic matching engine.
 *
 * The simulator records every order-entry request it receives per client id (optionally journaled
 * to a file so the record survives a simulator restart too); the executor's WAL/chaos test asks it
 * whether any client id was placed twice.
 */
import { monotonicNs } from '../../clock/monotonic.js';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, WebSocket } from 'ws';
import {
  EngineReject,
  MatchingEngine,
  type EngineMode,
  type EngineRejectCode,
  type ExecEvent,
  type Level,
  type Side,
  type SimOrder,
  type SymbolRules,
} from '../matching/engine.js';
import { RateLimiter } from '../matching/rate-limiter.js';
import { systemClock, type Clock } from '../../clock/clock.js';

export interface SimCredentials {
  readonly apiKey: string;
  readonly apiSecret: string;
  readonly passphrase?: string;
  /** Binance: an Ed25519 API key and its public key (PEM), accepted besides the HMAC key. */
  readonly ed25519?: { readonly apiKey: string; readonly publicKeyPem: string };
}

export interface PrivateSimOptions {
  readonly mode?: EngineMode;
  readonly symbols: readonly SymbolRules[];
  /** Balances of the single simulated account. */
  readonly balances: Record<string, number>;
  readonly credentials: SimCredentials;
  /** The simulated venue's own clock (order and reply stamps, recvWindow checks). Default: the system clock. */
  readonly clock?: Clock;
  /** Orders per window; default per venue. 0 disables. */
  readonly rateLimit?: { readonly limit: number; readonly windowMs: number };
  /** Append-only journal of received requests; reloaded on start so counts survive restarts. */
  readonly journalPath?: string;
  readonly host?: string;
  readonly port?: number;
}

export type RequestKind = 'place' | 'cancel' | 'replace';

export interface ReceivedCounts {
  place: number;
  cancel: number;
  replace: number;
}

/** Fault injection knobs, settable in-process or via POST /__sim/fault. */
export interface Faults {
  /** Delay every order-entry reply by this many ms. */
  delayAckMs: number;
  /** Refuse the next N order requests with this engine reject code (or RATE_LIMIT). */
  rejectNext: { count: number; code: EngineRejectCode | 'RATE_LIMIT' };
  /** Refuse new private connections until this time (ms epoch); 0 = accept. */
  refuseConnectionsUntil: number;
  /** Accept order requests but never reply (lost ack). */
  swallowReplies: boolean;
}

export const ACCOUNT = 'main';

/** The client-order-id field of an order-entry frame on any of the three venues. */
const CLIENT_ID_FIELD = /"(?:newClientOrderId|cl_ord_id|clOrdId)":"([^"]+)"/;

export abstract class PrivateVenueSim {
  abstract readonly venue: 'binance' | 'kraken' | 'okx';
  readonly engine: MatchingEngine;
  readonly faults: Faults = {
    delayAckMs: 0,
    rejectNext: { count: 0, code: 'INSUFFICIENT_BALANCE' },
    refuseConnectionsUntil: 0,
    swallowReplies: false,
  };
  readonly limiter: RateLimiter;
  protected readonly creds: SimCredentials;
  protected readonly wss = new WebSocketServer({ noServer: true });
  protected readonly clients = new Set<WebSocket>();
  private readonly received = new Map<string, ReceivedCounts>();
  private readonly frameHooks: Array<(tsNs: bigint, data: Buffer) => void> = [];
  private server: Server | undefined;
  private readonly opts: PrivateSimOptions;
  protected readonly clock: Clock;
  private arrivals: Map<string, bigint> | undefined;

  constructor(opts: PrivateSimOptions, defaultRate: { limit: number; windowMs: number }) {
    this.opts = opts;
    this.creds = opts.credentials;
    // A simulator stands in for a remote venue: like one, it keeps its own time unless told otherwise.
    this.clock = opts.clock ?? systemClock;
    this.engine = new MatchingEngine({
      clock: this.clock,
      mode: opts.mode ?? 'paper',
      symbols: opts.symbols,
      balances: { [ACCOUNT]: opts.balances },
      orderIdPrefix: '',
    });
    const rl = opts.rateLimit ?? defaultRate;
    this.limiter = new RateLimiter(rl.limit, rl.windowMs, this.clock);
    this.engine.onEvent((ev) => this.onExec(ev));
    if (opts.journalPath && existsSync(opts.journalPath)) {
      for (const line of readFileSync(opts.journalPath, 'utf8').split('\n')) {
        if (!line) continue;
        const rec = JSON.parse(line) as { kind: RequestKind; clientId: string };
        this.bump(rec.clientId, rec.kind);
      }
    }
  }

  /** Protocol: handle one authenticated-or-not private connection. */
  protected abstract onConnection(ws: WebSocket, req: IncomingMessage): void;
  /** Protocol: venue REST; return false when the path is not one of the venue's. */
  protected abstract onRest(req: IncomingMessage, body: string, res: ServerResponse): boolean;
  /** Protocol: push an engine event on the private execution stream. */
  protected abstract onExec(ev: ExecEvent): void;
  /** Path of the private WebSocket endpoint. */
  abstract readonly wsPath: string;

  get url(): string {
    const a = this.server?.address() as AddressInfo | null;
    if (!a) throw new Error('simulator not started');
    return `http://${a.address}:${a.port}`;
  }

  get wsUrl(): string {
    return this.url.replace('http://', 'ws://') + this.wsPath;
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        try {
          if (req.url?.startsWith('/__sim/')) this.onControl(req, body, res);
          else if (!this.onRest(req, body, res)) json(res, 404, { error: 'not found' });
        } catch (err) {
          json(res, 400, { error: (err as Error).message });
        }
      });
    });
    server.on('upgrade', (req, socket, head) => {
      if (!req.url?.startsWith(this.wsPath) || this.nowMs() < this.faults.refuseConnectionsUntil) {
        socket.write('HTTP/1.1 503 Service Unavailable\r\n\r\n');
        socket.destroy();
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        this.clients.add(ws);
        ws.on('close', () => this.clients.delete(ws));
        if (this.frameHooks.length > 0) {
          // Bench probe: time of arrival of each frame, before any parsing.
          ws.on('message', (data: Buffer) => {
            const t = monotonicNs();
            for (const h of this.frameHooks) h(t, data);
          });
        }
        this.onConnection(ws, req);
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port ?? 0, this.opts.host ?? '127.0.0.1', () => resolve());
    });
    return this;
  }

  async stop(): Promise<void> {
    for (const ws of this.clients) ws.terminate();
    this.clients.clear();
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }

  /**
   * Record the arrival time (monotonicNs, CLOCK_MONOTONIC: comparable across processes on one
   * host) of every order-entry frame by client id; served on GET /__sim/arrivals. Bench only.
   */
  recordArrivals(): void {
    if (this.arrivals) return;
    const arrivals = new Map<string, bigint>();
    this.arrivals = arrivals;
    this.onFrame((t, data) => {
      const m = CLIENT_ID_FIELD.exec(data.toString('latin1'));
      if (m?.[1] && !arrivals.has(m[1])) arrivals.set(m[1], t);
    });
  }

  /** Register a probe called with the arrival time of every private frame (bench only). */
  onFrame(cb: (tsNs: bigint, data: Buffer) => void): void {
    this.frameHooks.push(cb);
  }

  /** Kill every private connection (as a venue outage would); optionally refuse reconnects for a while. */
  dropPrivate(refuseMs = 0): void {
    if (refuseMs > 0) this.faults.refuseConnectionsUntil = this.nowMs() + refuseMs;
    for (const ws of this.clients) ws.terminate();
  }

  /**
   * Freeze every private connection without closing it: the venue stops reading (no pongs, no
   * replies), as a half-open TCP connection or a hung venue looks to the client.
   */
  freezePrivate(): void {
    for (const ws of this.clients) (ws as unknown as { _socket: { pause(): void } })._socket.pause();
  }

  /**
   * Sends a raw frame on every open private connection, outside the venue's own protocol flow: tests
   * use it to deliver well-formed but wrong execution messages (NaN-ish or empty numbers).
   */
  injectFrame(text: string): void {
    for (const ws of this.clients) sendIfOpen(ws, text);
  }

  feedBook(symbol: string, bids: readonly Level[], asks: readonly Level[]): void {
    this.engine.onBook(symbol, bids, asks);
  }

  feedTrade(symbol: string, price: number, qty: number, aggressor: Side): void {
    this.engine.onTrade(symbol, price, qty, aggressor);
  }

  /** Order-entry requests received per client id (place/cancel/replace). */
  receivedCounts(): Record<string, ReceivedCounts> {
    return Object.fromEntries(this.received);
  }

  /** Client ids placed more than once: must stay empty (the executor never double-sends). */
  duplicatePlacements(): string[] {
    const out: string[] = [];
    for (const [id, c] of this.received) if (c.place > 1) out.push(id);
    return out;
  }

  snapshot(): {
    venue: string;
    received: Record<string, ReceivedCounts>;
    duplicates: string[];
    open: Array<Readonly<SimOrder>>;
    balances: Record<string, { free: number; locked: number }>;
    positions: Record<string, number>;
  } {
    return {
      venue: this.venue,
      received: this.receivedCounts(),
      duplicates: this.duplicatePlacements(),
      open: this.engine.openOrders(ACCOUNT),
      balances: this.engine.balances(ACCOUNT),
      positions: this.engine.positions(ACCOUNT),
    };
  }

  // ---- for protocol subclasses ------------------------------------------------------------------

  /** The venue's time in whole epoch milliseconds, as venues stamp replies. */
  protected nowMs(): number {
    return Number(this.clock.nowNs() / 1_000_000n);
  }

  /** Record an order-entry request (before any validation: a refused duplicate still counts). */
  protected record(kind: RequestKind, clientId: string): void {
    if (!clientId) return;
    this.bump(clientId, kind);
    if (this.opts.journalPath) appendFileSync(this.opts.journalPath, JSON.stringify({ kind, clientId, ts: this.nowMs() }) + '\n');
  }

  /**
   * Pre-checks every order request passes through: rate limit, then injected rejects. Returns the
   * refusal code or undefined to proceed.
   */
  protected admit(): EngineRejectCode | 'RATE_LIMIT' | undefined {
    if (!this.limiter.tryTake()) return 'RATE_LIMIT';
    if (this.faults.rejectNext.count > 0) {
      this.faults.rejectNext.count--;
      return this.faults.rejectNext.code;
    }
    return undefined;
  }

  /** Send a reply honoring the delay/swallow faults. */
  protected reply(ws: WebSocket, payload: unknown): void {
    if (this.faults.swallowReplies) return;
    const text = JSON.stringify(payload);
    if (this.faults.delayAckMs > 0) setTimeout(() => sendIfOpen(ws, text), this.faults.delayAckMs);
    else sendIfOpen(ws, text);
  }

  protected run<T>(fn: () => T): { ok: true; value: T } | { ok: false; code: EngineRejectCode; message: string } {
    try {
      return { ok: true, value: fn() };
    } catch (err) {
      if (err instanceof EngineReject) return { ok: false, code: err.code, message: err.message };
      throw err;
    }
  }

  private bump(clientId: string, kind: RequestKind): void {
    let c = this.received.get(clientId);
    if (!c) this.received.set(clientId, (c = { place: 0, cancel: 0, replace: 0 }));
    c[kind]++;
  }

  private onControl(req: IncomingMessage, body: string, res: ServerResponse): void {
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && path === '/__sim/state') return json(res, 200, this.snapshot());
    if (req.method === 'GET' && path === '/__sim/arrivals') {
      const out: Record<string, string> = {};
      for (const [id, t] of this.arrivals ?? []) out[id] = t.toString();
      this.arrivals?.clear();
      return json(res, 200, out);
    }
    if (req.method === 'POST' && path === '/__sim/fault') {
      const f = JSON.parse(body) as Partial<Faults> & { drop?: boolean; freeze?: boolean; refuseMs?: number; rateLimit?: number };
      if (f.freeze) this.freezePrivate();
      if (f.delayAckMs !== undefined) this.faults.delayAckMs = f.delayAckMs;
      if (f.rejectNext) this.faults.rejectNext = f.rejectNext;
      if (f.swallowReplies !== undefined) this.faults.swallowReplies = f.swallowReplies;
      if (f.rateLimit !== undefined) this.limiter.limit = f.rateLimit;
      if (f.drop) this.dropPrivate(f.refuseMs ?? 0);
      return json(res, 200, { ok: true, faults: this.faults });
    }
    if (req.method === 'POST' && path === '/__sim/book') {
      const b = JSON.parse(body) as { symbol: string; bids: Level[]; asks: Level[] };
      this.feedBook(b.symbol, b.bids, b.asks);
      return json(res, 200, { ok: true });
    }
    if (req.method === 'POST' && path === '/__sim/trade') {
      const t = JSON.parse(body) as { symbol: string; price: number; qty: number; aggressor: Side };
      this.feedTrade(t.symbol, t.price, t.qty, t.aggressor);
      return json(res, 200, { ok: true });
    }
    json(res, 404, { error: `unknown control path ${path}` });
  }
}

export function sendIfOpen(ws: WebSocket, text: string): void {
  if (ws.readyState === WebSocket.OPEN) ws.send(text);
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Decimal string without exponent, trimmed, as venues print quantities and prices. */
export function dec(x: number, digits = 8): string {
  return x.toFixed(digits);
}

/** Split a canonical BASE-QUOTE symbol. */
export function splitSymbol(symbol: string): { base: string; quote: string } {
  const [base, quote] = symbol.split('-');
  if (!base || !quote) throw new Error(`not a BASE-QUOTE symbol: ${symbol}`);
  return { base, quote };
}
