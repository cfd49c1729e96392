/**
 * Shared machinery of the venue simulators: an HTTP server on 127.0.0.1:0 carrying the venue's
 * WebSocket endpoint, its REST endpoints and a small control API; a replay driver that walks a
 * recorded timeline at original, accelerated or instant pace; and fault injection.
 *
 * A simulator behaves like a live venue: the timeline runs once, server-side book state advances with
 * it whether or not anyone listens, and a client that (re)subscribes gets a snapshot of the state at
 * that moment. Faults alter only what clients receive, never the venue's own state, so a client that
 * resyncs after a fault is back on the true book.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import { systemClock, type Clock } from '../../clock/clock.js';
import { createLogger, type Logger } from '../../observability/logger.js';
import { FaultError, parseFault, type Fault, type FaultKind } from './faults.js';

export type Pace = 'original' | 'accelerated' | 'instant';

export interface StartOptions {
  pace: Pace;
  /** Speed-up factor for `accelerated` (default 10). */
  speed?: number;
  /** Start the timeline only once a client has subscribed (default true) so instant replays are not lost. */
  waitForSubscriber?: boolean;
}

export interface SimulatorStats {
  connections: number;
  /** Wall-clock ms of every accepted connection, for rate-limit assertions. */
  connectTimesMs: number[];
  messagesSent: number;
  timelinePosition: number;
  timelineDone: boolean;
  restRequests: number;
  faultsInjected: Record<FaultKind, number>;
}

export interface SimClient {
  readonly id: number;
  readonly ws: WebSocket;
  readonly subs: Set<string>;
  /** Messages held back by a slow link, in send order. */
  readonly queue: Array<{ due: number; payload: string }>;
  /** The raw TCP socket under the WebSocket (paused to simulate a stall). */
  readonly socket: Duplex;
}

export interface RestResponse {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export abstract class VenueSimulator<E> {
  protected readonly log: Logger;
  protected readonly clock: Clock;
  private server: http.Server | undefined;
  private wss: WebSocketServer | undefined;
  protected readonly clients = new Set<SimClient>();

  /** Connected WebSocket clients (metrics). */
  get clientCount(): number {
    return this.clients.size;
  }
  private nextClientId = 1;
  /** Port to bind (0 = ephemeral); fixed ports let another process be pointed at a known URL. */
  private readonly port: number;
  private baseUrl = '';
  private running = false;
  private stopped = false;
  private subscribed: Promise<void>;
  private resolveSubscribed!: () => void;
  private timelineDone: Promise<void> = Promise.resolve();
  protected pace: Pace = 'instant';
  protected speed = 1;
  /** Wall ns at timeline start and the first recorded timestamp: the rebasing anchor. */
  private anchorWallNs = 0n;
  private anchorRecNs: bigint | undefined;
  private readonly pending = new Map<FaultKind, { count: number; fault: Fault }>();
  private slowUntilMs = 0;
  private slowDelayMs = 0;
  private stallUntilMs = 0;
  protected readonly statsData: SimulatorStats = {
    connections: 0,
    connectTimesMs: [],
    messagesSent: 0,
    timelinePosition: 0,
    timelineDone: false,
    restRequests: 0,
    faultsInjected: { drop: 0, gap: 0, badChecksum: 0, crossed: 0, stale: 0, skew: 0, slow: 0, stall: 0 },
  };

  /** The simulated venue's time in whole epoch ms (stall windows, rate limits, delays). */
  protected nowMs(): number {
    return Number(this.clock.nowNs() / 1_000_000n);
  }

  constructor(
    readonly venue: string,
    opts: { clock?: Clock; port?: number } = {},
  ) {
    this.port = opts.port ?? 0;
    this.log = createLogger(`sim.${venue}`);
    this.clock = opts.clock ?? systemClock;
    this.subscribed = new Promise((r) => (this.resolveSubscribed = r));
  }

  // -------------------------------------------------------------------------------- venue hooks
  /** WebSocket path the venue serves (e.g. `/ws/v5/public`). */
  protected abstract readonly wsPath: string;
  /** Faults this venue's protocol can express (Binance has no checksum to corrupt). */
  protected abstract readonly supportedFaults: readonly FaultKind[];
  /** The recorded timeline, in order, with the recorded time of each event. */
  protected abstract timeline(): AsyncIterable<{ atNs: bigint; event: E }> | Iterable<{ atNs: bigint; event: E }>;
  /** Apply one timeline event to venue state and broadcast it. */
  protected abstract onEvent(event: E): void;
  protected abstract onClientMessage(client: SimClient, text: string): void;
  protected onClientOpen(_client: SimClient, _url: URL): void {}
  protected onRest(_method: string, _url: URL): RestResponse | undefined {
    return undefined;
  }
  /** Periodic venue heartbeat (Kraken sends one a second). */
  protected heartbeat(): void {}

