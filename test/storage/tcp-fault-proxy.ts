/**
 * A real TCP proxy in front of the ClickHouse HTTP port that can break the connection of the next
 * INSERT at a chosen moment: mid-request (server sees a truncated body) or after the full request
 * but before the response (server committed, client sees a dropped connection), or hold all traffic.
 */
import net from 'node:net';

export type Fault = 'none' | 'cut-mid-request' | 'cut-before-response';

export class FaultProxy {
  private server: net.Server;
  private sockets = new Set<net.Socket>();
  fault: Fault = 'none';
  faultsFired = 0;
  /** While true, new connections are refused (the server looks down). */
  down = false;
  port = 0;

  constructor(private readonly upstreamPort: number) {
    this.server = net.createServer((client) => this.onClient(client));
  }

  async listen(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }

  /** Destroys every open connection (e.g. to make a 'down' state take effect for pooled sockets). */
  dropAll(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private onClient(client: net.Socket): void {
    if (this.down) {
      client.destroy();
      return;
    }
    const upstream = net.connect(this.upstreamPort, '127.0.0.1');
    this.sockets.add(client);
    this.sockets.add(upstream);
    let victim: Fault = 'none';
    let forwarded = 0;
    const kill = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk: Buffer) => {
      if (victim === 'none' && this.fault !== 'none' && /^POST [^\r\n]*INSERT/i.test(chunk.toString('latin1', 0, 2048))) {
        victim = this.fault;
        this.fault = 'none';
        this.faultsFired++;
        forwarded = 0;
      }
      if (victim === 'cut-mid-request') {
        // Forward the headers and part of the body, then break: the server gets a truncated insert.
        const half = Math.max(1, Math.floor(chunk.length / 2));
        if (forwarded === 0) {
          upstream.write(chunk.subarray(0, half), () => setTimeout(kill, 20));
          forwarded += half;
        }
        return;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (victim === 'cut-before-response') {
        kill(); // the server answered, so it finished the insert; the client never hears it
        return;
      }
      client.write(chunk);
    });
    const cleanup = () => {
      this.sockets.delete(client);
      this.sockets.delete(upstream);
      kill();
    };
    client.on('close', cleanup);
    upstream.on('close', cleanup);
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
  }
}
