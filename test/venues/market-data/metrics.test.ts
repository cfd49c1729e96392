/** The adapters count messages and ticks in plain numbers; every read of the Prometheus counters sees them exactly. */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../src/clock/clock.js';
import { registry } from '../../../src/observability/metrics.js';
import { feed, recordingWorkloads } from '../../../bench/lib/adapter-recordings.js';

async function value(name: string, labels: string): Promise<number> {
  const text = await registry.getSingleMetricAsString(name);
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

describe('adapter Prometheus counters', () => {
  it('md_adapter_messages_total and md_adapter_ticks_total equal the adapter stats when read', async () => {
    const w = (await recordingWorkloads()).find((x) => x.venue === 'kraken')!;
    const m0 = await value('kestrel_md_adapter_messages_total', 'venue="kraken"');
    const q0 = await value('kestrel_md_adapter_ticks_total', 'venue="kraken",kind="quote"');
    const a = w.make({ onTick: () => {} }, new VirtualClock(1_700_000_000_000_000_000n));
    for (const f of w.frames) feed(a, f);
    const s = a.stats();
    expect(s.messages).toBe(w.frames.length);
    expect((await value('kestrel_md_adapter_messages_total', 'venue="kraken"')) - m0).toBe(s.messages);
    expect((await value('kestrel_md_adapter_ticks_total', 'venue="kraken",kind="quote"')) - q0).toBe(s.ticks - s.trades);
  });
});
