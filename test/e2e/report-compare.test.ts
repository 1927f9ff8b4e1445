/**
 * End to end: spawns the built CLI (`node bin/run.js`) on hand-built results files and
 * checks exit codes, stdout and stderr as CI would see them.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { caseResult, makeResults, metric, richResults, samplesAround } from '../helpers/results-fixture.js';
import { bootLinuxResults, exitsResults } from '../helpers/compare-fixtures.js';
import { MIN_SAMPLES_PER_SIDE } from '../../src/compare/compare.js';
import type { Results } from '../../src/results/model.js';
import { cli } from '../helpers/cli.js';

function writeRun(dir: string, r: Results): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'results.json'), JSON.stringify(r, null, 2));
  return dir;
}

/** A quick-sized run: a few metrics at the minimum sample count the compare docs promise. */
function quickRun(seed: string, slower?: string): Results {
  const n = MIN_SAMPLES_PER_SIDE;
  const mk = (name: string, med: number) =>
    metric(name, samplesAround(`${seed}-${name}`, med * (name === slower ? 1.3 : 1), n, 0.05));
  return makeResults([
    caseResult('exits/cpuid', { metrics: [mk('cpuid.latency', 1500)] }),
    caseResult('exits/vmcall', { metrics: [mk('vmcall.latency', 2500)] }),
    caseResult('boot-micro/microvm', { metrics: [mk('boot.spawn_to_exit', 150)] }),
  ]);
}

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'kvmbench-e2e-'));
});

describe('kvmbench report', () => {
  it('renders every format from a report directory', () => {
    const dir = writeRun(join(tmp, 'rich'), richResults());
    const text = cli('report', dir);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^ERROR: 7 passed, 1 failed, 1 errored, 1 skipped of 10/);
    const junit = cli('report', join(dir, 'results.json'), '--format', 'junit');
    expect(junit.stdout).toContain('<testsuite name="exits"');
    expect(cli('report', dir, '--format', 'md').stdout).toContain('| exits/cpuid | pass | cpuid.latency');
    expect(JSON.parse(cli('report', dir, '--format', 'json').stdout).schema).toBe('kvmbench.results/1');
    const out = join(tmp, 'page.html');
    const html = cli('report', dir, '--format', 'html', '--output', out);
    expect(html.code).toBe(0);
    expect(readFileSync(out, 'utf8')).toContain('<!doctype html>');
  });

  it('exits 2 with a clear message on foreign, truncated and newer files', () => {
    const bad = join(tmp, 'bad');
    mkdirSync(bad);
    writeFileSync(join(bad, 'pkg.json'), '{"name":"x"}');
    writeFileSync(join(bad, 'trunc.json'), JSON.stringify(richResults()).slice(0, 300));
    writeFileSync(join(bad, 'newer.json'), JSON.stringify({ ...richResults(), schema: 'kvmbench.results/9' }));
    const cases: Array<[string, RegExp]> = [
      ['pkg.json', /not a kvmbench results file/],
      ['trunc.json', /truncated JSON/],
      ['newer.json', /newer than this kvmbench/],
      ['missing.json', /no such file/],
    ];
    for (const [f, re] of cases) {
      const r = cli('report', join(bad, f));
      expect(r.code, f).toBe(2);
      expect(r.stderr, f).toMatch(re);
    }
    expect(cli('report', join(bad, 'pkg.json'), '--format', 'pdf').code).toBe(2);
  });
});

describe('kvmbench compare', () => {
  it('prints a verdict per metric and exits 0 for two runs of the same build', () => {
    const a = writeRun(join(tmp, 'qa'), quickRun('a'));
    const b = writeRun(join(tmp, 'qb'), quickRun('b'));
    const r = cli('compare', a, b, '--fail-on-regression');
    expect(r.code).toBe(0);
    for (const m of ['cpuid.latency', 'vmcall.latency', 'boot.spawn_to_exit'])
      expect(r.stdout).toMatch(new RegExp(`^[~±✓✗?] \\S*${m.replace('.', '\\.')}`, 'm'));
    expect(r.stdout).toMatch(/0 regressed/);
  });

  it('exits 4 with --fail-on-regression when one metric is 30 % slower at the quick sample count', () => {
    const a = writeRun(join(tmp, 'ra'), quickRun('a'));
    const b = writeRun(join(tmp, 'rb'), quickRun('b', 'vmcall.latency'));
    const plain = cli('compare', a, b);
    expect(plain.code).toBe(0); // benchstat-like without the flag
    expect(plain.stdout).toMatch(/^✗ exits\/vmcall\/vmcall\.latency .* regressed/m);
    const r = cli('compare', a, b, '--fail-on-regression', '--format', 'md');
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/1 confirmed regression/);
    expect(r.stdout).toContain('**regressed**');
    expect(cli('compare', a, b, '--fail-on-regression', '--threshold', 'vmcall.latency=50').code).toBe(0);
  });

  it('refuses kvm against tcg with exit 2 unless --force; rejects bad input with exit 2', () => {
    const a = writeRun(join(tmp, 'ka'), quickRun('a'));
    const t = quickRun('b');
    t.run.accelerator = 'tcg';
    const b = writeRun(join(tmp, 'kb'), t);
    const r = cli('compare', a, b);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/kvm .* tcg|not comparable/);
    expect(r.stderr).toMatch(/--force/);
    expect(cli('compare', a, b, '--force').code).toBe(0);
    expect(cli('compare', a).code).toBe(2);
    expect(cli('compare', a, b, '--threshold', 'oops').code).toBe(2);
  });

  it('pairs Linux boot metrics whose older p90 labels differ: a 100 → 200 ms boot exits 4', () => {
    const a = writeRun(join(tmp, 'la'), bootLinuxResults('a', 100, { p90Label: true }));
    const b = writeRun(join(tmp, 'lb'), bootLinuxResults('b', 200, { p90Label: true }));
    const r = cli('compare', a, b, '--fail-on-regression');
    expect(r.code).toBe(4);
    expect(r.stdout).not.toMatch(/only in/);
    expect(r.stdout).toMatch(/^✗ boot-linux\/microvm\/boot\.spawn_to_firmware .* regressed/m);
  });

  it('refuses native against emulated figures with exit 2 unless --force, then notes the rows', () => {
    const a = writeRun(join(tmp, 'xa'), exitsResults('a', { execution: 'native' }));
    const b = writeRun(join(tmp, 'xb'), exitsResults('b', { execution: 'emulated' }));
    const r = cli('compare', a, b);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/native execution .* emulated .*not comparable/);
    expect(r.stderr).toMatch(/--force/);
    const f = cli('compare', a, b, '--force');
    expect(f.code).toBe(0);
    expect(f.stdout).toMatch(/execution differs: native vs emulated/);
  });

  it('compares several runs against the base and writes JUnit and HTML', () => {
    const a = writeRun(join(tmp, 'ma'), quickRun('a'));
    const b = writeRun(join(tmp, 'mb'), quickRun('b'));
    const c = writeRun(join(tmp, 'mc'), quickRun('c', 'cpuid.latency'));
    const j = cli('compare', a, b, c, '--format', 'junit');
    expect(j.code).toBe(0);
    expect(j.stdout.match(/<testsuite /g)).toHaveLength(2);
    expect(j.stdout).toContain('<failure');
    const h = cli('compare', a, c, '--format', 'html');
    expect(h.stdout).toContain('class="v-regressed"');
  });
});
