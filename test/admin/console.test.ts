/**
 * The operator console in real headless Chromium against a running session: the page loads offline
 * (uPlot inlined), shows the session's positions and live charts, a "pause" without the token is
 * refused (401, trading goes on), with the token it halts the executor and the page shows it; a
 * confirmed flatten closes the held symbol.
 * Screenshot: var/test-artifacts/console.png.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessBus } from '../../src/bus/in-process-bus.js';
import { loadConfig } from '../../src/config/index.js';
import { runTradingSession, type SessionSummary } from '../../src/session/trading-session.js';
import { launchChromium } from '../support/chromium.js';
import { tmpDir } from '../support/tmp.js';

const ARTIFACTS = path.resolve('var/test-artifacts');

interface AdminState {
  state: { halts: Record<string, string>; positions: Array<{ symbol: string; quantity: number }> };
}

let browser: Browser;
let page: Page;
let base = '';
let token = '';
let session: Promise<SessionSummary>;
let bus: InProcessBus;
let dir: string;
const offsite: string[] = [];
const dialogs: string[] = [];

beforeAll(async () => {
  dir = tmpDir('console');
  const tokenFile = path.join(dir, 'admin', 'token');
  bus = new InProcessBus();
  let ready!: () => void;
  const up = new Promise<void>((r) => (ready = r));
  // Slow enough replay that the session is still trading while the browser works; drain ends it.
  const config = loadConfig({
    env: {},
    overrides: {
      logging: { level: 'silent' },
      session: { pace: 'accelerated', speed: 25, venues: ['binance', 'kraken', 'okx'], symbols: ['BTC-USDT', 'BTC-USD'] },
      admin: { port: 0, token_file: tokenFile, drain_timeout_ms: 5000 },
      audit: { file: path.join(dir, 'audit.log') },
    },
  });
  session = runTradingSession(config, bus, {
    onReady: ({ adminUrl }) => {
      base = adminUrl!;
      ready();
    },
  });
  await up;
  token = fs.readFileSync(tokenFile, 'utf8').trim();
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  // Offline: anything but the admin server itself is refused and recorded.
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(base)) return route.continue();
    offsite.push(url);
    return route.abort();
  });
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.accept();
  });
  await page.goto(`${base}/`);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  // End the session whatever happened above, so no replay keeps running after the file.
  if (base) await fetch(`${base}/admin/drain`, { method: 'POST', headers: { authorization: `Bearer ${token}` } }).catch(() => undefined);
  await session?.catch(() => undefined);
  await bus?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}, 60_000);

const adminState = async (): Promise<AdminState> => (await (await fetch(`${base}/admin/state`)).json()) as AdminState;
const statusCode = () => page.getAttribute('#action-status', 'data-code');

describe('operator console in headless Chromium', () => {
  it('loads offline and shows the running session: positions, venues, breakers, blotter, live charts', async () => {
    await page.waitForFunction(
      'window.kestrelConsole && window.kestrelConsole.ready && window.kestrelConsole.snapshots >= 2 && window.kestrelConsole.last.positions.length > 0 && window.kestrelConsole.charts.pnl >= 2',
      undefined,
      { timeout: 60_000 },
    );
    const k = (await page.evaluate('({ errors: window.kestrelConsole.errors, snapshots: window.kestrelConsole.snapshots })')) as {
      errors: string[];
      snapshots: number;
    };
    expect(k.errors).toEqual([]);
    expect(k.snapshots).toBeGreaterThanOrEqual(2); // updated live over SSE, not loaded once
    expect(offsite).toEqual([]);
    // The positions table shows what the executor holds.
    const held = (await adminState()).state.positions.map((p) => p.symbol);
    expect(held.length).toBeGreaterThan(0);
    const shown = await page.$$eval('#positions tbody tr', (rows) => rows.map((r) => r.children[1]?.textContent ?? ''));
    for (const s of held) expect(shown).toContain(s);
    expect(await page.$$eval('#netted tbody tr', (rows) => rows.length)).toBeGreaterThan(0);
    // One health row per venue of the session, with its breaker; the blotter lists the orders sent.
    expect(await page.$$eval('#venues tbody tr', (rows) => rows.map((r) => r.children[0]?.textContent ?? ''))).toEqual([
      'binance',
      'kraken',
      'okx',
    ]);
    expect(await page.$$eval('#orders tbody tr', (rows) => rows.length)).toBeGreaterThan(0);
    expect(await page.getAttribute('#trading', 'data-state')).toBe('trading');
    // Both charts are uPlot canvases (the library, not hand-drawn).
    expect(await page.$$eval('#pnl-chart canvas, #latency-chart canvas', (c) => c.length)).toBe(2);
  }, 90_000);

  it('refuses pause without the token: 401 shown, trading goes on', async () => {
    await page.fill('#token', '');
    await page.click('#btn-pause');
    await page.waitForFunction("document.getElementById('action-status').getAttribute('data-code') !== null");
    expect(await statusCode()).toBe('401');
    expect(await page.textContent('#action-status')).toMatch(/refused/);
    expect(dialogs.at(-1)).toMatch(/^Pause trading\?/); // asked for confirmation first
    expect((await adminState()).state.halts).toEqual({});
    await new Promise((r) => setTimeout(r, 1500));
    expect(await page.getAttribute('#trading', 'data-state')).toBe('trading');
  }, 30_000);

  it('pauses trading with the token: the executor halts and the page shows it', async () => {
    await page.fill('#token', token);
    await page.click('#btn-pause');
    await page.waitForFunction("document.getElementById('action-status').getAttribute('data-code') === '200'", undefined, {
      timeout: 10_000,
    });
    expect(Object.keys((await adminState()).state.halts)).toEqual(['operator']);
    await page.waitForFunction("document.getElementById('trading').getAttribute('data-state') === 'halted'", undefined, {
      timeout: 10_000,
    });
    expect(await page.textContent('#trading')).toMatch(/HALTED: operator/);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'console.png'), fullPage: true });
    expect(fs.statSync(path.join(ARTIFACTS, 'console.png')).size).toBeGreaterThan(10_000);
  }, 30_000);

  it('flattens the held symbol from the page (confirmed, with the token): the position goes to zero', async () => {
    const symbol = await page.inputValue('#flatten-symbol');
    expect(symbol).toBe('BTC-USDT');
    const flat = async () => {
      const ps = (await adminState()).state.positions;
      return ps.filter((p) => p.symbol === symbol).every((p) => Math.abs(p.quantity) < 1e-9);
    };
    // Paused: no new orders, so the position held now is what flatten must close.
    expect(await flat()).toBe(false);
    await page.click('#btn-flatten');
    await page.waitForFunction("document.getElementById('action-status').textContent === 'flatten done'", undefined, { timeout: 10_000 });
    expect(dialogs.at(-1)).toMatch(/^Flatten BTC-USDT\?/);
    const deadline = Date.now() + 10_000;
    while (!(await flat()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await flat()).toBe(true);
  }, 30_000);

  it('resumes, then kills from the page: each confirmed, the page follows the executor', async () => {
    await page.click('#btn-resume');
    await page.waitForFunction("document.getElementById('action-status').textContent === 'resume done'", undefined, { timeout: 10_000 });
    expect((await adminState()).state.halts).toEqual({});
    await page.waitForFunction("document.getElementById('trading').getAttribute('data-state') === 'trading'", undefined, {
      timeout: 10_000,
    });
    await page.click('#btn-kill');
    await page.waitForFunction("document.getElementById('action-status').textContent === 'kill done'", undefined, { timeout: 10_000 });
    expect(dialogs.at(-1)).toMatch(/^KILL\?/);
    expect(Object.keys((await adminState()).state.halts)).toEqual(['operator']);
    await page.waitForFunction("document.getElementById('trading').getAttribute('data-state') === 'halted'", undefined, {
      timeout: 10_000,
    });
  }, 30_000);
});
