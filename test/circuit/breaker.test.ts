import { describe, expect, it } from 'vitest';
import { fromBinary } from '@bufbuild/protobuf';
import { InProcessBus } from '../../src/bus/in-process-bus.js';
import { CircuitStateSchema } from '../../src/contracts/index.js';
import { CircuitBreakerRegistry } from '../../src/circuit/breaker.js';
import { VirtualClock } from '../../src/clock/clock.js';

function setup() {
  const clock = new VirtualClock(1_000_000n * 1_000_000n);
  const bus = new InProcessBus();
  const seen: string[] = [];
  bus.subscribe('circuit.*', (m) => {
    const s = fromBinary(CircuitStateSchema, m.data);
    seen.push(`${s.venue}:${s.state}${s.manualOverride ? '*' : ''}`);
  });
  const reg = new CircuitBreakerRegistry(
    { default: { errorThreshold: 3, timeoutMs: 1000, halfOpenRequests: 2 }, perVenue: { kraken: { errorThreshold: 5 } } },
    { bus, namespace: 'live' },
    clock,
  );
  return { reg, seen, bus, advance: (ms: number) => clock.advance(BigInt(ms) * 1_000_000n) };
}

describe('circuit breaker', () => {
  it('opens after the threshold of consecutive failures; a success resets the count', () => {
    const { reg } = setup();
    const b = reg.get('binance');
    b.onFailure();
    b.onFailure();
    b.onSuccess();
    b.onFailure();
    b.onFailure();
    expect(b.state).toBe('CLOSED');
    b.onFailure();
    expect(b.state).toBe('OPEN');
    expect(b.allow()).toBe(false);
  });

  it('uses per-venue thresholds from config', () => {
    const { reg } = setup();
    const k = reg.get('kraken');
    for (let i = 0; i < 4; i++) k.onFailure();
    expect(k.state).toBe('CLOSED');
    k.onFailure();
    expect(k.state).toBe('OPEN');
    expect(k.settings).toEqual({ errorThreshold: 5, timeoutMs: 1000, halfOpenRequests: 2 });
  });

  it('goes HALF_OPEN after the timeout, admits limited trials, closes on successes, reopens on failure', async () => {
    const { reg, seen, advance } = setup();
    const b = reg.get('okx');
    for (let i = 0; i < 3; i++) b.onFailure();
    advance(1000);
    expect(b.state).toBe('HALF_OPEN');
    expect(b.allow()).toBe(true);
    expect(b.allow()).toBe(true);
    expect(b.allow()).toBe(false); // only 2 trials
    b.onSuccess();
    b.onSuccess();
    expect(b.state).toBe('CLOSED');
    for (let i = 0; i < 3; i++) b.onFailure();
    advance(1000);
    expect(b.state).toBe('HALF_OPEN');
    b.allow();
    b.onFailure();
    expect(b.state).toBe('OPEN');
    await new Promise((r) => setTimeout(r, 0));
    expect(seen).toEqual(['okx:OPEN', 'okx:HALF_OPEN', 'okx:CLOSED', 'okx:OPEN', 'okx:HALF_OPEN', 'okx:OPEN']);
  });

  it('manual override pins the state until cleared', async () => {
    const { reg, seen } = setup();
    const b = reg.get('binance');
    b.setOverride('OPEN');
    expect(b.allow()).toBe(false);
    for (let i = 0; i < 10; i++) b.onSuccess();
    expect(b.state).toBe('OPEN');
    b.setOverride(undefined);
    expect(b.state).toBe('CLOSED');
    b.setOverride('CLOSED');
    for (let i = 0; i < 10; i++) b.onFailure();
    expect(b.allow()).toBe(true);
    await new Promise((r) => setTimeout(r, 0));
    expect(seen[0]).toBe('binance:OPEN*');
  });
});
