/**
 * One sweep worker process: runs the backtests its parent sends, one at a time, each exactly as a
 * single `kestrel backtest` with that config would (own engine ring, capture and reports), and
 * sends back the report and its equity samples. A process per core, not a thread: the native
 * engine's shared-memory region is named per process.
 */
import type { Config } from '../../config/schema.js';
import { setLogLevel } from '../../observability/logger.js';
import { runBacktest } from '../backtest.js';
import { BacktestRecorder } from './recorder.js';
import type { SweepJob, SweepReply } from './sweep.js';

function send(reply: SweepReply): Promise<void> {
  return new Promise((resolve, reject) => process.send!(reply, undefined, {}, (err) => (err ? reject(err) : resolve())));
}

if (!process.send) throw new Error('sweep-worker runs only as a child process of `kestrel backtest --sweep`');

let chain = Promise.resolve();
process.on('message', (msg: SweepJob | 'stop') => {
  if (msg === 'stop') {
    void chain.then(() => process.disconnect());
    return;
  }
  chain = chain.then(async () => {
    const config = msg.config as Config;
    setLogLevel(config.logging.level);
    try {
      const recorder = new BacktestRecorder();
      const report = await runBacktest(config, {}, { recorder });
      const s = recorder.series();
      await send({ id: msg.id, pid: process.pid, ok: true, report, tMs: s.tMs, equity: s.equity, maxDrawdown: s.maxDrawdown });
    } catch (err) {
      await send({ id: msg.id, pid: process.pid, ok: false, error: err instanceof Error ? err.message : String(err) });
    }
  });
});
