import { systemClock } from '../../src/clock/clock.js';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { create, toBinary } from '@bufbuild/protobuf';
import { OrderAckSchema, OrderRequestSchema, OrderStatus, Side } from '../../src/contracts/index.js';
import { SegmentLog, WalCorruptError } from '../../src/execution/wal/segment-log.js';
import { checkWal, salvageWal } from '../../src/execution/wal/tools.js';
import { OrderJournal } from '../../src/execution/wal/order-journal.js';
import { orderFromRequest } from '../../src/execution/wal/order-journal.js';
import { NonceManager } from '../../src/execution/nonce.js';
import { InstanceIdError, loadOrCreateInstanceId } from '../../src/execution/instance-id.js';
import { OrderState } from '../../src/execution/order.js';
import { until } from '../support/wait.js';
import { tmpDir } from '../support/tmp.js';

const dirs: string[] = [];
function tmp(): string {
  const d = tmpDir('wal');
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

function segments(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((n) => n.startsWith('wal-'))
    .sort();
}

describe('segment log', () => {
  it('returns committed records after reopen, in order', () => {
    const dir = tmp();
    const { log } = SegmentLog.open(dir);
    for (let i = 0; i < 100; i++) log.append(bytes(`rec-${i}`));
    expect(log.commit()).toBe(100);
    log.close();
    const { recovered } = SegmentLog.open(dir);
    expect(recovered.records.map(text)).toEqual(Array.from({ length: 100 }, (_, i) => `rec-${i}`));
    expect(recovered.truncatedBytes).toBe(0);
  });

  it('loses nothing committed when the process dies without close (pre-extended zero tail)', () => {
    const dir = tmp();
    const { log } = SegmentLog.open(dir);
    log.append(bytes('a'));
    log.commit();
    log.append(bytes('b'));
    log.commit();
    log.append(bytes('never-committed'));
    // no close(): the file still has its zero pre-extension, as after a SIGKILL
    const { recovered } = SegmentLog.open(dir);
    expect(recovered.records.map(text)).toEqual(['a', 'b']);
  });

  it('lazy commits write at once and flush off the event loop; a later commit covers them in order', async () => {
    const dir = tmp();
    const { log } = SegmentLog.open(dir);
    log.append(bytes('intent-1'));
    log.commit();
    log.append(bytes('sent-1'));
    log.append(bytes('ack-1'));
    expect(log.commitLazy()).toBe(2);
    expect(log.stats.commits).toBe(1); // no synchronous fdatasync for the lazy records
    await until(() => log.stats.backgroundFlushes === 1);
    // Dies here, without close: the lazily committed records are on disk.
    expect(SegmentLog.open(dir).recovered.records.map(text)).toEqual(['intent-1', 'sent-1', 'ack-1']);
    log.append(bytes('intent-2'));
    log.commit();
    expect(SegmentLog.open(dir).recovered.records.map(text)).toEqual(['intent-1', 'sent-1', 'ack-1', 'intent-2']);
    log.close();
  });

  it('skips the background flush when a commit already covered the lazily written records', async () => {
    const dir = tmp();
    const { log } = SegmentLog.open(dir, { lazyFlushMs: 10 });
    log.append(bytes('ack-1'));
    log.commitLazy();
    log.append(bytes('intent-2'));
    log.commit(); // covers ack-1 too: one flush for both
    await new Promise((r) => setTimeout(r, 40));
    expect(log.stats.backgroundFlushes).toBe(0);
    expect(log.stats.commits).toBe(1);
    log.close();
    expect(SegmentLog.open(dir).recovered.records.map(text)).toEqual(['ack-1', 'intent-2']);
  });

  it('a failed background flush makes the next commit throw: nothing more is sent on a disk that lost writes', async () => {
    const dir = tmp();
    const { log } = SegmentLog.open(dir, { lazyFlushMs: 1 });
    const real = fs.fdatasync;
    const failing = ((_fd: number, cb: (err: NodeJS.ErrnoException | null) => void) =>
      setImmediate(() => cb(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' })))) as unknown as typeof fs.fdatasync;
    fs.fdatasync = failing;
    try {
      log.append(bytes('ack'));
      log.commitLazy();
      await new Promise((r) => setTimeout(r, 20));
    } finally {
      fs.fdatasync = real;
    }
    log.append(bytes('intent'));
    expect(() => log.commit()).toThrow(/background fdatasync failed: EIO/);
  });

  it('group commit: commitDurable calls back after a pool fdatasync covered the record, in order, one flush for many', async () => {
    const dir = tmp();
    const { log } = SegmentLog.open(dir);
    const real = fs.fdatasync;
    // Count the pool flushes and hold each until released, so that records pile up behind one.
    const held: (() => void)[] = [];
    let flushes = 0;
    fs.fdatasync = ((fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => {
      flushes++;
      held.push(() => real(fd, cb));
    }) as unknown as typeof fs.fdatasync;
    const done: number[] = [];
    try {
      log.append(bytes('intent-0'));
      log.commitDurable(() => done.push(0));
      expect(done).toEqual([]); // never synchronous: the event loop does not wait for the disk
      expect(flushes).toBe(1);
      // Written while the first flush is in flight: they wait for the next one, together.
      for (let i = 1; i <= 5; i++) {
        log.append(bytes(`intent-${i}`));
        log.commitDurable(() => done.push(i));
      }
      expect(flushes).toBe(1);
      held.shift()!();
      await until(() => done.length === 1 && flushes === 2);
      expect(done).toEqual([0]); // the first flush started before 1..5 were written: it does not cover them
      held.shift()!();
      await until(() => done.length === 6);
      expect(done).toEqual([0, 1, 2, 3, 4, 5]);
      expect(flushes).toBe(2);
      expect(log.stats.durableCommits).toBe(2);
      // Nothing new: called back at once.
      let now = false;
      log.commitDurable(() => (now = true));
      expect(now).toBe(true);
    } finally {
      fs.fdatasync = real;
    }
    log.close();
    expect(SegmentLog.open(dir).recovered.records.map(text)).toEqual([0, 1, 2, 3, 4, 5].map((i) => `intent-${i}`));
  });

  it('commitDurable: a failed flush fails every waiter and the next commit; inline and sync:false call back at once', async () => {
    const dir = tmp();
    const { log } = SegmentLog.open(dir);
    const real = fs.fdatasync;
    fs.fdatasync = ((_fd: number, cb: (err: NodeJS.ErrnoException | null) => void) =>
      setImmediate(() => cb(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' })))) as unknown as typeof fs.fdatasync;
    const errs: (Error | undefined)[] = [];
    try {
      log.append(bytes('a'));
      log.commitDurable((e) => errs.push(e));
      log.append(bytes('b'));
      log.commitDurable((e) => errs.push(e));
      await until(() => errs.length === 2);
    } finally {
      fs.fdatasync = real;
    }
    expect(errs.map((e) => e?.message)).toEqual(['EIO: i/o error, fdatasync', 'EIO: i/o error, fdatasync']);
    log.append(bytes('c'));
    const after: (Error | undefined)[] = [];
    log.commitDurable((e) => after.push(e));
    expect(after[0]?.message).toMatch(/background fdatasync failed: EIO/);

    for (const opts of [{ durableCommit: 'inline' as const }, { sync: false }]) {
      const d = tmp();
      const { log: l } = SegmentLog.open(d, opts);
      l.append(bytes('x'));
      let called = false;
      l.commitDurable((e) => (called = e === undefined));
      expect(called).toBe(true);
      l.close();
    }
  });

  it('commitDurable waiters are released by a rotation and by close, and every record replays', async () => {
    const dir = tmp();
    const { log } = SegmentLog.open(dir, { rotationBytes: 4096 });
    const real = fs.fdatasync;
    fs.fdatasync = (() => undefined) as unknown as typeof fs.fdatasync; // a flush that never returns
    const done: number[] = [];
    try {
      log.append(bytes('first'));
      log.commitDurable(() => done.push(-1));
      for (let i = 0; i < 100; i++) log.append(bytes(`rec-${i}-${'x'.repeat(40)}`));
      log.commitDurable(() => done.push(0)); // crosses 4096 bytes: the rotation syncs and releases both
      expect(done).toEqual([-1, 0]);
      log.append(bytes('last'));
      log.commitDurable(() => done.push(1));
      expect(done).toEqual([-1, 0]);
      log.close(); // the final synchronous commit releases the waiter
      expect(done).toEqual([-1, 0, 1]);
    } finally {
      fs.fdatasync = real;
    }
    const recs = SegmentLog.open(dir).recovered.records.map(text);
    expect(recs[0]).toBe('first');
    expect(recs.at(-1)).toBe('last');
    expect(recs).toHaveLength(102);
  });

  it('a fresh log rotates into the spare it prepared while its first segment filled', async () => {
    const dir = tmp();
    const { log } = SegmentLog.open(dir, { rotationBytes: 4096 });
    await until(
      () =>
        fs.readdirSync(dir).some((n) => n.endsWith('.spare')) && (log as unknown as { spare?: { ready: boolean } }).spare?.ready === true,
    );
    for (let i = 0; i < 100; i++) log.append(bytes(`rec-${i}-${'x'.repeat(40)}`));
    log.commit(); // crosses 4096 bytes: rotates by renaming the spare in
    expect(segments(dir)).toEqual(['wal-000000000001.log', 'wal-000000000002.log']);
    log.close();
  });

  it('truncates a torn tail after the last valid record and keeps appending after it', () => {
    const dir = tmp();
    const { log } = SegmentLog.open(dir);
    log.append(bytes('one'));
    log.append(bytes('two'));
    log.commit();
    log.close();
    const file = path.join(dir, segments(dir)[0]!);
    // A torn write: a frame header promising 50 bytes with only 5 present, then a corrupt-CRC frame.
    const torn = Buffer.alloc(13, 0xab);
    torn.writeUInt32LE(50, 0);
    torn.writeUInt32LE(123, 4);
    fs.appendFileSync(file, torn);
    const { log: log2, recovered } = SegmentLog.open(dir);
    expect(recovered.records.map(text)).toEqual(['one', 'two']);
    expect(recovered.truncatedBytes).toBe(13);
    log2.append(bytes('three'));
    log2.commit();
    log2.close();
    expect(SegmentLog.open(dir).recovered.records.map(text)).toEqual(['one', 'two', 'three']);
  });

  it('halts with a typed error on a flipped bit (CRC) before valid records, and changes nothing', () => {
    const dir = tmp();
    const { log } = SegmentLog.open(dir);
    log.append(bytes('good'));
    log.append(bytes('will-be-corrupted'));
    log.append(bytes('durable-after-1'));
    log.append(bytes('durable-after-2'));
    log.commit();
    log.close();
    const file = path.join(dir, segments(dir)[0]!);
    const buf = fs.readFileSync(file);
    const badAt = 8 + 4; // second frame
    buf[badAt + 8 + 3]! ^= 0x40; // one bit of its payload
    fs.writeFileSync(file, buf);
    let err: unknown;
    try {
      SegmentLog.open(dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WalCorruptError);
    expect((err as WalCorruptError).segment).toBe(segments(dir)[0]);
    expect((err as WalCorruptError).offset).toBe(badAt);
    expect((err as WalCorruptError).message).toContain(`kestrel wal salvage --wal-dir ${dir}`);
    expect(() => OrderJournal.open(dir)).toThrow(WalCorruptError); // the executor does not start
    expect(fs.readFileSync(file).equals(buf)).toBe(true); // nothing truncated
    const c = checkWal(dir);
    expect(c.ok).toBe(false);
    expect(c.segments[0]).toMatchObject({ status: 'corrupt', records: 3, recordsAfterDamage: 2 });
  });

  it('treats a bad last frame (nothing valid after it) as a torn tail', () => {
    const dir = tmp();
    const { log } = SegmentLog.open(dir);
    log.append(bytes('good'));
    log.append(bytes('last-one-torn'));
    log.commit();
    log.close();
    const file = path.join(dir, segments(dir)[0]!);
    const buf = fs.readFileSync(file);
    buf[buf.length - 2]! ^= 0x40;
    fs.writeFileSync(file, buf);
    expect(checkWal(dir).segments[0]!.status).toBe('torn-tail');
    expect(SegmentLog.open(dir).recovered.records.map(text)).toEqual(['good']);
  });

  it('salvages a corrupt segment after a backup: every valid record kept, the damaged one dropped', () => {
    const dir = path.join(tmp(), 'wal');
    const { log } = SegmentLog.open(dir, { rotationBytes: 96 });
    for (let i = 0; i < 12; i++) {
      log.append(bytes(`record-number-${i}`));
      log.commit();
    }
    log.close();
    const segs = segments(dir);
    expect(segs.length).toBeGreaterThan(2);
    const file = path.join(dir, segs[1]!);
    const orig = fs.readFileSync(file);
    const buf = Buffer.from(orig);
    buf[9]! ^= 0xff; // the CRC/payload of the first frame of an older segment
    fs.writeFileSync(file, buf);
    expect(() => SegmentLog.open(dir)).toThrow(WalCorruptError);
    const before = checkWal(dir);
    const backupDir = path.join(path.dirname(dir), 'backup');
    const r = salvageWal(dir, { backupDir, clock: systemClock });
    expect(r.rewritten).toEqual([segs[1]]);
    expect(r.droppedBytes).toBeGreaterThan(0);
    expect(fs.readFileSync(path.join(backupDir, segs[1]!)).equals(buf)).toBe(true); // the original, damage included
    const after = checkWal(dir);
    expect(after.ok).toBe(true);
    expect(after.records).toBe(before.records);
    const recs = SegmentLog.open(dir).recovered.records.map(text);
    expect(recs.length).toBe(before.records);
    expect(recs).toContain('record-number-11');
    expect(salvageWal(dir, { clock: systemClock }).backupDir).toBeUndefined(); // nothing left to salvage
  });

  it('fsyncs the parents of a WAL directory it creates', () => {
    const base = tmp();
    const dir = path.join(base, 'a', 'b');
    const opened: string[] = [];
    const orig = fs.openSync.bind(fs) as (...a: unknown[]) => number;
    const spy = vi.spyOn(fs, 'openSync').mockImplementation(((p: fs.PathLike, ...rest: unknown[]) => {
      opened.push(String(p));
      return orig(p, ...rest);
    }) as typeof fs.openSync);
    try {
      SegmentLog.open(dir).log.close();
    } finally {
      spy.mockRestore();
    }
    expect(opened).toContain(base);
    expect(opened).toContain(path.join(base, 'a'));
  });

  it('refuses corruption in an older segment with a typed error', () => {
    const dir = tmp();
    const { log } = SegmentLog.open(dir, { rotationBytes: 64 });
    for (let i = 0; i < 20; i++) {
      log.append(bytes(`record-number-${i}`));
      log.commit();
    }
    log.close();
    const segs = segments(dir);
    expect(segs.length).toBeGreaterThan(2);
    const file = path.join(dir, segs[0]!);
    const buf = fs.readFileSync(file);
    buf[10]! ^= 0xff;
    fs.writeFileSync(file, buf);
    expect(() => SegmentLog.open(dir)).toThrow(WalCorruptError);
  });

  it('rotates by size, writes the checkpoint first in each new segment, and deletes old segments by age', () => {
    const dir = tmp();
    let now = Date.now();
    const { log } = SegmentLog.open(dir, {
      rotationBytes: 100,
      retentionMs: 60_000,
      now: () => now,
      checkpoint: () => [bytes('CHECKPOINT')],
    });
    for (let i = 0; i < 30; i++) {
      log.append(bytes(`payload-${i}-xxxxxxxxxx`));
      log.commit();
    }
    expect(log.stats.rotations).toBeGreaterThan(3);
    const segs = segments(dir);
    for (const s of segs.slice(1)) {
      const { recovered } = SegmentLog.open(tmpDir('x'));
      void recovered;
      const buf = fs.readFileSync(path.join(dir, s));
      expect(buf.subarray(8, 8 + 10).toString()).toBe('CHECKPOINT');
    }
    now += 120_000; // every closed segment is now older than retention
    log.rotate();
    expect(segments(dir)).toEqual([log.segment]);
    expect(log.stats.deletedSegments).toBe(segs.length);
    log.close();
  });
});

function intent(clientId: string, nonce: bigint, venue = 'binance'): Uint8Array {
  return toBinary(
    OrderRequestSchema,
    create(OrderRequestSchema, {
      clientId,
      venue,
      symbol: 'BTC-USDT',
      side: Side.BUY,
      size: 1,
      price: 100,
      nonce,
      traceId: `t-${clientId}`,
    }),
  );
}

describe('order journal', () => {
  it('rebuilds order states and positions from intents and acks, applying cumulative fills once', () => {
    const dir = tmp();
    const { journal } = OrderJournal.open(dir);
    const o = orderFromRequest(intent('A1', 1n));
    journal.state.orders.set(o.clientId, o);
    journal.intent(o);
    journal.sent(o.clientId);
    const partial = create(OrderAckSchema, {
      clientId: 'A1',
      venue: 'binance',
      status: OrderStatus.PARTIAL,
      filledQty: 0.4,
      avgPrice: 100,
      fee: 0.04,
      lastFillQty: 0.4,
    });
    journal.ack(partial);
    journal.ack(partial); // duplicate delivery
    journal.ack(
      create(OrderAckSchema, {
        clientId: 'A1',
        venue: 'binance',
        status: OrderStatus.FILLED,
        filledQty: 1,
        avgPrice: 101,
        fee: 0.06,
        lastFillQty: 0.6,
      }),
    );
    journal.commit();
    journal.close();
    const { journal: j2 } = OrderJournal.open(dir);
    const r = j2.state.orders.get('A1')!;
    expect(r.state).toBe(OrderState.FILLED);
    expect(r.filledQty).toBe(1);
    expect(j2.state.book.quantity('binance', 'BTC-USDT')).toBeCloseTo(1, 12);
    expect(j2.state.book.get('binance', 'BTC-USDT')!.avgPrice).toBeCloseTo(101, 9);
    expect(j2.state.book.get('binance', 'BTC-USDT')!.fees).toBeCloseTo(0.1, 12);
    expect(j2.state.traceIds.has('t-A1')).toBe(true);
    j2.close();
  });

  it('survives rotation with retention: open orders, positions and nonce watermarks come from the checkpoint', () => {
    const dir = tmp();
    let now = Date.now();
    const { journal } = OrderJournal.open(dir, { rotationBytes: 200, retentionMs: 1000, now: () => now });
    const nm = new NonceManager(journal, { clock: systemClock, blockSize: 10 });
    const filled = orderFromRequest(intent('F1', nm.next('binance')));
    journal.state.orders.set('F1', filled);
    journal.intent(filled);
    const ack = create(OrderAckSchema, { clientId: 'F1', venue: 'binance', status: OrderStatus.FILLED, filledQty: 1, avgPrice: 100 });
    filled.apply(ack);
    journal.state.book.applyFill('binance', 'BTC-USDT', Side.BUY, 1, 100, 0, 1n);
    journal.ack(ack);
    const open = orderFromRequest(intent('O1', nm.next('binance')));
    journal.state.orders.set('O1', open);
    journal.intent(open);
    journal.commit();
    for (let i = 0; i < 10; i++) {
      journal.sent('O1');
      journal.commit();
    }
    now += 10_000;
    journal.log.rotate();
    journal.close();
    const segs = segments(dir);
    expect(segs.length).toBe(1);
    const { journal: j2 } = OrderJournal.open(dir);
    expect(j2.state.orders.has('O1')).toBe(true);
    expect(j2.state.orders.has('F1')).toBe(false); // terminal and aged out
    expect(j2.state.book.quantity('binance', 'BTC-USDT')).toBe(1);
    const nm2 = new NonceManager(j2, { clock: systemClock, blockSize: 10 });
    expect(nm2.next('binance')).toBeGreaterThan(open.nonce);
    j2.close();
  });
});

describe('rotation with records pending', () => {
  it('never replays a fill twice when a rotation happens while its ACK is pending (old segments kept)', () => {
    const dir = tmp();
    const { journal } = OrderJournal.open(dir, { rotationBytes: 32 });
    const o = orderFromRequest(intent('R1', 1n));
    journal.state.orders.set('R1', o);
    journal.intent(o);
    journal.commit(); // intent in segment 1, which is now past the rotation size
    // A fill arrives: memory first, its record pending, then the next commit rotates.
    const ack = create(OrderAckSchema, {
      clientId: 'R1',
      venue: 'binance',
      status: OrderStatus.FILLED,
      filledQty: 1,
      avgPrice: 100,
      lastFillQty: 1,
    });
    const d = o.apply(ack);
    journal.state.book.applyFill('binance', 'BTC-USDT', Side.BUY, d.qty, d.price, d.fee, 1n);
    journal.ack(ack);
    journal.commit();
    expect(journal.log.stats.rotations).toBeGreaterThanOrEqual(1);
    journal.close();
    const { journal: j2 } = OrderJournal.open(dir);
    expect(j2.state.book.quantity('binance', 'BTC-USDT')).toBe(1);
    expect(j2.state.orders.get('R1')!.state).toBe(OrderState.FILLED);
    j2.close();
  });
});

describe('nonce manager', () => {
  it('never reuses a nonce across a crash that loses the unsynced tail of a block', () => {
    const dir = tmp();
    const seen: bigint[] = [];
    for (let round = 0; round < 5; round++) {
      const { journal } = OrderJournal.open(dir);
      const nm = new NonceManager(journal, { clock: systemClock, blockSize: 7 });
      for (let i = 0; i < 10; i++) seen.push(nm.next('kraken'));
      journal.commit();
      for (let i = 0; i < 3; i++) seen.push(nm.next('kraken')); // handed out, never committed: "crash"
      journal.log.append(new Uint8Array([2, 65])); // junk left pending, dropped with the process
    }
    for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThan(seen[i - 1]!);
  });

  it('builds portable client ids with the prefix, unique per venue', () => {
    const dir = tmp();
    const { journal } = OrderJournal.open(dir);
    const nm = new NonceManager(journal, { clock: systemClock, clientIdPrefix: 'KX1' });
    const a = nm.clientId('binance', nm.next('binance'));
    const b = nm.clientId('okx', nm.next('okx'));
    expect(a).toMatch(/^KX11[0-9a-z]+$/);
    expect(b).toMatch(/^KX13[0-9a-z]+$/);
    expect(a.length).toBeLessThanOrEqual(18);
    expect(nm.isOurs(a)).toBe(true);
    expect(nm.isOurs('other123')).toBe(false);
    expect(() => new NonceManager(journal, { clock: systemClock, clientIdPrefix: 'bad-prefix' })).toThrow();
    journal.close();
  });

  it('carries the instance id in client ids; another instance with the same prefix is not ours', () => {
    const dir = tmp();
    const { journal } = OrderJournal.open(dir);
    const id = loadOrCreateInstanceId(dir);
    expect(id).toMatch(/^[0-9a-z]{4}$/);
    expect(loadOrCreateInstanceId(dir)).toBe(id); // persisted at first start
    expect(() => loadOrCreateInstanceId(dir, id === 'zzzz' ? 'yyyy' : 'zzzz')).toThrow(InstanceIdError);
    const mine = new NonceManager(journal, { clock: systemClock, clientIdPrefix: 'KSX', instanceId: id });
    const other = new NonceManager(journal, { clock: systemClock, clientIdPrefix: 'KSX', instanceId: id === 'aaaa' ? 'bbbb' : 'aaaa' });
    const a = mine.clientId('kraken', mine.next('kraken'));
    const b = other.clientId('kraken', other.next('kraken'));
    expect(a.startsWith(`KSX${id}2`)).toBe(true);
    expect(a.length).toBeLessThanOrEqual(18);
    expect(mine.isOurs(a)).toBe(true);
    expect(mine.isOurs(b)).toBe(false);
    expect(() => new NonceManager(journal, { clock: systemClock, instanceId: 'AB' })).toThrow();
    journal.close();
  });
});
