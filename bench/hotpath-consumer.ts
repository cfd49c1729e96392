/** Child process of hotpath.bench.ts: attaches by name and pops ticks as fast as it can. */
import { TickBatch, TickRegion, monotonicNs } from '../src/native/index.js';

const [name, countArg] = process.argv.slice(2);
const want = Number(countArg);
const region = TickRegion.attach(name!);
const out = new TickBatch(1024);
process.send!({ ready: true });
let got = 0;
let missed = 0;
let first = 0n;
while (got + missed < want) {
  const r = region.popTicks(0, out);
  if (r.delivered && first === 0n) first = monotonicNs();
  got += r.delivered;
  missed += r.missed;
}
process.send!({ got, missed, elapsedNs: Number(monotonicNs() - first) });
region.close();
process.disconnect();
