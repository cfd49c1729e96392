import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TickBatch, TickRegion } from '../../src/native/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));

describe('a second process attaches to the rings by name', () => {
  it('a forked child reads, zero-copy, the ticks this process pushes', async () => {
    const N = 50_000;
    const region = TickRegion.create({ name: `kestrel-test-2proc-${process.pid}`, symbols: ['BTC-USDT'], replace: true });
    try {
      const child = fork(path.join(here, 'fixtures/ring-consumer.ts'), [region.name, String(N)], {
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      const messages: Array<Record<string, unknown>> = [];
      const done = new Promise<Record<string, unknown>>((resolve, reject) => {
        child.on('message', (m: Record<string, unknown>) => {
          messages.push(m);
          if ('got' in m) resolve(m);
        });
        child.on('exit', (code) => (code ? reject(new Error(`consumer exited ${code}`)) : undefined));
      });
      await new Promise<void>((resolve) => child.once('message', () => resolve()));
      expect(messages[0]).toEqual({ ready: true, symbols: ['BTC-USDT'] });
      const b = new TickBatch(500);
      let expectedSum = 0;
      for (let i = 0; i < N; i += 500) {
        b.clear();
        for (let j = 0; j < 500; j++) {
          b.push({ tsNs: BigInt(i + j), flags: 0, bid: i + j, ask: i + j + 1, bidSize: 1, askSize: 1 });
          expectedSum += i + j;
        }
        region.pushBatch(0, b);
        if (i % 5000 === 0) await new Promise((r) => setImmediate(r));
      }
      const res = await done;
      expect(res['pid']).not.toBe(process.pid);
      expect(res['got']).toBe(N);
      expect(res['missed']).toBe(0);
      expect(res['ordered']).toBe(true);
      expect(res['sum']).toBe(expectedSum);
      expect(region.counters().ticks[0]).toMatchObject({ head: N, tail: N, consumed: N, drops: 0 });
    } finally {
      region.unlink();
      region.close();
    }
  });
});
