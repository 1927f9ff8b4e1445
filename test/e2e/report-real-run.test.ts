/**
 * Reports and compare on real runs: two `kvmbench run exits --quick` runs (TCG here, KVM
 * where it works) must leave results.json, junit.xml and report.html; the JUnit file must
 * read in a real JUnit reader; `report` must render every format; `compare` of the two must
 * print a verdict per metric and exit 0 with --fail-on-regression.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadResults } from '../../src/results/load.js';
import { packageRoot } from '../../src/version.js';

const root = packageRoot();
const bin = join(root, 'bin/run.js');
const require = createRequire(import.meta.url);
const trp = require('test-results-parser') as { parse(o: { type: string; files: string[] }): { total: number; suites: Array<{ name: string; cases: Array<{ name: string; status: string }> }> } };
const qemu = ['/usr/bin/qemu-system-x86_64', '/usr/local/bin/qemu-system-x86_64'].some(existsSync);
// CI installs QEMU (scripts/setup-host.sh), so there its absence is a failure, not a skip.
const suite = qemu || process.env.CI ? describe : describe.skip;

function cli(args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8', timeout: 240_000, env: { ...process.env, NO_COLOR: '1' } });
}

suite('reports of real runs', () => {
  let tmp: string;
  beforeAll(() => {
    execFileSync('npm', ['run', 'build:ts'], { cwd: root, stdio: 'pipe' });
    execFileSync(process.execPath, [join(root, 'scripts', 'build-guests.mjs')], { stdio: 'pipe' });
    tmp = mkdtempSync(join(tmpdir(), 'kvmbench-e2e-real-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('run writes results.json, junit.xml and report.html; report and compare read them', async () => {
    const dirs = [join(tmp, 'a'), join(tmp, 'b')];
    for (const d of dirs) {
      const r = cli(['run', 'exits', '--quick', '--only', 'cpuid', '--only', 'inl_from_qemu', '--only', 'vmcall', '-o', d]);
      expect(r.status, r.stderr).toBe(0);
      for (const f of ['results.json', 'junit.xml', 'report.html']) expect(existsSync(join(d, f)), f).toBe(true);
    }
    const { results } = await loadResults(dirs[0]!);
    const parsed = trp.parse({ type: 'junit', files: [join(dirs[0]!, 'junit.xml')] });
    expect(parsed.suites.flatMap((s) => s.cases.map((c) => c.name)).sort()).toEqual(results.cases.map((c) => c.id).sort());
    const html = readFileSync(join(dirs[0]!, 'report.html'), 'utf8');
    expect(html).toContain('id="verdict"');
    expect(html).not.toMatch(/<script/i);
    for (const f of ['junit', 'html', 'md', 'text', 'json']) expect(cli(['report', dirs[0]!, '--format', f]).status, f).toBe(0);

    const cmp = cli(['compare', dirs[0]!, dirs[1]!, '--fail-on-regression', '--format', 'json']);
    expect(cmp.status, cmp.stderr).toBe(0);
    const out = JSON.parse(cmp.stdout) as { pairs: Array<{ hosts: { relation: string }; metrics: Array<{ key: string; verdict: string }> }> };
    expect(out.pairs[0]!.hosts.relation).toBe('same-host');
    const metricCount = results.cases.reduce((s, c) => s + (c.status === 'skip' ? 0 : c.metrics.length), 0);
    expect(out.pairs[0]!.metrics).toHaveLength(metricCount);
    for (const m of out.pairs[0]!.metrics) expect(['improved', 'regressed', 'unchanged', 'too-few']).toContain(m.verdict);
  });
});
