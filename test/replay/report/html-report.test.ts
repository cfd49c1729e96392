import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/index.js';
import { TickFlag } from '../../../src/contracts/market.js';
import { runBacktest, type BacktestReport } from '../../../src/replay/backtest.js';
import { expectedPoints } from '../../../src/replay/report/recorder.js';
import { CaptureReader } from '../../../src/storage/capture/reader.js';
import { launchChromium } from '../../support/chromium.js';

interface ChartInfo {
  points: Record<string, number>;
  total: number;
  width: number;
  height: number;
}
interface PageState {
  ready: boolean;
  errors: string[];
  charts: Record<string, ChartInfo>;
}

let browser: Browser;
let page: Page;
let report: BacktestReport;
let bookTicks = 0;
const requests: string[] = [];

beforeAll(async () => {
  report = await runBacktest(loadConfig({ env: {}, overrides: { logging: { level: 'silent' }, session: { max_ticks: 20_000 } } }));
  // Independent count of what the equity curve samples: the book (non-trade) ticks of the capture.
  for await (const t of (await CaptureReader.open(report.capture)).ticks()) if ((t.flags & TickFlag.TRADE) === 0) bookTicks++;
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  // The report must open offline: any request other than the file itself fails the test.
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url === pathToFileURL(report.html).href) return route.continue();
    requests.push(url);
    return route.abort();
  });
  await page.goto(pathToFileURL(report.html).href);
  await page.waitForFunction('window.kestrelReport && window.kestrelReport.ready === true', undefined, { timeout: 20_000 });
}, 120_000);

afterAll(async () => {
  await browser?.close();
});

// Page-side code is passed as source text: the project's TypeScript has no DOM types.
const state = () => page.evaluate<PageState>('window.kestrelReport');

describe('HTML backtest report in headless Chromium', () => {
  it('is written beside the JSON report and loads nothing from the network', () => {
    expect(report.html).toBe(report.report.replace(/\.json$/, '.html'));
    expect(requests).toEqual([]);
    expect(readFileSync(report.html, 'utf8')).not.toMatch(/<script[^>]+src=|<link[^>]+href=/);
  });

  it('renders every chart with the right number of points, without a script error', async () => {
    const s = await state();
    expect(s.errors).toEqual([]);
    expect(bookTicks).toBeGreaterThan(4096); // the recording is long enough to be decimated
    const sampled = expectedPoints(bookTicks);
    expect(s.charts.equity!.points).toEqual({ equity: sampled });
    expect(s.charts.drawdown!.points).toEqual({ drawdown: sampled });
    expect(s.charts.position!.points).toEqual({ position: sampled });
    const price = s.charts.price!.points;
    expect(price.mid).toBe(sampled);
    expect(report.fills).toBeGreaterThan(0);
    expect(price['buy fills']! + price['sell fills']!).toBe(report.fills);
    const conf = s.charts.confidence!.points;
    expect(report.accuracy.scored).toBeGreaterThan(0);
    expect(conf.hit! + conf.miss!).toBe(report.accuracy.scored);
    expect(conf.hit).toBe(Math.round(report.accuracy.hitRate! * report.accuracy.scored));
    for (const id of ['equity', 'drawdown', 'position', 'price', 'confidence']) {
      expect(await page.getAttribute(`#${id}`, 'data-points')).toBe(String(s.charts[id]!.total));
    }
  });

  it('draws on every chart canvas', async () => {
    const inked = await page.evaluate<Record<string, number>>(`(() => {
      const out = {};
      for (const id of ['equity', 'drawdown', 'position', 'price', 'confidence']) {
        const c = document.querySelector('#' + id + ' canvas');
        if (!c) { out[id] = -1; continue; }
        const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < px.length; i += 4) if (px[i] > 0) n++;
        out[id] = n;
      }
      return out;
    })()`);
    expect(Object.keys(inked)).toHaveLength(5);
    for (const n of Object.values(inked)) expect(n).toBeGreaterThan(500);
  });

  it('shows the decision digest, the accuracy table and the config', async () => {
    expect(await page.textContent('#digest')).toBe(report.digest);
    const acc = await page.textContent('#accuracy');
    expect(acc).toContain(`hit rate${report.accuracy.hitRate!.toFixed(3)}`);
    expect(acc).toContain(`ROC AUC${report.accuracy.rocAuc!.toFixed(3)}`);
    expect(acc).toContain('slippage (bps)');
    const cfg = JSON.parse((await page.textContent('#config'))!) as {
      strategy: { kelly_fraction: number };
      session: { max_ticks: number };
    };
    expect(cfg.session.max_ticks).toBe(20_000);
    expect(typeof cfg.strategy.kelly_fraction).toBe('number');
  });
});