  // -------------------------------------------------------------------------------- lifecycle
  /** Binds 127.0.0.1 on an ephemeral port. */
  async listen(): Promise<this> {
    const server = http.createServer((req, res) => this.handleHttp(req, res));
    const wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20 });
    server.on('upgrade', (req, socket, head) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (url.pathname !== this.wsPath || this.stopped) {
        socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, url, socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    this.baseUrl = `127.0.0.1:${port}`;
    this.server = server;
    this.wss = wss;
    this.hbTimer = setInterval(() => {
      if (this.nowMs() >= this.stallUntilMs) this.heartbeat();
    }, 1000);
    this.hbTimer.unref();
    return this;
  }
  private hbTimer: NodeJS.Timeout | undefined;

  get wsUrl(): string {
    return `ws://${this.baseUrl}${this.wsPath}`;
  }
  get restUrl(): string {
    return `http://${this.baseUrl}`;
  }
  get controlUrl(): string {
    return `http://${this.baseUrl}/control`;
  }

  /**
   * Starts replaying the timeline. Resolves once the replay has begun (after the first subscription
   * when `waitForSubscriber`); `finished()` resolves when the timeline is exhausted.
   */
  async start(opts: StartOptions = { pace: 'instant' }): Promise<void> {
    if (this.server === undefined) await this.listen();
    if (this.running) throw new Error(`${this.venue} simulator already started`);
    this.running = true;
    this.pace = opts.pace;
    this.speed = opts.pace === 'original' ? 1 : opts.pace === 'accelerated' ? (opts.speed ?? 10) : 1;
    if (!(this.speed > 0)) throw new RangeError('speed must be > 0');
    const begin = async () => {
      if (opts.waitForSubscriber !== false) await this.subscribed;
      this.anchorWallNs = this.clock.nowNs();
    };
    let started!: () => void;
    const startedP = new Promise<void>((r) => (started = r));
    this.timelineDone = (async () => {
      await begin();
      started();
      await this.run();
    })().catch((e: unknown) => {
      this.log.error({ err: e }, 'timeline failed');
      started();
    });
    if (opts.waitForSubscriber === false) await startedP;
  }

  /** Resolves when the whole recording has been replayed. */
  finished(): Promise<void> {
    return this.timelineDone;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.hbTimer) clearInterval(this.hbTimer);
    for (const c of this.clients) c.ws.terminate();
    this.clients.clear();
    this.resolveSubscribed();
    await new Promise<void>((r) => (this.wss ? this.wss.close(() => r()) : r()));
    await new Promise<void>((r) => {
      if (!this.server) return r();
      this.server.closeAllConnections();
      this.server.close(() => r());
    });
  }

  stats(): SimulatorStats {
    return { ...this.statsData, connectTimesMs: [...this.statsData.connectTimesMs], faultsInjected: { ...this.statsData.faultsInjected } };
  }

  // -------------------------------------------------------------------------------- faults
  /** In-process fault injection. Throws FaultError for a fault the venue's protocol cannot carry. */
  inject(fault: Fault): void {
    if (!this.supportedFaults.includes(fault.kind)) {
      throw new FaultError(`${this.venue} simulator cannot inject ${fault.kind}`);
    }
    this.statsData.faultsInjected[fault.kind]++;
    const now = this.nowMs();
    switch (fault.kind) {
      case 'drop':
        for (const c of this.clients) c.ws.terminate();
        return;
      case 'slow':
        this.slowDelayMs = fault.delayMs ?? 200;
        this.slowUntilMs = now + (fault.durationMs ?? 2000);
        return;
      case 'stall': {
        const ms = fault.durationMs ?? 2000;
        this.stallUntilMs = now + ms;
        // A stalled stream answers nothing, not even WebSocket pings: stop reading the sockets.
        for (const c of this.clients) this.pauseSocket(c, ms);
        return;
      }
      default:
        this.pending.set(fault.kind, { count: fault.count ?? 1, fault });
    }
  }

  /** Consumes one pending occurrence of a per-message fault; returns the fault or undefined. */
  protected takeFault(kind: FaultKind): Fault | undefined {
    const p = this.pending.get(kind);
    if (p === undefined) return undefined;
    if (--p.count <= 0) this.pending.delete(kind);
    return p.fault;
  }

  /** Timestamp offset (ns) for the next timestamped message from pending stale/skew faults. */
  protected takeTimeOffsetNs(): bigint {
    const st = this.takeFault('stale');
    if (st) return -BigInt(Math.round((st.offsetMs ?? 5000) * 1e6));
    const sk = this.takeFault('skew');
    if (sk) return BigInt(Math.round((sk.offsetMs ?? 5000) * 1e6));
    return 0n;
  }

