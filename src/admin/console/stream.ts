/**
 * Live feed of the console: samples the snapshot once per interval, keeps the PnL curve (bounded),
 * and pushes both to every connected page as server-sent events. A page that connects late first
 * gets the whole curve, so the chart does not start empty.
 */
import type http from 'node:http';
import type { ConsoleSnapshot, PnlPoint } from './snapshot.js';

export class ConsoleStream {
  private readonly clients = new Set<http.ServerResponse>();
  private readonly pnl: PnlPoint[] = [];
  private latest: ConsoleSnapshot | undefined;
  private timer: NodeJS.Timeout | undefined;
  private sampling = false;

  constructor(
    private readonly source: () => Promise<ConsoleSnapshot>,
    private readonly intervalMs = 1000,
    private readonly maxPoints = 3600,
  ) {}

  start(): void {
    if (this.timer) return;
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    for (const c of this.clients) c.end();
    this.clients.clear();
  }

  /** The current snapshot, sampled now (for /admin/console.json). */
  async snapshot(): Promise<ConsoleSnapshot> {
    return this.source();
  }

  get history(): readonly PnlPoint[] {
    return this.pnl;
  }

  subscribe(req: http.IncomingMessage, res: http.ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write(`retry: 2000\n\n`);
    send(res, 'history', this.pnl);
    if (this.latest) send(res, 'snapshot', this.latest);
    this.clients.add(res);
    req.on('close', () => this.clients.delete(res));
  }

  private async sample(): Promise<void> {
    // A slow snapshot (e.g. a busy event loop) must not pile up samples behind it.
    if (this.sampling) return;
    this.sampling = true;
    try {
      const s = await this.source();
      this.latest = s;
      this.pnl.push({ tsMs: s.tsMs, net: s.pnl.net });
      if (this.pnl.length > this.maxPoints) this.pnl.splice(0, this.pnl.length - this.maxPoints);
      for (const c of this.clients) send(c, 'snapshot', s);
    } catch {
      // The next tick retries; the page shows the age of the last snapshot it got.
    } finally {
      this.sampling = false;
    }
  }
}

function send(res: http.ServerResponse, event: string, data: unknown): void {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}
