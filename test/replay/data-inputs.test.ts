/** Input expansion and content-based format detection of `kestrel backtest --data`. */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataError, detectFormat, expandInputs, glob } from '../../src/replay/data/inputs.js';
import { sharedDataFile } from '../../src/simulators/recordings.js';
import { CaptureWriter } from '../../src/storage/capture/writer.js';
import { tmpDir } from '../support/tmp.js';

let dir: string;
const f = (...p: string[]) => path.join(dir, ...p);

beforeAll(() => {
  dir = tmpDir('inputs');
  mkdirSync(f('a', 'b'), { recursive: true });
  for (const name of ['x1.gz', 'x2.gz', 'y.txt', path.join('a', 'z.gz'), path.join('a', 'b', 'w.gz'), '.hidden'])
    writeFileSync(f(name), 'x');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('expandInputs', () => {
  it('expands directories recursively in name order, skipping hidden files', () => {
    expect(expandInputs([dir]).map((p) => path.relative(dir, p))).toEqual(['a/b/w.gz', 'a/z.gz', 'x1.gz', 'x2.gz', 'y.txt']);
  });

  it('expands globs within a segment and ** across segments, without duplicates', () => {
    expect(glob(f('x?.gz')).map((p) => path.basename(p))).toEqual(['x1.gz', 'x2.gz']);
    expect(glob(f('[xy]*')).map((p) => path.basename(p))).toEqual(['x1.gz', 'x2.gz', 'y.txt']);
    expect(
      glob(f('**', '*.gz'))
        .map((p) => path.relative(dir, p))
        .sort(),
    ).toEqual(['a/b/w.gz', 'a/z.gz', 'x1.gz', 'x2.gz']);
    expect(expandInputs([f('x*.gz'), f('x1.gz')]).map((p) => path.basename(p))).toEqual(['x1.gz', 'x2.gz']);
  });

  it('names a path that does not exist or a pattern that matches nothing', () => {
    expect(() => expandInputs([f('nope')])).toThrow(DataError);
    expect(() => expandInputs([f('nope')])).toThrow(/no such file or directory/);
    expect(() => expandInputs([f('*.csv')])).toThrow(/no file matches this pattern/);
  });
});

describe('detectFormat', () => {
  it('recognises every recording format of ../shared/data from its content', () => {
    const binance = sharedDataFile('binance', 'hftbacktest_spot_btcusdt_20240808.gz');
    expect(detectFormat(binance)).toMatchObject({ format: 'binance-recv-lines', gzip: true });
    expect(detectFormat(sharedDataFile('kraken', 'python-kraken-sdk_orderbook-v2_btcusd_20230730.json')).format).toBe('kraken-v2-book');
    expect(detectFormat(sharedDataFile('okx', 'cryptofeed_OKX.ws.1.0_20220513.txt')).format).toBe('okx-v5-cryptofeed-text');
    expect(detectFormat(sharedDataFile('okx', 'cryptofeed_okx_ws_20220513.jsonl')).format).toBe('okx-v5-cryptofeed-jsonl');
  });

  it('ignores the name: a gzip OKX recording named .csv, a capture named .txt', () => {
    writeFileSync(f('okx.csv'), gzipSync(readFileSync(sharedDataFile('okx', 'cryptofeed_okx_ws_20220513.jsonl'))));
    expect(detectFormat(f('okx.csv'))).toMatchObject({ format: 'okx-v5-cryptofeed-jsonl', gzip: true });
    CaptureWriter.open(f('cap.txt'), { createdNs: 1n }).close();
    expect(detectFormat(f('cap.txt')).format).toBe('kcap');
  });

  it('refuses the sample collections and CSVs that are not recordings, and empty files', () => {
    for (const p of [
      sharedDataFile('tardis', 'bitmex_trades_XBTUSD.csv'),
      sharedDataFile('binance', 'nautilus_binance_spot_ws_samples.jsonl'),
      sharedDataFile('kraken', 'kraken-async-rs_wss_v2_messages.jsonl'),
      sharedDataFile('okx', 'okx_checksum_vectors.json'),
      sharedDataFile('bars', 'btc-perp-20211231-20220201_1m.csv'),
    ]) {
      expect(() => detectFormat(p)).toThrow(/data of no known format/);
    }
    writeFileSync(f('empty'), '');
    expect(() => detectFormat(f('empty'))).toThrow(/empty file/);
    writeFileSync(f('empty.gz'), gzipSync(''));
    expect(() => detectFormat(f('empty.gz'))).toThrow(/empty file/);
    writeFileSync(f('bad.gz'), Buffer.from([0x1f, 0x8b, 0x08, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    expect(() => detectFormat(f('bad.gz'))).toThrow(DataError);
  });
});