  private pauseSocket(c: SimClient, ms: number): void {
    c.socket.pause();
    setTimeout(() => c.socket.resume(), ms).unref();
  }

  // -------------------------------------------------------------------------------- replay
  /** Maps a recorded venue timestamp onto the simulator's live timeline. */
  protected rebase(recNs: bigint): bigint {
    if (this.pace === 'instant' || this.anchorRecNs === undefined) return this.clock.nowNs();
    return this.anchorWallNs + BigInt(Math.round(Number(recNs - this.anchorRecNs) / this.speed));
  }

  private async run(): Promise<void> {
    let n = 0;
    for await (const { atNs, event } of this.timeline()) {
      if (this.stopped) return;
      if (this.anchorRecNs === undefined) this.anchorRecNs = atNs;
      if (this.pace !== 'instant') {
        const dueWallNs = this.anchorWallNs + BigInt(Math.round(Number(atNs - this.anchorRecNs) / this.speed));
        const waitMs = Number(dueWallNs - this.clock.nowNs()) / 1e6;
        if (waitMs > 1) await sleep(waitMs);
      } else if (++n % 64 === 0) {
        // Yield so sockets drain and REST/control requests are served between bursts.
        await new Promise<void>((r) => setImmediate(r));
      }
      // A stalled venue sends nothing (send() drops); its state still moves on.
      this.onEvent(event);
      this.statsData.timelinePosition++;
    }
    this.statsData.timelineDone = true;
  }

  // -------------------------------------------------------------------------------- transport
  protected send(client: SimClient, payload: string): void {
    if (client.ws.readyState !== WebSocket.OPEN) return;
    const now = this.nowMs();
    if (now < this.stallUntilMs) return;
    this.statsData.messagesSent++;
    // A slow link delays messages but never reorders them: one FIFO per client, one drain timer.
    const due = now < this.slowUntilMs ? now + this.slowDelayMs : now;
    if (client.queue.length === 0 && due <= now) {
      client.ws.send(payload);
      return;
    }
    client.queue.push({ due, payload });
    if (client.queue.length === 1) this.drain(client);
  }

  private drain(client: SimClient): void {
    const head = client.queue[0];
    if (head === undefined) return;
    setTimeout(
      () => {
        const now = this.nowMs();
        while (client.queue.length > 0 && client.queue[0]!.due <= now) {
          const m = client.queue.shift()!;
          if (client.ws.readyState === WebSocket.OPEN) client.ws.send(m.payload);
        }
        this.drain(client);
      },
      Math.max(0, head.due - this.nowMs()),
    );
  }

  /** Sends to every client subscribed to `sub`. */
  protected broadcast(sub: string, payload: string | ((c: SimClient) => string | undefined)): void {
    for (const c of this.clients) {
      if (!c.subs.has(sub)) continue;
      const p = typeof payload === 'string' ? payload : payload(c);
      if (p !== undefined) this.send(c, p);
    }
  }

  protected markSubscribed(): void {
    this.resolveSubscribed();
  }

  private accept(ws: WebSocket, url: URL, socket: Duplex): void {
    const client: SimClient = { id: this.nextClientId++, ws, subs: new Set(), queue: [], socket };
    if (this.nowMs() < this.stallUntilMs) this.pauseSocket(client, this.stallUntilMs - this.nowMs());
    this.clients.add(client);
    this.statsData.connections++;
    this.statsData.connectTimesMs.push(this.nowMs());
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) return;
      try {
        this.onClientMessage(client, rawToString(data));
      } catch (e) {
        this.log.warn({ err: e }, 'bad client message');
      }
    });
    ws.on('close', () => this.clients.delete(client));
    ws.on('error', () => this.clients.delete(client));
    this.onClientOpen(client, url);
  }

  private handleHttp(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/control/fault' && req.method === 'POST') {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => {
        body += c;
        if (body.length > 65536) req.destroy();
      });
      req.on('end', () => {
        try {
          this.inject(parseFault(JSON.parse(body)));
          reply(200, { ok: true });
        } catch (e) {
          reply(400, { ok: false, error: e instanceof Error ? e.message : String(e) });
        }
      });
      return;
    }
    if (url.pathname === '/control/stats' && req.method === 'GET') {
      reply(200, this.stats());
      return;
    }
    this.statsData.restRequests++;
    const r = this.onRest(req.method ?? 'GET', url);
    if (r === undefined) reply(404, { error: 'not found' });
    else reply(r.status, r.body, r.headers);
  }
}

export function rawToString(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
