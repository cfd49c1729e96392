/**
 * Benchmark runner: `npm run bench [-- name ...]`.
 *
 * Contract for bench/<name>.bench.ts: export `async function run(): Promise<object>`; the runner
 * imports every such file in bench/ (or only the named ones), awaits run(), and writes the returned
 * object to bench/results/<name>.json with `at`, `node` and `machine` added when absent. A failing
 * benchmark is reported and the runner continues; the exit code is 1 if any failed. Keep each run
 * short: the machines are shared.
 *
 * Peer benchmarks live in bench/peers/<name>.bench.ts (same contract). They run under the group name
 * `peers` (`npm run bench -- peers`) or their own name, and their results are written together to
 * bench/results/peers.json, one key per benchmark.
 */
import { readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface BenchModule {
  run(): Promise<object>;
}

const dir = path.dirname(fileURLToPath(import.meta.url));

export function machine(): string {
  return `${os.cpus()[0]?.model ?? 'unknown cpu'} x${os.cpus().length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}`;
}

async function main(): Promise<void> {
  const only = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const peersDir = path.join(dir, 'peers');
  const all = [
    ...readdirSync(dir)
      .filter((f) => f.endsWith('.bench.ts'))
      .sort()
      .map((f) => ({ file: path.join(dir, f), name: f.replace(/\.bench\.ts$/, ''), group: undefined as string | undefined })),
    ...readdirSync(peersDir)
      .filter((f) => f.endsWith('.bench.ts'))
      .sort()
      .map((f) => ({ file: path.join(peersDir, f), name: f.replace(/\.bench\.ts$/, ''), group: 'peers' as string | undefined })),
  ];
  const files = all.filter((b) => only.length === 0 || only.includes(b.name) || (b.group !== undefined && only.includes(b.group)));
  if (files.length === 0) {
    console.error(`no benchmark matched ${only.join(', ') || '(any)'} in ${dir}`);
    process.exit(2);
  }
  mkdirSync(path.join(dir, 'results'), { recursive: true });
  let failed = 0;
  const groups = new Map<string, Record<string, unknown>>();
  for (const { file, name, group } of files) {
    const t0 = Date.now();
    try {
      const mod = (await import(pathToFileURL(file).href)) as Partial<BenchModule>;
      if (typeof mod.run !== 'function') throw new Error(`${file} does not export async function run(): Promise<object>`);
      const result = await mod.run();
      const out = { at: new Date().toISOString(), node: process.version, machine: machine(), ...result };
      const resultName = group ?? name;
      if (group !== undefined) {
        const g = groups.get(group) ?? { at: out.at, node: process.version, machine: machine() };
        g[name] = out;
        groups.set(group, g);
      }
      writeFileSync(
        path.join(dir, 'results', `${resultName}.json`),
        JSON.stringify(group !== undefined ? groups.get(group) : out, null, 2) + '\n',
      );
      console.log(`bench ${name}: ok in ${((Date.now() - t0) / 1000).toFixed(1)} s -> bench/results/${resultName}.json`);
    } catch (e) {
      failed++;
      console.error(`bench ${name}: FAILED: ${(e as Error).stack ?? String(e)}`);
    }
  }
  process.exit(failed ? 1 : 0);
}

await main();
