/**
 * What `kestrel backtest --data` was given, resolved to files and classified by content. The file
 * name never decides the format: a renamed or extension-less recording is still recognised, and a
 * `.gz` that holds something else is refused with the reason.
 */
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync, createGunzip } from 'node:zlib';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { MAGIC as KCAP_MAGIC } from '../../storage/capture/format.js';
import { KestrelError } from '../../contracts/errors.js';

/** A data problem the researcher must fix: printed as one line naming the file, exit 1. */
export class DataError extends KestrelError {
  override readonly name = 'DataError';
  constructor(
    readonly file: string,
    readonly problem: string,
    options?: ErrorOptions,
  ) {
    super('DATA_INVALID', `${file}: ${problem}`, options);
  }
}

export type DataFormat =
  /** `<recv_ns> <combined-stream json>` lines (hftbacktest's raw Binance capture), gzip or not. */
  | 'binance-recv-lines'
  /** Kraken WS v2 `book` capture: `{"init": snapshot, "updates": [update…]}` (python-kraken-sdk). */
  | 'kraken-v2-book'
  /** OKX v5 public WS recording as written by cryptofeed: `<url> <- <epoch s>: <json>` lines. */
  | 'okx-v5-cryptofeed-text'
  /** The same recording as `{"local_ts", "dir", "msg"}` JSON lines. */
  | 'okx-v5-cryptofeed-jsonl'
  /** The system's own capture file (src/storage/capture). */
  | 'kcap';

export interface DataInput {
  file: string;
  format: DataFormat;
  gzip: boolean;
  bytes: number;
  /** File bytes consumed so far by the replay (progress and ETA). */
  bytesRead: number;
}

