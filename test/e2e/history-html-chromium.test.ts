/**
 * The history trend page and fleet page in real headless Chromium: they render with no console
 * errors and no requests, the chart has its interval band, its medians, the direction of
 * better and the planted change point, and a planted `<script>` in a hostname stays text. The
 * screenshots go to KVMBENCH_SHOTS_DIR (else a temp dir) for a person to look at.
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as app from '../../src/app/history.js';
import { DEFAULT_CHANGE_POINT_OPTIONS } from '../../src/history/change-points.js';
import { openStore } from '../../src/history/open.js';
import { renderHostsHtml, renderTrendHtml } from '../../src/report/history/index.js';
import { seriesRuns } from '../helpers/history-runs.js';

const CHROMIUM = process.env.KVMBENCH_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const run = existsSync(CHROMIUM) || process.env.CI ? describe : describe.skip;

run('history pages in headless Chromium', () => {
  let browser: Browser;
  let dir: string;
  let shots: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kvmbench-history-chromium-'));
    shots = process.env.KVMBENCH_SHOTS_DIR ?? dir;
    mkdirSync(shots, { recursive: true });
    const store = join(dir, 'kvmbench.db');
    const s = await openStore(store, { write: true });
    await s.importRuns(
      seriesRuns({ runs: 60, level: (i) => (i >= 30 ? 1200 : 1000), seed: 'page' }).map((results) => ({ results })),
    );
    const hosts = ['h-a', 'h-b', '<script>window.__planted=1</script>', 'h-d'].flatMap((host, k) =>
      seriesRuns({ host, runs: 4, from: 100, level: () => (k === 1 ? 2000 : 1000), seed: host }),
    );
    await s.importRuns(hosts.map((results) => ({ results })));
    await s.close();
    writeFileSync(
      join(dir, 'trend.html'),
      renderTrendHtml(await app.trend(store, ['cpuid.latency'], { hostname: 'ci-01' }, DEFAULT_CHANGE_POINT_OPTIONS)),
    );
    writeFileSync(
      join(dir, 'hosts.html'),
      renderHostsHtml(await app.hosts(store, ['cpuid.latency'], { since: '2026-11-05T00:00:00Z' }, 10)),
    );
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
  });
  afterAll(async () => {
    await browser?.close();
  });

  async function open(file: string): Promise<{ page: Page; problems: string[]; requests: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1100, height: 700 } });
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    page.on('request', (r) => {
      if (!r.url().startsWith('file:')) requests.push(r.url());
    });
    await page.goto(pathToFileURL(join(dir, file)).href, { waitUntil: 'load' });
    return { page, problems, requests };
  }

  it('draws the trend: band, medians, direction of better, the change point', async () => {
    const { page, problems, requests } = await open('trend.html');
    expect(await page.locator('svg.trend').count()).toBe(1);
    expect(await page.locator('svg.trend path.band').count()).toBe(1);
    expect(await page.locator('svg.trend circle').count()).toBe(60);
    expect(await page.locator('svg.trend text.better').textContent()).toBe('lower is better ↓');
    expect(await page.locator('svg.trend g.change.regression').count()).toBe(1);
    expect(await page.locator('svg.trend g.change text').textContent()).toMatch(/^\+\d+\.\d% regression$/);
    const box = await page.locator('svg.trend').boundingBox();
    expect(box!.width).toBeGreaterThan(600);
    const band = await page.locator('svg.trend path.band').boundingBox();
    expect(band!.height).toBeGreaterThan(50);
    await page.screenshot({ path: join(shots, 'history-trend.png'), fullPage: true });
    expect(problems).toEqual([]);
    expect(requests).toEqual([]);
  });

  it('draws the fleet matrix with the outlier marked, and a planted script stays text', async () => {
    const { page, problems, requests } = await open('hosts.html');
    expect(await page.locator('table.fleet tbody tr').count()).toBe(4);
    expect(await page.locator('table.fleet td.outlier.worse').count()).toBe(1);
    expect(await page.locator('table.fleet tbody tr', { hasText: 'h-b' }).locator('td.worse').count()).toBe(1);
    expect(await page.evaluate(() => (globalThis as { __planted?: number }).__planted)).toBeUndefined();
    expect(await page.locator('table.fleet').textContent()).toContain('<script>window.__planted=1</script>');
    await page.screenshot({ path: join(shots, 'history-hosts.png'), fullPage: true });
    expect(problems).toEqual([]);
    expect(requests).toEqual([]);
  });
});
