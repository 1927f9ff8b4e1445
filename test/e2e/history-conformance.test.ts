/**
 * Conformance tests in the history, end to end under TCG: two real `run kut` runs of guests/conform
 * (kvmbench's own kvm-unit-tests-shaped guest) stored with --store-at, the second with a test planted
 * to fail; `history trend --test` shows its verdicts run after run (text, JSON, HTML) and `history check
 * --fail-on-regression` exits 4 naming the flip and the sub-check that newly fails.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { guestImage } from '../../src/guests/index.js';
import { runCli } from '../helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'kvmb-e2e-history-kut-'));
const store = join(tmp, 'kvmbench.db');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A tree whose stanza `steady` always passes and `flips` passes or fails as asked. */
async function tree(name: string, flips: 'pass' | 'fail'): Promise<string> {
  const dir = join(tmp, name);
  mkdirSync(join(dir, 'x86'), { recursive: true });
  copyFileSync((await guestImage('conform')).path, join(dir, 'x86', 'conform.flat'));
  const args = flips === 'fail' ? 'test_args = fail\n' : '';
  writeFileSync(join(dir, 'x86', 'unittests.cfg'), `[steady]\nfile = conform.flat\n\n[flips]\nfile = conform.flat\n${args}`);
  writeFileSync(join(dir, 'config.mak'), 'ARCH=x86_64\n');
  return dir;
}

describe('history of conformance tests (run kut --store-at, trend --test, check)', () => {
  it('stores each test and sub-check, shows a test over runs, and flags pass → fail with exit 4', async () => {
    for (const [i, verdict] of (['pass', 'fail'] as const).entries()) {
      const r = runCli(
        [
          'run',
          'kut',
          '--kut-dir',
          await tree(`t${i}`, verdict),
          '--accel',
          'tcg',
          '--store-at',
          store,
          '--output',
          join(tmp, `run${i}`),
        ],
        {},
        180_000,
      );
      expect(r.status, r.stderr.slice(-2000)).toBe(verdict === 'pass' ? 0 : 1);
    }

    const trend = runCli(['history', 'trend', '--test', 'flips', '--store', store]);
    expect(trend.status, trend.stderr).toBe(0);
    expect(trend.stdout).toMatch(/kut\/flips\n\s+layer 1, tcg, 2 runs \(1 pass, 1 fail, 0 error, 0 skip\)/);
    expect(trend.stdout).toMatch(/pass\s+sub-checks 3 pass, 0 fail[\s\S]*fail\s+sub-checks 3 pass, 1 fail/);
    const json = JSON.parse(runCli(['history', 'trend', '--test', 'kut/*', '--format', 'json', '--store', store]).stdout) as {
      series: Array<{ caseId: string; runs: Array<{ status: string }> }>;
    };
    expect(json.series.map((s) => [s.caseId, s.runs.map((r) => r.status)])).toEqual([
      ['kut/flips', ['pass', 'fail']],
      ['kut/steady', ['pass', 'pass']],
    ]);

    // The same as a page: a verdict strip, the flip outlined.
    const page = join(tmp, 'trend.html');
    const html = runCli(['history', 'trend', '--test', 'flips', '--format', 'html', '-o', page, '--store', store]);
    expect(html.status, html.stderr).toBe(0);
    expect(readFileSync(page, 'utf8')).toMatch(
      /<h2>kut\/flips<\/h2>[\s\S]*<span class="v-pass"[^>]*>P<\/span><span class="v-fail flip"[^>]*>F<\/span>/,
    );

    const check = runCli(['history', 'check', '--fail-on-regression', '--store', store]);
    expect(check.status, check.stderr).toBe(4);
    expect(check.stdout).toMatch(/✗ kut\/flips: pass → fail/);
    expect(check.stdout).toMatch(/newly failing: conform: planted failure/);
    expect(check.stdout).toMatch(/1 conformance test that passed and now fails/);
    expect(check.stderr).toMatch(/1 conformance test flipped from pass to fail/);

    const none = runCli(['history', 'trend', '--test', 'no_such_test', '--store', store]);
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/no stored conformance test matches no_such_test/);
  }, 400_000);
});
