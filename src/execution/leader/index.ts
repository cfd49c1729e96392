/**
 * `kestrel run executor` with `execution.leader.enabled`: stand by until this process holds the
 * account's leader lease, then start trading behind a fenced bus; when the lease is lost, stop at
 * once by ending the process (exit 75), so a supervisor restarts it as a standby. Ending the process
 * is the fence that also covers what the bus fence does not see: the venue client's own timers and
 * the shared WAL, which a zombie must not write once a new leader has opened it.
 */
import fs from 'node:fs';
import os from 'node:os';
import type { Bus } from '../../bus/bus.js';
import { NatsBus } from '../../bus/nats-bus.js';
import { natsSecurityFrom } from '../../bus/nats-security.js';
import { createLogger } from '../../observability/logger.js';
import { FencedBus } from './fenced-bus.js';
import { LeaderLease, type LeaderSettings, type LeaseLoss } from './lease.js';

export { FencedBus } from './fenced-bus.js';
export { LeaderLease, LeaderLockError, LeaseLostError, leaderBucket, type LeaderSettings, type LeaseLoss } from './lease.js';

/** Exit status of an executor that lost its lease (EX_TEMPFAIL: restart it, it comes back as standby). */
export const EXIT_LEASE_LOST = 75;

export interface Leadership {
  epoch: number;
  lease: LeaderLease;
  /** Wraps the executor process's bus so that nothing crosses it without the lease. */
  fence(bus: Bus): Bus;
  /** Clean stop: release the key (a standby takes over in one round trip) and close the lock's connection. */
  release(): Promise<void>;
}

/**
 * Block until this process is the leader of `settings.key`. Prints {"event":"standby",...} on
 * stdout while another process holds the key and {"event":"leader","epoch":N} once it leads; on a lost lease prints {"event":"lease_lost",...}
 * and exits the process with EXIT_LEASE_LOST (`onLost` replaces that in tests).
 */
export async function becomeLeader(
  natsUrl: string,
  settings: LeaderSettings,
  namespace: string,
  env: NodeJS.ProcessEnv = process.env,
  onLost: (why: LeaseLoss, epoch: number) => void = exitOnLoss,
): Promise<Leadership> {
  const log = createLogger('executor-leader', { lock: settings.key });
  // Its own connection: renewals never queue behind order traffic.
  const bus = await NatsBus.connect({
    servers: natsUrl,
    name: `kestrel-executor-leader-${settings.key}`,
    security: natsSecurityFrom({}, env),
  });
  const lease = new LeaderLease({ nc: bus.connection, settings, namespace, holder: `${os.hostname()}:${process.pid}`, log });
  const onStandby = () => process.stdout.write(JSON.stringify({ event: 'standby', key: settings.key }) + '\n');
  let epoch: number;
  try {
    epoch = await lease.acquire({ onStandby });
  } catch (err) {
    await bus.close();
    throw err;
  }
  process.stdout.write(JSON.stringify({ event: 'leader', key: settings.key, epoch }) + '\n');
  lease.onLost((why) => {
    if (why !== 'released') onLost(why, epoch);
  });
  return {
    epoch,
    lease,
    fence: (inner) => new FencedBus(inner, lease),
    release: async () => {
      await lease.release();
      await bus.close();
    },
  };
}

function exitOnLoss(why: LeaseLoss, epoch: number): void {
  // Synchronous write and exit: nothing queued behind this may send an order or touch the WAL.
  fs.writeSync(1, JSON.stringify({ event: 'lease_lost', why, epoch }) + '\n');
  process.exit(EXIT_LEASE_LOST);
}
