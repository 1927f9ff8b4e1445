/**
 * The kut suite end to end under TCG without a kvm-unit-tests tree: a temporary tree holds
 * kvmbench's own cfg (test/fixtures/kut/unittests.cfg) and guests/conform as x86/conform.flat,
 * a guest that speaks kvm-unit-tests' conventions. Through the built CLI: verdicts from the exit
 * status and the sub-check lines, every precondition's skip, a hang killed at its timeout, a
 * flood stopped at the output cap, JUnit per sub-check, the HTML table, --jobs keeping the cfg's
 * order, a truncated cfg (exit 2), and compare flagging a planted pass→fail (exit 4).
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guestImage } from '../../src/guests/index.js';
import { validateResults } from '../../src/results/load.js';
import type { Results } from '../../src/results/model.js';
import { packageRoot } from '../../src/version.js';
import { runCli } from '../helpers/cli.js';

let tmp: string;
let tree: string;
let out: string;
let results: Results;
let run: ReturnType<typeof runCli>;

const status = (id: string) => results.cases.find((c) => c.id === `kut/${id}`);

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'kvmb-e2e-kut-'));
  tree = join(tmp, 'tree');
  mkdirSync(join(tree, 'x86'), { recursive: true });
  copyFileSync((await guestImage('conform')).path, join(tree, 'x86', 'conform.flat'));
  copyFileSync(join(packageRoot(), 'test/fixtures/kut/unittests.cfg'), join(tree, 'x86', 'unittests.cfg'));
  writeFileSync(join(tree, 'config.mak'), 'ARCH=x86_64\n');
  out = join(tmp, 'out');
  run = runCli(
    ['run', 'kut', '--kut-dir', tree, '--accel', 'tcg', '--jobs', '2', '--output', out],
    { KVMBENCH_KUT_MAX_OUTPUT: '65536' },
    240_000,
  );
  results = validateResults(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')));
}, 250_000);

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('kvmbench run kut --accel tcg (guests/conform)', () => {
  it('exits 1 (a stanza failed) with every stanza a case in the cfg order, whatever --jobs finished first', () => {
    expect(run.status, run.stderr).toBe(1);
    expect(results.cases.map((c) => c.id)).toEqual(
      [
        'passes',
        'fails',
        'skips',
        'xfails',
        'aborts',
        'kvm_only',
        'needs_param',
        'manual',
        'shell_args',
        'refused_cpu',
        'no_image',
        'i386_only',
        'hangs',
        'floods',
      ].map((n) => `kut/${n}`),
    );
    expect(results.cases.every((c) => c.kind === 'conformance')).toBe(true);
  });

  it('judges by the exit status and the sub-check lines', () => {
    expect(status('passes')?.status).toBe('pass');
    expect(status('passes')?.conformance?.checks.map((k) => k.status)).toEqual(['pass', 'pass', 'pass']);
    expect(status('passes')?.conformance?.exitStatus).toBe(1);
    expect(status('passes')?.tags).toEqual(['demo', 'smp']);
    expect(status('fails')?.status).toBe('fail');
    expect(status('fails')?.reason).toContain('planted failure');
    expect(status('fails')?.conformance?.exitStatus).toBe(3);
    expect(status('skips')?.status).toBe('skip');
    expect(status('skips')?.conformance?.exitStatus).toBe(77);
    expect(status('xfails')?.status).toBe('pass');
    expect(status('xfails')?.conformance?.checks.some((k) => k.status === 'xfail')).toBe(true);
    expect(status('aborts')?.status).toBe('fail');
    expect(status('aborts')?.reason).toContain('planted abort');
  });

  it('skips what cannot run here, each with its reason', () => {
    expect(status('kvm_only')?.reason).toContain('only on kvm');
    expect(status('needs_param')?.reason).toContain('no_such_parameter_kvmbench is absent, not Y');
    expect(status('manual')?.reason).toContain('nodefault');
    expect(status('shell_args')?.reason).toContain('command substitution');
    expect(status('refused_cpu')?.reason).toContain('no-such-model-kvmbench');
    expect(status('no_image')?.reason).toContain('not found');
    expect(status('i386_only')?.reason).toContain('i386 only');
    for (const id of ['kvm_only', 'needs_param', 'manual', 'shell_args', 'refused_cpu', 'no_image', 'i386_only'])
      expect(status(id)?.status, id).toBe('skip');
  });

  it('kills a hang at its timeout and stops a flood at the output cap; warns about the unknown key', () => {
    expect(status('hangs')?.status).toBe('fail');
    expect(status('hangs')?.reason).toContain('timeout after 3 s');
    expect(status('hangs')!.durationMs).toBeLessThan(30_000);
    expect(status('floods')?.status).toBe('fail');
    expect(status('floods')?.reason).toContain('output flood');
    expect(results.run.warnings?.some((w) => w.includes("unknown key 'colour' in [hangs]"))).toBe(true);
  });

  it('writes a JUnit testcase per sub-check and an HTML table by group', () => {
    const junit = readFileSync(join(out, 'junit.xml'), 'utf8');
    expect(junit).toContain('name="kut/passes: conform: pc-testdev present"');
    expect(junit).toMatch(/name="kut\/fails: conform: planted failure"[^>]*>\s*<failure/);
    expect(junit).toContain('classname="kvmbench.kut.fails"');
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain('id="conformance"');
    expect(html).toMatch(/<tr class="group"><th colspan="5">demo /);
  });

  it('compare flags a planted pass→fail as a regression (exit 4 with --fail-on-regression)', () => {
    const planted = structuredClone(results);
    planted.run.id = 'planted';
    const c = planted.cases.find((x) => x.id === 'kut/passes')!;
    c.status = 'fail';
    c.conformance!.checks[1]!.status = 'fail';
    const dir = join(tmp, 'planted');
    mkdirSync(dir);
    writeFileSync(join(dir, 'results.json'), JSON.stringify(planted));
    const cmp = runCli(['compare', out, dir, '--fail-on-regression']);
    expect(cmp.status, cmp.stderr).toBe(4);
    expect(cmp.stdout).toMatch(/kut\/passes\s+PASS → FAIL\s+regressed/);
    expect(cmp.stdout).toContain('newly failing: conform: pc-testdev present');
    expect(runCli(['compare', out, out, '--fail-on-regression']).status).toBe(0);
  });

  it('doctor --profile conform --kut-dir names the stanzas that would skip here', () => {
    const r = runCli(['doctor', '--profile', 'conform', '--kut-dir', tree, '--json']);
    expect([0, 1], r.stderr).toContain(r.status);
    const stanzas = (JSON.parse(r.stdout) as { checks: Array<{ id: string; evidence: string[] }> }).checks.find(
      (c) => c.id === 'conform.stanzas',
    )!;
    expect(stanzas.evidence[0]).toMatch(/^14 stanzas in .*unittests\.cfg, \d+ would skip here$/);
    expect(stanzas.evidence).toContain('i386_only: i386 only');
    expect(stanzas.evidence).toContain('manual: group nodefault (runs only with --only)');
    expect(stanzas.evidence).toContain('needs_param: /sys/module/kvm/parameters/no_such_parameter_kvmbench is absent, not Y');
  });

  it('refuses a truncated cfg with its line (exit 2) before any guest starts', () => {
    const bad = join(tmp, 'bad');
    mkdirSync(join(bad, 'x86'), { recursive: true });
    writeFileSync(join(bad, 'x86', 'unittests.cfg'), '[one]\nfile = conform.flat\n\n[two]\nqemu_params = """-m 64\n');
    const r = runCli(['run', 'kut', '--kut-dir', bad, '--accel', 'tcg', '--output', join(tmp, 'bad-out')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unittests\.cfg:5: qemu_params starts a """ value that never ends/);
  });
});
