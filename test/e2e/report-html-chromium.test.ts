/**
 * Opens report.html in real headless Chromium (Debian's `chromium`): the page renders with
 * no console errors and no network, the charts are there, and a `<script>` planted in a
 * guest log or in execution evidence stays text. The screenshots are left in a temp dir for a
 * person to look at.
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeReports } from '../../src/report/index.js';
import { richResults } from '../helpers/results-fixture.js';

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
// CI installs Chromium (scripts/setup-host.sh --tests), so there a missing browser is a failure.
const available = existsSync(CHROMIUM);
const run = available || process.env.CI ? describe : describe.skip;

run('report.html in headless Chromium', () => {
  let browser: Browser;
  let dir: string;
  let emulatedDir: string;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
    dir = mkdtempSync(join(tmpdir(), 'kvmbench-chromium-'));
    mkdirSync(join(dir, 'logs'));
    writeFileSync(
      join(dir, 'logs/exits_ipi.log'),
      'SeaBIOS (version 1.16)\n\u001b[31mFAIL\u001b[0m ipi\n<script>window.__planted = 1; console.error("planted script ran")</script>\n<img src=x onerror="window.__planted=2">\n',
    );
    await writeReports(richResults(), dir);
    // The same run on a PVM host, with markup planted where a guest's or host's words end up.
    const emulated = richResults('rich', { mode: 'emulated' });
    const cpuid = emulated.cases[0]!;
    cpuid.execution = {
      mode: 'emulated',
      evidence: ['<script>window.__planted = 3; console.error("planted evidence ran")</script>', ...cpuid.execution!.evidence],
    };
    cpuid.vm = { ...cpuid.vm, cpu: '<img src=x onerror="window.__planted=4">' };
    emulatedDir = mkdtempSync(join(tmpdir(), 'kvmbench-chromium-emulated-'));
    await writeReports(emulated, emulatedDir);
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('renders charts without console errors or requests, and planted markup stays text', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    page.on('request', (r) => {
      if (!r.url().startsWith('file:')) requests.push(r.url());
    });
    await page.goto(pathToFileURL(join(dir, 'report.html')).href, { waitUntil: 'load' });
    expect(await page.locator('#verdict').textContent()).toBe('ERROR');
    // one per metric: 10 exits (latency, ticks, exits per iteration; io_exits for inl_from_qemu), 6 micro boot, 3 Linux boot, 2 I/O
    expect(await page.locator('svg.dist').count()).toBe(21);
    expect(await page.locator('svg.exits rect.bar').count()).toBe(6); // ns and ticks charts, 3 exits each; counts are not latencies
    // Exit accounting: a row per exits case that ran, and a histogram where iterations were timed one by one.
    expect(await page.locator('table.exit-accounting tbody tr').count()).toBe(3);
    expect(await page.locator('table.exit-accounting td.exits-per-iteration').allTextContents()).toEqual([
      '1.00',
      '1.00',
      '1.00',
    ]);
    expect(await page.locator('#info-exits\\/cpuid li.check-ok').textContent()).toBe(
      '✓ ok: exits: 1.000 per iteration, expected 1',
    );
    expect(await page.locator('svg.hist').count()).toBe(2);
    expect(await page.locator('svg.hist').first().locator('rect.bin').count()).toBeGreaterThan(5);
    expect(await page.locator('svg.hist').first().locator('line.pct').count()).toBe(3);
    const hist = await page.locator('svg.hist').first().boundingBox();
    expect(hist!.width).toBeGreaterThan(200);
    expect(await page.locator('#emulated').count()).toBe(0);
    // micro boots stack spawn→entry→exit (the spawn→exit total is a separate bar); Linux 3 phases
    expect(await page.locator('svg.stacked').count()).toBe(2); // one per suite: micro and Linux boots differ 30×
    expect(await page.locator('svg.stacked rect.segment').count()).toBe(2 * 2 + 3);
    expect(await page.locator('svg.boot rect.bar').count()).toBe(2);
    expect(await page.locator('svg.io rect.bar').count()).toBe(2);
    // SVGs actually laid out (a broken SVG renders with zero size).
    const box = await page.locator('svg.stacked').first().boundingBox();
    expect(box!.width).toBeGreaterThan(300);
    // The planted script is text inside the log, never executed.
    await page.locator('#failed details summary').first().click();
    expect(await page.locator('#log-exits\\/ipi').textContent()).toContain('<script>window.__planted = 1');
    expect(await page.evaluate(() => (globalThis as unknown as { __planted?: number }).__planted)).toBeUndefined();
    expect(await page.locator('#failed script, #failed img').count()).toBe(0);
    const shot = join(dir, 'report.png');
    await page.screenshot({ path: shot, fullPage: true });
    process.stderr.write(`report screenshot: ${shot}\n`);
    expect(problems).toEqual([]);
    expect(requests).toEqual([]);
    // Printable: the print stylesheet applies without errors and keeps the charts.
    await page.emulateMedia({ media: 'print' });
    expect(await page.locator('svg.dist').first().isVisible()).toBe(true);
    await page.close();
  });

  it('puts the emulated banner first, marks each emulated case, and keeps markup planted in evidence as text', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    await page.goto(pathToFileURL(join(emulatedDir, 'report.html')).href, { waitUntil: 'load' });
    const banner = page.locator('#emulated');
    expect(await banner.isVisible()).toBe(true);
    expect(await banner.textContent()).toContain(
      "these figures are emulator costs, not hardware VM exits; this host's KVM is pvm. Evidence: empty loop: 7,927 TSC ticks",
    );
    // In the first screen, above the host facts.
    const box = await banner.boundingBox();
    expect(box!.y).toBeLessThan(400);
    const info = page.locator('#info-exits\\/cpuid');
    expect(await info.locator('.note-emulated').textContent()).toContain('Evidence: <script>window.__planted = 3');
    expect(await info.locator('ul.evidence li').first().textContent()).toContain('<script>window.__planted = 3');
    expect(await info.locator('.not-judged').textContent()).toBe('not judged: execution emulated');
    expect(await info.locator('.vm').textContent()).toContain('cpu=<img src=x onerror="window.__planted=4">');
    expect(await page.locator('table.exit-accounting .x-emulated').count()).toBe(3);
    expect(await page.evaluate(() => (globalThis as unknown as { __planted?: number }).__planted)).toBeUndefined();
    expect(await page.locator('body script, body img').count()).toBe(0);
    const shot = join(emulatedDir, 'report.png');
    await page.screenshot({ path: shot, fullPage: true });
    process.stderr.write(`emulated report screenshot: ${shot}\n`);
    expect(problems).toEqual([]);
    await page.close();
  });
});
