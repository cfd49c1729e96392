import { fromBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { NatsBus } from '../../src/bus/nats-bus.js';
import { fromProto, type NormalizedTick } from '../../src/contracts/market.js';
import { MarketDataEventSchema, TickSchema } from '../../src/contracts/gen/kestrel/v1/market_pb.js';
import { IngestionService } from '../../src/ingestion/service.js';
import { NATS_URL, requireServer } from '../support/servers.js';
import { tick } from './helpers.js';

const up = await requireServer('NATS', NATS_URL);

describe.runIf(up)('ingestion over the real NATS server', () => {
  it('publishes md.norm / md.agg / md.gap under the replay namespace, decodable by any subscriber', async () => {
    const bus = await NatsBus.connect({ servers: NATS_URL });
    const symbol = `NATS${process.pid}-USDT`;
    const norm: NormalizedTick[] = [];
    const agg: NormalizedTick[] = [];
    const gaps: string[] = [];
    bus.subscribe(`replay.md.norm.*.${symbol}`, (m) => void norm.push(fromProto(fromBinary(TickSchema, m.data))));
    bus.subscribe(`replay.md.agg.${symbol}`, (m) => void agg.push(fromProto(fromBinary(TickSchema, m.data))));
    bus.subscribe(`replay.md.gap.*.${symbol}`, (m) => void gaps.push(fromBinary(MarketDataEventSchema, m.data).kind));
    await bus.flush();
    const svc = await IngestionService.create({ dispatch: 'inline', quality: { quarantineMaxMs: 0 } }, { bus, namespace: 'replay' });
    try {
      const sent = [1, 2, 3].map((i) => tick(i, { symbol, venue: 'kraken', bid: 100 + i, ask: 101 + i }));
      for (const t of sent) svc.onTick({ ...t });
      svc.onTick(tick(9, { symbol, venue: 'kraken' })); // gap
      await bus.flush();
      for (let i = 0; i < 100 && (norm.length < 3 || gaps.length < 1); i++) await new Promise((r) => setTimeout(r, 10));
      expect(norm).toEqual(sent);
      expect(agg.map((t) => [t.bid, t.ask, t.sequence])).toEqual([
        [101, 102, 1n],
        [102, 103, 2n],
        [103, 104, 3n],
      ]);
      expect(gaps).toEqual(['gap']);
    } finally {
      svc.stop();
      await bus.close();
    }
  });
});
