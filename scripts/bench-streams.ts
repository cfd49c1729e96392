// Durable (JetStream, msg id) publish vs plain publish on a real NATS server: `KESTREL_NATS_URL=... npx tsx scripts/bench-streams.ts`.
import { NatsBus } from '../src/bus/nats-bus.js';
const bus = await NatsBus.connect({ servers: process.env.KESTREL_NATS_URL! });
const name = `B${process.pid}`;
await bus.ensureStream({ name, subjects: [`${name}.>`], maxAgeS: 600, maxBytes: 0, maxMsgs: 0, duplicateWindowS: 120 });
const data = new Uint8Array(120);
const N = 5000;
for (const round of [0, 1]) {
  let t = performance.now();
  for (let i = 0; i < N; i++) bus.publish(`${name}.plain`, data);
  await bus.flush();
  const plain = performance.now() - t;
  t = performance.now();
  const ps = [];
  for (let i = 0; i < N; i++) ps.push(bus.publishDurable(`${name}.d`, data, { msgId: `r${round}-${i}` }));
  await Promise.all(ps);
  const pipelined = performance.now() - t;
  const lat: number[] = [];
  for (let i = 0; i < 500; i++) {
    const t0 = performance.now();
    await bus.publishDurable(`${name}.d`, data, { msgId: `s${round}-${i}` });
    lat.push(performance.now() - t0);
  }
  lat.sort((a, b) => a - b);
  console.log(
    JSON.stringify({
      round,
      plainUsPerMsg: (plain * 1000) / N,
      durablePipelinedUsPerMsg: (pipelined * 1000) / N,
      durableAckP50us: lat[250]! * 1000,
      durableAckP99us: lat[495]! * 1000,
    }),
  );
}
const jsm = await bus.connection.jetstreamManager();
await jsm.streams.delete(name);
await bus.close();