const HEAD_BYTES = 64 * 1024;
const GLOB_CHARS = /[*?[]/;

/** Files, directories (their files, recursively, in name order) and globs → distinct files in a stable order. */
export function expandInputs(specs: readonly string[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (f: string) => {
    const abs = path.resolve(f);
    if (!seen.has(abs)) {
      seen.add(abs);
      out.push(abs);
    }
  };
  for (const spec of specs) {
    if (GLOB_CHARS.test(spec)) {
      const matches = glob(spec);
      if (matches.length === 0) throw new DataError(spec, 'no file matches this pattern');
      for (const m of matches) for (const f of filesUnder(m)) add(f);
      continue;
    }
    if (!existsSync(spec)) throw new DataError(spec, 'no such file or directory');
    const files = filesUnder(spec);
    if (files.length === 0) throw new DataError(spec, 'directory holds no files');
    for (const f of files) add(f);
  }
  return out;
}

function filesUnder(p: string): string[] {
  if (!statSync(p).isDirectory()) return [p];
  return readdirSync(p, { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.'))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .flatMap((e) => filesUnder(path.join(p, e.name)));
}

/** Shell-style globbing: `*`, `?` and `[...]` within a path segment, `**` across segments. */
export function glob(pattern: string): string[] {
  const abs = path.isAbsolute(pattern);
  const segs = pattern.split('/').filter((s, i) => s.length > 0 || (i === 0 && abs));
  let found: string[] = [abs ? '/' : '.'];
  for (const seg of segs.slice(abs ? 1 : 0)) {
    const next: string[] = [];
    for (const base of found) {
      if (seg === '**') {
        next.push(...walkDirs(base));
      } else if (!GLOB_CHARS.test(seg)) {
        const p = path.join(base, seg);
        if (existsSync(p)) next.push(p);
      } else if (isDir(base)) {
        const re = segmentRegex(seg);
        for (const name of readdirSync(base).sort())
          if (re.test(name) && !(name.startsWith('.') && !seg.startsWith('.'))) next.push(path.join(base, name));
      }
    }
    found = next;
  }
  return [...new Set(found)].sort();
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function walkDirs(base: string): string[] {
  if (!isDir(base)) return [];
  const out = [base];
  for (const e of readdirSync(base, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (e.isDirectory() && !e.name.startsWith('.')) out.push(...walkDirs(path.join(base, e.name)));
  }
  return out;
}

function segmentRegex(seg: string): RegExp {
  let re = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = seg.indexOf(']', i + 1);
      if (end === -1) re += '\\[';
      else {
        const body = seg.slice(i + 1, end).replace(/\\/g, '\\\\');
        re += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Reads the head of a file (decompressed when gzip) and names its format, or throws a DataError saying why not. */
export function detectFormat(file: string): DataInput {
  const st = statSync(file);
  if (st.size === 0) throw new DataError(file, 'empty file');
  const fd = openSync(file, 'r');
  let raw: Buffer;
  try {
    raw = Buffer.alloc(Math.min(st.size, HEAD_BYTES));
    readSync(fd, raw, 0, raw.length, 0);
  } finally {
    closeSync(fd);
  }
  if (raw.subarray(0, KCAP_MAGIC.length).toString('latin1') === KCAP_MAGIC)
    return { file, format: 'kcap', gzip: false, bytes: st.size, bytesRead: 0 };
  const gzip = raw[0] === 0x1f && raw[1] === 0x8b;
  let head = raw;
  if (gzip) {
    try {
      // A truncated member is expected here (only the head was read): take what inflates.
      head = gunzipSync(raw, { finishFlush: 2 /* Z_SYNC_FLUSH */ });
    } catch (e) {
      throw new DataError(file, `gzip data that does not inflate (${e instanceof Error ? e.message : String(e)})`, { cause: e });
    }
    if (head.length === 0) throw new DataError(file, 'empty file (gzip holding no data)');
  }
  const text = head.toString('utf8');
  if (text.trim().length === 0) throw new DataError(file, 'empty file (only blank lines)');
  const first = text
    .split('\n')
    .find((l) => l.trim().length > 0)!
    .trimEnd();
  const format = classify(first, text);
  if (format === undefined)
    throw new DataError(file, `data of no known format (starts with ${JSON.stringify(first.slice(0, 60))}); known: ${KNOWN_FORMATS}`);
  return { file, format, gzip, bytes: st.size, bytesRead: 0 };
}

export const KNOWN_FORMATS =
  'Binance `<recv_ns> <json>` lines (gzip or not), Kraken v2 book capture {init, updates}, OKX v5 recording (cryptofeed text or JSON lines), .kcap capture';

function classify(first: string, text: string): DataFormat | undefined {
  if (/^\d{16,20} \{/.test(first)) {
    const json = first.slice(first.indexOf(' ') + 1);
    if (json.startsWith('{"stream":') || json.startsWith('{"lastUpdateId":')) return 'binance-recv-lines';
    return undefined;
  }
  if (/^wss?:\/\/\S+ (<-|->|<->) \d/.test(first) && /\/ws\/v5\//.test(first)) return 'okx-v5-cryptofeed-text';
  if (first.startsWith('{"local_ts":') && /"dir":"(recv|sent)"/.test(first)) return 'okx-v5-cryptofeed-jsonl';
  // A pretty-printed document: the Kraken capture opens with its snapshot under "init".
  if (/^\{\s*"init"\s*:\s*\{\s*"channel"\s*:\s*"book"/.test(text)) return 'kraken-v2-book';
  return undefined;
}

/** Text lines of a file, gunzipped when it is gzip; memory holds one read chunk, never the file. */
export async function* lines(input: Pick<DataInput, 'file' | 'gzip'> & { bytesRead?: number }): AsyncGenerator<string> {
  const stream = createReadStream(input.file, { highWaterMark: 1 << 20 });
  const rl = createInterface({ input: input.gzip ? stream.pipe(createGunzip()) : stream, crlfDelay: Infinity });
  try {
    for await (const line of rl) {
      if (line.length === 0) continue;
      // Compressed bytes for a gzip file: the position in the file either way.
      input.bytesRead = stream.bytesRead;
      yield line;
    }
  } catch (e) {
    throw new DataError(input.file, `unreadable (${e instanceof Error ? e.message : String(e)})`, { cause: e });
  } finally {
    rl.close();
    stream.destroy();
  }
}
