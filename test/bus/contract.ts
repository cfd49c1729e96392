/** The contract every Bus implementation must pass (run against InProcessBus and the real NATS). */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BusTimeoutError, NoRespondersError, BusError, type Bus, type BusMessage } from '../../src/bus/bus.js';
import { eventually } from '../support/wait.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

export function busContract(name: string, makeBus: () => Promise<Bus>): void {
  describe(`Bus contract: ${name}`, () => {
    let bus: Bus;
    // A unique root per test keeps runs against a shared NATS server independent.
    let root: string;
    beforeEach(async () => {
      bus = await makeBus();
      root = `t${Math.random().toString(36).slice(2, 10)}`;
    });
    afterEach(async () => {
      await bus.close();
    });

    it('delivers a published message with its payload and headers', async () => {
      const got: BusMessage[] = [];
      bus.subscribe(`${root}.a`, (m) => void got.push(m));
      await bus.flush();
      bus.publish(`${root}.a`, enc.encode('hello'), { headers: { trace_id: 'abc' } });
      const m = await eventually(() => got[0], 2000, 'bus delivery', 5);
      expect(m.subject).toBe(`${root}.a`);
      expect(dec.decode(m.data)).toBe('hello');
      expect(m.headers.trace_id).toBe('abc');
    });

    it('matches * to exactly one token and > to one or more trailing tokens', async () => {
      const star: string[] = [];
      const gt: string[] = [];
      bus.subscribe(`${root}.md.*`, (m) => void star.push(m.subject));
      bus.subscribe(`${root}.md.>`, (m) => void gt.push(m.subject));
      await bus.flush();
      bus.publish(`${root}.md.x`, enc.encode('1'));
      bus.publish(`${root}.md.x.y`, enc.encode('2'));
      bus.publish(`${root}.other`, enc.encode('3'));
      await eventually(() => (gt.length === 2 ? true : undefined), 2000, 'bus delivery', 5);
      await bus.flush();
      expect(star).toEqual([`${root}.md.x`]);
      expect(gt.sort()).toEqual([`${root}.md.x`, `${root}.md.x.y`]);
    });

    it('preserves publish order for one subscriber', async () => {
      const got: number[] = [];
      bus.subscribe(`${root}.seq`, (m) => void got.push(Number(dec.decode(m.data))));
      await bus.flush();
      for (let i = 0; i < 200; i++) bus.publish(`${root}.seq`, enc.encode(String(i)));
      await eventually(() => (got.length === 200 ? true : undefined), 2000, 'bus delivery', 5);
      expect(got).toEqual(Array.from({ length: 200 }, (_, i) => i));
    });

    it('gives each message to exactly one member of a queue group, and to every plain subscriber', async () => {
      const a: number[] = [];
      const b: number[] = [];
      const plain: number[] = [];
      bus.subscribe(`${root}.q`, (m) => void a.push(Number(dec.decode(m.data))), { queue: 'workers' });
      bus.subscribe(`${root}.q`, (m) => void b.push(Number(dec.decode(m.data))), { queue: 'workers' });
      bus.subscribe(`${root}.q`, (m) => void plain.push(Number(dec.decode(m.data))));
      await bus.flush();
      for (let i = 0; i < 100; i++) bus.publish(`${root}.q`, enc.encode(String(i)));
      await eventually(() => (plain.length === 100 && a.length + b.length === 100 ? true : undefined), 2000, 'bus delivery', 5);
      expect([...a, ...b].sort((x, y) => x - y)).toEqual(plain);
      expect(a.length).toBeGreaterThan(0);
      expect(b.length).toBeGreaterThan(0);
    });

    it('answers request-reply with headers both ways', async () => {
      bus.subscribe(`${root}.rr`, (m) => {
        m.respond(enc.encode(`echo:${dec.decode(m.data)}`), { correlation_id: m.headers.correlation_id ?? '' });
      });
      await bus.flush();
      const reply = await bus.request(`${root}.rr`, enc.encode('ping'), {
        timeoutMs: 1000,
        headers: { correlation_id: 'c-1' },
      });
      expect(dec.decode(reply.data)).toBe('echo:ping');
      expect(reply.headers.correlation_id).toBe('c-1');
    });

    it('rejects a request nobody answers in time with BusTimeoutError', async () => {
      bus.subscribe(`${root}.slow`, () => {
        /* deliberately never responds */
      });
      await bus.flush();
      const t0 = Date.now();
      await expect(bus.request(`${root}.slow`, enc.encode('x'), { timeoutMs: 50 })).rejects.toBeInstanceOf(BusTimeoutError);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(45);
    });

    it('rejects a request with no subscriber at all with NoRespondersError', async () => {
      await expect(bus.request(`${root}.nobody`, enc.encode('x'), { timeoutMs: 500 })).rejects.toBeInstanceOf(NoRespondersError);
    });

    it('stops delivering after unsubscribe', async () => {
      const got: string[] = [];
      const sub = bus.subscribe(`${root}.u`, (m) => void got.push(dec.decode(m.data)));
      await bus.flush();
      bus.publish(`${root}.u`, enc.encode('1'));
      await eventually(() => got[0], 2000, 'bus delivery', 5);
      sub.unsubscribe();
      await bus.flush();
      bus.publish(`${root}.u`, enc.encode('2'));
      await bus.flush();
      await new Promise((r) => setTimeout(r, 50));
      expect(got).toEqual(['1']);
    });

    it('survives a throwing handler and keeps delivering', async () => {
      const got: string[] = [];
      bus.subscribe(`${root}.boom`, (m) => {
        if (dec.decode(m.data) === 'bad') throw new Error('handler failure');
        got.push(dec.decode(m.data));
      });
      await bus.flush();
      bus.publish(`${root}.boom`, enc.encode('bad'));
      bus.publish(`${root}.boom`, enc.encode('good'));
      await eventually(() => got[0], 2000, 'bus delivery', 5);
      expect(got).toEqual(['good']);
    });

    it('refuses malformed subjects with a typed error', () => {
      expect(() => bus.publish('', enc.encode('x'))).toThrow(BusError);
      expect(() => bus.publish(`${root}.*`, enc.encode('x'))).toThrow(BusError);
      expect(() => bus.publish(`${root}..a`, enc.encode('x'))).toThrow(BusError);
      expect(() => bus.subscribe(`${root}.>.a`, () => {})).toThrow(BusError);
    });
  });
}
