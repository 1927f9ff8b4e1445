/**
 * The history commands through the built CLI on synthetic run directories: change points found
 * where planted (and nowhere on a flat series), exit 4, the fleet outlier, ten concurrent
 * importers losing nothing, foreign and corrupt files refused untouched, compare against the
 * history, and `run --store` with a real (TCG) guest.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/version.js';
import { cli } from '../helpers/cli.js';
import { seriesRuns, writeRuns } from '../helpers/history-runs.js';

const tmp = (p: string) => mkdtempSync(join(tmpdir(), `kvmbench-history-${p}-`));

function cliAsync(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [join(packageRoot(), 'bin/run.js'), ...args], {
      cwd: packageRoot(),
      env: { ...process.env, NO_COLOR: '1' },
    });
    let stderr = '';
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code: code ?? -1, stderr }));
  });
}

describe('history check', () => {
  const dir = tmp('step');
  const store = join(dir, 'kvmbench.db');
  const dirs = writeRuns(join(dir, 'runs'), seriesRuns({ runs: 60, level: (i) => (i >= 30 ? 1200 : 1000), seed: 'step' }));

  it('imports 60 runs idempotently and lists them', () => {
    const r = cli('history', 'import', ...dirs, '--store', store);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('60 runs added, 0 already stored');
    const again = cli('history', 'import', ...dirs.slice(0, 5), '--store', store);
    expect(again.stdout).toContain('0 runs added, 5 already stored');
    const list = JSON.parse(cli('history', 'list', '--store', store, '--json').stdout);
    expect(list.runs).toHaveLength(60);
    expect(list.runs[0].id).toBe('2026-ci-01-059');
    expect(cli('history', 'list', '--store', store, '--since', '2026-11-03T00:00:00Z').stdout).toContain('12 runs in');
  });

  it('finds the +20 % step at run 31 of 60 within one run, and exits 4 with --fail-on-regression', () => {
    const r = cli('history', 'check', '--store', store, '--last', '60', '--fail-on-regression', '--json');
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('1 change point on the bad side');
    const report = JSON.parse(r.stdout);
    expect(report.findings).toHaveLength(1);
    const f = report.findings[0];
    expect(Math.abs(f.index - 30)).toBeLessThanOrEqual(1);
    expect(f.regression).toBe(true);
    expect(f.change).toBeGreaterThan(0.15);
    expect(f.change).toBeLessThan(0.25);
    expect(f.confirm).toBe(
      'kvmbench ab exits --only exits/cpuid --rounds 7 --a-qemu QEMU_BEFORE --b-qemu QEMU_AFTER --fail-on-regression',
    );
    const text = cli('history', 'check', '--store', store, '--last', '60');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/▲ exits\/cpuid\/cpuid\.latency\{machine=q35\}: \+\d+\.\d% regression/);
    expect(text.stdout).toContain('confirm on one host: kvmbench ab exits --only exits/cpuid');
    // Older than the last 10 runs: not new any more.
    expect(JSON.parse(cli('history', 'check', '--store', store, '--json').stdout).findings).toEqual([]);
  });

  it('finds nothing on a flat series of the same noise', () => {
    const flat = tmp('flat');
    const fdirs = writeRuns(join(flat, 'runs'), seriesRuns({ runs: 60, level: () => 1000, seed: 'flat' }));
    expect(cli('history', 'import', ...fdirs, '--store', join(flat, 's.db')).code).toBe(0);
    const r = cli('history', 'check', '--store', join(flat, 's.db'), '--last', '60', '--fail-on-regression', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ series: 1, findings: [], regressions: 0 });
  });

  it('prints the trend as text, JSON and a self-contained HTML page', () => {
    const t = cli('history', 'trend', 'cpuid.latency', '--store', store);
    expect(t.code).toBe(0);
    expect(t.stdout).toContain('── change point: +');
    const j = JSON.parse(cli('history', 'trend', 'exits/**', '--store', store, '--format', 'json').stdout);
    expect(j.series).toHaveLength(1);
    expect(j.series[0].points).toHaveLength(60);
    expect(j.series[0].changes[0].regression).toBe(true);
    const out = join(dir, 'trend.html');
    expect(cli('history', 'trend', 'cpuid.latency', '--store', store, '--format', 'html', '-o', out).code).toBe(0);
    const html = readFileSync(out, 'utf8');
    expect(html).toContain('<svg class="trend"');
    expect(html).not.toContain('<script');
    const none = cli('history', 'trend', 'nope.latency', '--store', store);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no stored metric matches nope.latency');
  });

  it('compare --against-history judges a new run against the last runs of its host class', () => {
    const slower = seriesRuns({ runs: 1, from: 60, level: () => 1500, seed: 'new' });
    const [newDir] = writeRuns(join(dir, 'new'), slower);
    const r = cli('compare', newDir!, '--against-history', '10', '--store', store, '--fail-on-regression');
    expect(r.code, r.stderr).toBe(4);
    expect(r.stdout).toContain('history (10 runs of');
    expect(r.stdout).toMatch(/regressed/);
  });
});

describe('history hosts', () => {
  it('flags a host planted 2× slower, and no other', () => {
    const dir = tmp('fleet');
    const store = join(dir, 's.db');
    const all = ['h-a', 'h-b', 'h-c', 'h-d', 'h-e'].flatMap((host) =>
      seriesRuns({ host, runs: 8, level: () => (host === 'h-c' ? 2000 : 1000), seed: host }),
    );
    expect(cli('history', 'import', ...writeRuns(dir, all), '--store', store).code).toBe(0);
    const r = cli('history', 'hosts', 'cpuid.latency', '--store', store, '--format', 'json');
    expect(r.code).toBe(0);
    const f = JSON.parse(r.stdout);
    const flagged = f.hosts.filter((h: { outliers: number }) => h.outliers > 0).map((h: { hostname: string }) => h.hostname);
    expect(flagged).toEqual(['h-c']);
    const c = f.hosts.find((h: { hostname: string }) => h.hostname === 'h-c').cells[0];
    expect(c.worse).toBe(true);
    expect(c.ratio).toBeGreaterThan(1.8);
    const text = cli('history', 'hosts', 'cpuid.latency', '--store', store).stdout;
    expect(text).toContain('outlier hosts: h-c (1)');
    expect(text).toMatch(/h-c .* outlier, worse than the fleet/);
  });
});

describe('history store reliability', () => {
  it('ten concurrent imports lose nothing', async () => {
    const dir = tmp('concurrent');
    const store = join(dir, 's.db');
    const groups = Array.from({ length: 10 }, (_, g) =>
      writeRuns(join(dir, `g${g}`), seriesRuns({ host: `host-${g}`, runs: 6, level: () => 1000, seed: `c${g}` })),
    );
    const results = await Promise.all(groups.map((dirs) => cliAsync(['history', 'import', ...dirs, '--store', store])));
    for (const r of results) expect(r).toEqual({ code: 0, stderr: '' });
    const list = JSON.parse(cli('history', 'list', '--store', store, '--json').stdout);
    expect(list.runs).toHaveLength(60);
    expect(new Set(list.runs.map((r: { hostname: string }) => r.hostname)).size).toBe(10);
  });

  it('a corrupt file and a foreign SQLite database are refused, and nothing is written to them', () => {
    const dir = tmp('foreign');
    const [run] = writeRuns(join(dir, 'runs'), seriesRuns({ runs: 1, level: () => 1000 }));
    const corrupt = join(dir, 'corrupt.db');
    writeFileSync(corrupt, 'SQLite format 3\0' + 'garbage '.repeat(600));
    const before = readFileSync(corrupt);
    const r = cli('history', 'import', run!, '--store', corrupt);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${corrupt} is not a kvmbench history store`);
    expect(r.stderr).toContain('nothing was written');
    expect(readFileSync(corrupt).equals(before)).toBe(true);

    const foreign = join(dir, 'foreign.db');
    const { Database } = createRequire(import.meta.url)('node-sqlite3-wasm') as typeof import('node-sqlite3-wasm');
    const db = new Database(foreign);
    db.exec('CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices VALUES (1, 9.5)');
    db.close();
    copyFileSync(foreign, join(dir, 'foreign.copy'));
    const f = cli('history', 'import', run!, '--store', foreign);
    expect(f.code).toBe(2);
    expect(f.stderr).toContain(
      'is an SQLite database but not a kvmbench history store (it has tables invoices); nothing was written',
    );
    expect(readFileSync(foreign).equals(readFileSync(join(dir, 'foreign.copy')))).toBe(true);

    const missing = cli('history', 'list', '--store', join(dir, 'none.db'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no history store at');
  });

  it('run --store adds a real run when it ends', () => {
    const dir = tmp('run');
    const store = join(dir, 's.db');
    const r = cli(
      'run',
      'boot-micro',
      '--quick',
      '--accel',
      'tcg',
      '--only',
      'boot-micro/microvm',
      '--output',
      join(dir, 'out'),
      '--store-at',
      store,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/history: stored run \S+ \(complete\) in /);
    const list = JSON.parse(cli('history', 'list', '--store', store, '--json').stdout);
    expect(list.runs).toHaveLength(1);
    expect(list.runs[0]).toMatchObject({ suite: 'boot-micro', state: 'complete', accelerator: 'tcg' });
  });
});
