/**
 * Monotonic nonces per venue and the idempotent client ids derived from them.
 *
 * Nonces are handed out from reserved blocks: before the first nonce of a block is used, a NONCE
 * record with watermark = start + block goes into the WAL, in the same group commit as (and ahead
 * of) the intent that uses it, and no order is sent before that commit's fdatasync. After a crash
 * the next nonce is the highest durable watermark, so a nonce is never reused even if the crash lost
 * the tail of the block. The floor is wall-clock microseconds, so even a wiped WAL keeps nonces
 * increasing (venues such as Kraken require that across sessions).
 */
import { VENUE_IDS, isVenue } from '../contracts/index.js';
import type { OrderJournal } from './wal/order-journal.js';
import type { Clock } from '../clock/clock.js';
import { KestrelError } from '../contracts/errors.js';

export interface NonceOptions {
  /** Nonces reserved per WAL watermark record. Default 1000. */
  blockSize?: number;
  /** Client-id prefix identifying Kestrel's orders at the venue ([A-Za-z0-9], ≤ 3). */
  clientIdPrefix?: string;
  /**
   * This executor's instance id (4 lowercase base36), carried after the prefix: recovery touches
   * only orders whose client id carries it. Empty: ids without one (tools and tests of the format).
   */
  instanceId?: string;
  /** Source of the floor (its time in microseconds): the executor's clock. */
  clock: Clock;
}

export class NonceError extends KestrelError {
  override readonly name = 'NonceError';
  constructor(message: string, options?: ErrorOptions) {
    super('NONCE_INVALID', message, options);
  }
}

export class NonceManager {
  private readonly cursor = new Map<string, bigint>();
  private readonly block: bigint;
  readonly prefix: string;
  readonly instanceId: string;
  /** prefix + instance id: what every client id this executor creates starts with. */
  private readonly own: string;
  private readonly clock: Clock;

  constructor(
    private readonly journal: OrderJournal,
    opts: NonceOptions,
  ) {
    this.block = BigInt(opts.blockSize ?? 1000);
    this.prefix = opts.clientIdPrefix ?? 'KS';
    if (!/^[A-Za-z0-9]{1,3}$/.test(this.prefix)) throw new NonceError(`client id prefix must be 1..3 alphanumerics: ${this.prefix}`);
    this.instanceId = opts.instanceId ?? '';
    if (this.instanceId !== '' && !/^[0-9a-z]{4}$/.test(this.instanceId))
      throw new NonceError(`instance id must be 4 lowercase base36: ${this.instanceId}`);
    this.own = this.prefix + this.instanceId;
    this.clock = opts.clock;
    // Nothing below a durable watermark or an intent's nonce in the WAL may ever be handed out again.
    for (const [venue, wm] of journal.state.nonceWatermark) this.cursor.set(venue, wm);
    for (const o of journal.state.orders.values()) {
      const c = this.cursor.get(o.venue) ?? 0n;
      if (o.nonce >= c) this.cursor.set(o.venue, o.nonce + 1n);
    }
  }

  private nowUs(): bigint {
    return this.clock.nowNs() / 1000n;
  }

  /** Next nonce for a venue; appends a watermark record when a new block starts. */
  next(venue: string): bigint {
    let c = this.cursor.get(venue);
    if (c === undefined) {
      c = this.nowUs();
    }
    const wm = this.journal.state.nonceWatermark.get(venue) ?? 0n;
    if (c >= wm) {
      const floor = this.nowUs();
      if (c < floor && wm === 0n) c = floor;
      const next = c + this.block;
      this.journal.state.nonceWatermark.set(venue, next);
      this.journal.nonce(venue, next);
    }
    this.cursor.set(venue, c + 1n);
    return c;
  }

  /** Last nonce handed out for a venue (undefined before the first). */
  last(venue: string): bigint | undefined {
    const c = this.cursor.get(venue);
    return c === undefined ? undefined : c - 1n;
  }

  /**
   * Portable client id (≤ 18 alphanumerics: valid on Binance, Kraken and OKX unchanged):
   * prefix (≤ 3) + instance id (4) + venue digit + base36 nonce (10 digits for microsecond nonces).
   */
  clientId(venue: string, nonce: bigint): string {
    const v = isVenue(venue) ? VENUE_IDS[venue] : 0;
    const id = `${this.own}${v}${nonce.toString(36)}`;
    if (id.length > 18) throw new NonceError(`client id too long: ${id}`);
    return id;
  }

  /** Created by this executor instance (another executor sharing the prefix is not "ours"). */
  isOurs(clientId: string): boolean {
    return clientId.startsWith(this.own);
  }
}
