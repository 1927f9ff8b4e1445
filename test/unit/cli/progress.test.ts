import { describe, expect, it } from 'vitest';
import { Chalk } from 'chalk';
import { requirementsFromDoctor } from '../../../src/app/runner-deps.js';
import { isLiveTerminal, makeReporter, PlainReporter, TtyReporter } from '../../../src/cli/progress.js';
import { summaryTable } from '../../../src/report/summary.js';
import { selectCases } from '../../../src/suites/select.js';
import type { CaseSpec } from '../../../src/cases/types.js';
import { caseResult, makeResults, metric } from '../../helpers/results-fixture.js';

const plain = new Chalk({ level: 0 });
const spec = (suite: string, id: string, tags: string[] = []): CaseSpec => ({
  id,
  suite,
  kind: 'k',
  machine: 'q35',
  accel: ['kvm', 'tcg'],
  vcpus: 1,
  memoryMiB: 64,
  args: {},
  repeat: 1,
  deadlineSec: 1,
  tags,
  requires: [],
});

function sink(isTTY = false) {
  const chunks: string[] = [];
  return { chunks, stream: { write: (s: string) => chunks.push(s), isTTY, columns: 60 } };
}

describe('live display', () => {
  it('is plain in CI or without a TTY, live on a TTY', () => {
    expect(isLiveTerminal({ write: () => true, isTTY: true }, {})).toBe(true);
    expect(isLiveTerminal({ write: () => true, isTTY: true }, { CI: 'true' })).toBe(false);
    expect(isLiveTerminal({ write: () => true, isTTY: false }, {})).toBe(false);
    expect(makeReporter({ write: () => true, isTTY: true }, plain, { CI: '1' })).toBeInstanceOf(PlainReporter);
    expect(makeReporter({ write: () => true, isTTY: true }, plain, {})).toBeInstanceOf(TtyReporter);
  });

  it('prints one plain line per case with status, id, time and the reason of a non-pass', () => {
    const { chunks, stream } = sink();
    const r = new PlainReporter(stream, plain);
    r.begin({ runId: 'x', suite: 'quick', dir: '/out', total: 2, accel: 'tcg', quick: true, warnings: ['KVM is not usable'] });
    r.caseStart(0, 2, spec('exits', 'cpuid'));
    r.phase('boot 1/3');
    r.caseEnd(0, 2, caseResult('exits/cpuid', { durationMs: 1500 }));
    r.caseStart(1, 2, spec('exits', 'vmcall'));
    r.caseEnd(1, 2, caseResult('exits/vmcall', { status: 'skip', reason: 'raised #UD\nunder TCG', durationMs: 20 }));
    r.close();
    expect(chunks.join('')).toBe(
      [
        'kvmbench run quick (2 cases, accelerator tcg, quick) → /out',
        'warning: KVM is not usable',
        '[1/2] pass  exits/cpuid  1.5 s',
        '[2/2] skip  exits/vmcall  20 ms  raised #UD ⏎ under TCG',
        '',
      ].join('\n'),
    );
  });

  it('redraws a status line on a TTY with case n of N, phase and an estimate, never wider than the terminal', () => {
    const { chunks, stream } = sink(true);
    const r = new TtyReporter(stream, plain);
    r.begin({ runId: 'x', suite: 'quick', dir: '/out', total: 3, accel: 'kvm', quick: false, warnings: [] });
    r.caseStart(0, 3, spec('exits', 'cpuid'));
    r.caseEnd(0, 3, caseResult('exits/cpuid', { durationMs: 2000 }));
    r.caseStart(1, 3, spec('exits', 'a-very-long-case-identifier-that-does-not-fit'));
    r.phase('sample 4/10');
    r.close();
    const frames = chunks.join('').split('\r\x1b[2K').filter(Boolean);
    const live = frames.filter((f) => f.startsWith('[2/3]'));
    expect(live.length).toBeGreaterThan(0);
    expect(live.at(-1)).toBe('[2/3] exits/a-very-long-case-identifier-that-does-not-fit ·');
    // eslint-disable-next-line no-control-regex -- stripping ANSI colour codes
    for (const f of live) expect(f.replace(/\x1b\[[0-9;]*m/g, '').length).toBeLessThanOrEqual(59);
    const wide = new TtyReporter({ write: (s: string) => chunks.push(s), isTTY: true, columns: 200 }, plain);
    chunks.length = 0;
    wide.begin({ runId: 'x', suite: 'q', dir: '/o', total: 3, accel: 'kvm', quick: false, warnings: [] });
    wide.caseStart(0, 3, spec('s', 'a'));
    wide.caseEnd(0, 3, caseResult('s/a', { durationMs: 2000 }));
    wide.caseStart(1, 3, spec('s', 'b'));
    wide.close();
    expect(chunks.join('')).toMatch(/\[2\/3\] s\/b · starting · \d+ ms · total \d+ ms · ~\d+(\.\d)? s left/);
  });
});

describe('summary table', () => {
  it('shows the first metric as median ± CV with unit and n, exits per iteration, accelerator and execution, then reasons and totals', () => {
    const r = makeResults([
      caseResult('exits/cpuid', { metrics: [metric('cpuid.latency', [100, 110, 120]), metric('cpuid.ticks', [1, 2, 3])] }),
      caseResult('exits/vmcall', { status: 'skip', reason: 'no hypercalls under TCG', log: 'logs/exits/vmcall.log' }),
      caseResult('boot/q35', { status: 'error', reason: 'deadline of 60 s exceeded' }),
    ]);
    const t = summaryTable(r, plain).split('\n');
    expect(t[0]).toMatch(/^case +status +median ± cv +unit +n +exits\/iter +accel · exec +metric$/);
    // An exits case without KVM's count shows `–`; the metric's name drops the test the case column names.
    expect(t[1]).toMatch(/^exits\/cpuid +pass +110\.0 ± 9\.1% +ns +3 +– +kvm +latency$/);
    expect(t[2]).toMatch(/^exits\/vmcall +skip +– +kvm$/);
    expect(t[3]).toMatch(/^boot\/q35 +error +kvm$/);
    expect(t).toContain('  skip exits/vmcall: no hypercalls under TCG (log: logs/exits/vmcall.log)');
    expect(t).toContain('  error boot/q35: deadline of 60 s exceeded');
    expect(t.at(-1)).toBe('1 passed, 0 failed, 1 errors, 1 skipped');
    expect(summaryTable(makeResults([], { run: { state: 'interrupted' } }), plain)).toMatch(/— run interrupted$/);
  });
});

describe('requirementsFromDoctor', () => {
  it('meets pass and warn, not fail, skip or unknown ids, with the evidence and fix as reason', () => {
    const m = requirementsFromDoctor(
      {
        checks: [
          { id: 'vmm.qemu', status: 'pass', evidence: ['found'] },
          { id: 'bench.smt', status: 'warn', evidence: ['SMT on'] },
          { id: 'kvm.dev-open', status: 'fail', evidence: ['/dev/kvm: does not exist'], fix: 'modprobe kvm_intel' },
          { id: 'nested.state', status: 'skip', evidence: ['no KVM'] },
        ],
      },
      ['vmm.qemu', 'bench.smt', 'kvm.dev-open', 'nested.state', 'kvm.typo'],
    );
    expect(Object.fromEntries(m)).toEqual({
      'vmm.qemu': { ok: true, reason: '' },
      'bench.smt': { ok: true, reason: '' },
      'kvm.dev-open': { ok: false, reason: '/dev/kvm: does not exist (fix: modprobe kvm_intel)' },
      'nested.state': { ok: false, reason: 'skipped: no KVM' },
      'kvm.typo': { ok: false, reason: "the doctor has no check 'kvm.typo'" },
    });
  });
});

describe('selectCases', () => {
  const cases = [
    spec('exits', 'cpuid', ['in-kernel']),
    spec('exits', 'inl_from_qemu', ['user-space']),
    spec('boot-micro', 'q35', ['boot']),
  ];
  const ids = (only?: string[], skip?: string[]) => selectCases(cases, { only, skip }).map((c) => `${c.suite}/${c.id}`);
  it('matches ids, suite/ids, tags and globs; keeps suite order', () => {
    expect(ids(['q35', 'cpuid'])).toEqual(['exits/cpuid', 'boot-micro/q35']);
    expect(ids(['exits/*'])).toEqual(['exits/cpuid', 'exits/inl_from_qemu']);
    expect(ids(['tag:user-space'])).toEqual(['exits/inl_from_qemu']);
    expect(ids(['in-kernel'])).toEqual(['exits/cpuid']);
    expect(ids(undefined, ['boot', 'inl_*'])).toEqual(['exits/cpuid']);
    expect(ids(['**'])).toHaveLength(3);
    expect(ids(['*'])).toHaveLength(3);
  });
  it('rejects patterns that match nothing and selections that leave nothing', () => {
    expect(() => ids(['cpuidd'])).toThrow(/--only 'cpuidd' matches no case id or tag/);
    expect(() => ids(undefined, ['nope'])).toThrow(/--skip 'nope'/);
    expect(() => ids(['cpuid'], ['cpuid'])).toThrow(/no case left/);
    expect(() => ids(['tag:cpuid'])).toThrow(/matches no case/);
  });
});
