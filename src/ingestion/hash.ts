/**
 * Shard assignment: xxhash64 of the canonical symbol (SPEC: `xxhash64(symbol) % NUM_ACTORS`), mapped to
 * a shard with jump consistent hash (Lamping & Veach 2014) instead of a plain modulo, so that growing
 * the shard count from n to n+1 moves only ~1/(n+1) of the symbols. Sharding by canonical symbol keeps
 * every venue of one symbol on one actor, which the cross-venue md.agg aggregate needs.
 */
import xxhash from 'xxhash-wasm';

type Hasher = Awaited<ReturnType<typeof xxhash>>;
let hasher: Hasher | undefined;

/** xxhash-wasm compiles a WebAssembly module; do it once per process. */
export async function loadHasher(): Promise<Hasher> {
  hasher ??= await xxhash();
  return hasher;
}

const MASK64 = (1n << 64n) - 1n;
const JUMP_MUL = 2862933555777941757n;

/** Jump consistent hash: bucket in [0, buckets) for a 64-bit key. */
export function jumpHash(key: bigint, buckets: number): number {
  if (!Number.isInteger(buckets) || buckets <= 0) throw new RangeError(`buckets must be a positive integer, got ${buckets}`);
  let k = key & MASK64;
  let b = -1;
  let j = 0;
  while (j < buckets) {
    b = j;
    k = (k * JUMP_MUL + 1n) & MASK64;
    j = Math.floor(((b + 1) * 2 ** 31) / (Number(k >> 33n) + 1));
  }
  return b;
}

/** Shard of a canonical symbol; seed 0 so every process agrees. */
export function shardFor(h: Hasher, symbol: string, shards: number): number {
  return jumpHash(h.h64(symbol), shards);
}
