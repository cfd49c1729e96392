/**
 * The durable-stream contract (ensureStream, publishDurable, consumeDurable): run against InProcessBus
 * and the real NATS JetStream so code that relies on streams behaves the same on both.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BusError, type Bus, type DurableConsumer, type StreamSpec } from '../../src/bus/bus.js';
import { ConsumerMonitor } from '../../src/bus/streams.js';
import { registry } from '../../src/observability/metrics.js';
import { until } from '../support/wait.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

export function durableContract(name: string, makeBus: () => Promise<Bus>): void {
  describe(`Durable stream contract: ${name}`, () => {
    let bus: Bus;
    let root: string;
    let spec: StreamSpec;
    const consumers: DurableConsumer[] = [];
    beforeEach(async () => {
      bus = await makeBus();
      root = `d${Math.random().toString(36).slice(2, 10)}`;
      spec = { name: `S_${root}`, subjects: [`${root}.>`], maxAgeS: 3600, maxBytes: 0, maxMsgs: 0, duplicateWindowS: 60 };
      await bus.ensureStream(spec);
    });
    afterEach(async () => {
      for (const c of consumers.splice(0)) await c.stop();
      await bus.close();
    });

    it('stores a message published twice with the same msg id once', async () => {
      const plain: string[] = [];
      bus.subscribe(`${root}.fill`, (m) => void plain.push(dec.decode(m.data)));
      await bus.flush();
      const a = await bus.publishDurable(`${root}.fill`, enc.encode('x'), { msgId: 'c1:FILLED:1' });
      const b = await bus.publishDurable(`${root}.fill`, enc.encode('x'), { msgId: 'c1:FILLED:1' });
      const c = await bus.publishDurable(`${root}.fill`, enc.encode('y'), { msgId: 'c1:FILLED:2' });
      expect([a.duplicate, b.duplicate, c.duplicate]).toEqual([false, true, false]);
      expect(b.seq).toBe(a.seq);
      expect(c.seq).toBe(a.seq + 1);
      const info = await bus.streamInfo(spec.name);
      expect(info.messages).toBe(2);
    });

    it('refuses a durable publish no stream captures with a typed error', async () => {
      await expect(bus.publishDurable(`x${root}.elsewhere`, enc.encode('x'), { msgId: '1' })).rejects.toBeInstanceOf(BusError);
    });

    it('applies the retention of the spec (stream info shows it, max_msgs trims the oldest)', async () => {
      const limited: StreamSpec = { ...spec, maxMsgs: 3, maxBytes: 1_000_000, maxAgeS: 7200, duplicateWindowS: 30 };
      await bus.ensureStream(limited);
      for (let i = 0; i < 5; i++) await bus.publishDurable(`${root}.r`, enc.encode(String(i)), { msgId: `r${i}` });
      const info = await bus.streamInfo(spec.name);
      expect(info).toMatchObject({
        maxMsgs: 3,
        maxBytes: 1_000_000,
        maxAgeS: 7200,
        duplicateWindowS: 30,
        messages: 3,
        firstSeq: 3,
        lastSeq: 5,
      });
      expect(info.subjects).toEqual([`${root}.>`]);
    });

    it('resumes a durable consumer after its last ack: no loss, no acked message processed twice', async () => {
      for (let i = 1; i <= 20; i++) await bus.publishDurable(`${root}.ev`, enc.encode(String(i)), { msgId: `e${i}` });
      const first: number[] = [];
      let stopping: Promise<void> | undefined;
      // The handler may run before consumeDurable() resolved (in-process delivery starts at once).
      const c1: Promise<DurableConsumer> = bus.consumeDurable(
        spec.name,
        'resume',
        (m) => {
          first.push(Number(dec.decode(m.data)));
          if (first.length === 5) stopping = c1.then((c) => c.stop());
        },
        { ackWaitMs: 1000 },
      );
      await c1;
      await until(() => stopping !== undefined, 5000, 'first consumer stopping');
      await stopping;
      const second: number[] = [];
      consumers.push(
        await bus.consumeDurable(spec.name, 'resume', (m) => void second.push(Number(dec.decode(m.data))), { ackWaitMs: 1000 }),
      );
      await until(() => new Set([...first, ...second]).size === 20, 8000, 'all 20 processed');
      expect(first).toEqual([1, 2, 3, 4, 5]);
      expect(second.filter((n) => first.includes(n))).toEqual([]);
      expect([...new Set(second)].sort((a, b) => a - b)).toEqual(Array.from({ length: 15 }, (_, i) => i + 6));
    });

    it('redelivers a message whose handler failed, and only acks it once the handler succeeds', async () => {
      await bus.publishDurable(`${root}.f`, enc.encode('a'), { msgId: 'fa' });
      await bus.publishDurable(`${root}.f`, enc.encode('b'), { msgId: 'fb' });
      const seen: Array<[string, number]> = [];
      let failed = false;
      consumers.push(
        await bus.consumeDurable(
          spec.name,
          'retry',
          (m) => {
            seen.push([dec.decode(m.data), m.deliveryCount]);
            if (!failed && dec.decode(m.data) === 'a') {
              failed = true;
              throw new Error('transient');
            }
          },
          { retryDelayMs: 20, ackWaitMs: 1000 },
        ),
      );
      await until(() => seen.some(([d]) => d === 'b'), 5000, 'b processed');
      expect(seen.slice(0, 2)).toEqual([
        ['a', 1],
        ['a', 2],
      ]);
    });

    it('reports a consumer above its backlog bound (metric, health, log) and drops nothing', async () => {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const done: number[] = [];
      const c = await bus.consumeDurable(
        spec.name,
        'slow',
        async (m) => {
          await gate;
          done.push(Number(dec.decode(m.data)));
        },
        { ackWaitMs: 30_000 },
      );
      consumers.push(c);
      for (let i = 1; i <= 30; i++) await bus.publishDurable(`${root}.s`, enc.encode(String(i)), { msgId: `s${i}` });
      const lines: string[] = [];
      const mon = new ConsumerMonitor({ bound: 10, log: (level, msg) => void lines.push(`${level} ${msg}`) }).watch(c);
      const [r] = await mon.check();
      expect(r!.slow).toBe(true);
      expect(r!.lag.numPending + r!.lag.numAckPending).toBeGreaterThan(10);
      expect(mon.healthy).toBe(false);
      expect(lines.some((l) => l.startsWith('warn slow durable consumer'))).toBe(true);
      const metrics = await registry.getSingleMetricAsString('kestrel_bus_consumer_slow');
      expect(metrics).toContain(`kestrel_bus_consumer_slow{stream="${spec.name}",durable="slow"} 1`);
      release();
      await until(() => done.length === 30, 8000, 'slow consumer caught up');
      expect(done).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
      const after = await mon.check();
      expect(after[0]!.slow).toBe(false);
      expect(mon.healthy).toBe(true);
      mon.stop();
    });
  });
}
