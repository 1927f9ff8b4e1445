import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FailurePattern, PATTERN_LENGTH } from '../../../src/suites/failure-pattern.js';
import { loadSuite } from '../../../src/suites/load.js';
import { runSuite } from '../../../src/suites/runner.js';
import type { CaseExecutor } from '../../../src/cases/types.js';
import { currentLaunchScope, type LaunchReport } from '../../../src/vmm/launch-scope.js';
import { STARTUP_BUDGET_MS } from '../../../src/vmm/startup.js';

const hung: LaunchReport = {
  binary: 'qemu',
  accel: 'tcg',
  startFailure: { kind: 'never-ran', cause: 'QEMU started but the guest never ran within the startup budget of 10 s' },
};
const crashed: LaunchReport = {
  binary: 'qemu',
  accel: 'tcg',
  startFailure: { kind: 'exited-before-guest', cause: 'QEMU was ended by signal SIGSEGV before the guest ran' },
};
const ran: LaunchReport = { binary: 'qemu', accel: 'tcg' };

describe('FailurePattern', () => {
  it('makes a pattern of two consecutive cases failing with the same start failure, naming the first', () => {
    expect(PATTERN_LENGTH).toBe(2);
    const p = new FailurePattern();
    p.record({ id: 'exits/cpuid', status: 'error' }, [hung]);
    expect(p.skipReason()).toBeUndefined();
    p.record({ id: 'exits/vmcall', status: 'error' }, [hung]);
    expect(p.skipReason()).toMatch(
      /^skipped: every earlier case since exits\/cpuid failed the same way \(exits\/cpuid, exits\/vmcall\): QEMU started but the guest never ran .*; exits\/cpuid has the full report; --keep-going/,
    );
  });

  it('starts over on a different cause, and on a case whose guest ran', () => {
    const p = new FailurePattern();
    p.record({ id: 'a', status: 'error' }, [hung]);
    p.record({ id: 'b', status: 'error' }, [crashed]);
    expect(p.skipReason()).toBeUndefined();
    p.record({ id: 'c', status: 'pass' }, [ran]);
    p.record({ id: 'd', status: 'error' }, [crashed]);
    expect(p.skipReason()).toBeUndefined();
    // A failure of the guest's own (it ran) is no start failure.
    p.record({ id: 'e', status: 'fail' }, [ran]);
    p.record({ id: 'f', status: 'error' }, [crashed]);
    expect(p.skipReason()).toBeUndefined();
  });

  it('is left as it is by cases that start no QEMU, and a case is judged by its last failing launch', () => {
    const p = new FailurePattern();
    p.record({ id: 'a', status: 'error' }, [hung]);
    p.record({ id: 'raw/cpuid', status: 'skip' }, []);
    p.record({ id: 'b', status: 'error' }, [ran, hung]);
    expect(p.skipReason()).toMatch(/since a failed the same way \(a, b\)/);
  });

  it('never skips with --keep-going', () => {
    const p = new FailurePattern(true);
    for (const id of ['a', 'b', 'c']) p.record({ id, status: 'error' }, [hung]);
    expect(p.skipReason()).toBeUndefined();
  });
});

describe('runner: launch scope and the same failure once', () => {
  const work = mkdtempSync(join(tmpdir(), 'kvmbench-pattern-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const budgets: Array<number | undefined> = [];
  // Stands in for an executor whose QEMU never got to its guest: it reports what launchQemu
  // reports to the case's scope (the launcher's side is tested end to end, test/e2e/startup.test.ts).
  const noGuest: CaseExecutor = {
    kind: 'test-noguest',
    async run(spec, ctx) {
      const scope = currentLaunchScope();
      budgets.push(scope?.startupMs);
      scope?.onLaunch?.(spec.args.ok ? ran : hung);
      return spec.args.ok
        ? { status: 'pass', metrics: [] }
        : { status: 'error', reason: `${spec.id}: the guest never ran`, metrics: [], accelerator: ctx.accel };
    },
  };
  const noQemu: CaseExecutor = {
    kind: 'test-noqemu',
    startsQemu: false,
    async run() {
      budgets.push(currentLaunchScope()?.startupMs);
      return { status: 'pass', metrics: [] };
    },
  };
  const registry = (k: string) => (k === noGuest.kind ? noGuest : k === noQemu.kind ? noQemu : undefined);
  const suite = () => {
    const f = join(work, 'pat.yaml');
    writeFileSync(
      f,
      [
        'suite: pat',
        'defaults: { kind: test-noguest, machine: pc }',
        'cases:',
        '  - id: a',
        '  - id: b',
        '    startup: 3',
        '  - id: other',
        '    kind: test-noqemu',
        '  - id: c',
        '  - id: d',
        '    args: { ok: true }',
        '',
      ].join('\n'),
    );
    return loadSuite(f);
  };
  const run = (keepGoing: boolean) =>
    runSuite({
      suite: suite(),
      accel: 'tcg',
      quick: false,
      argv: [],
      output: join(work, `out-${keepGoing}`),
      executorFor: registry,
      keepGoing,
      deps: { resolveAccel: async () => ({ accel: 'tcg', warnings: [] }), fingerprint: async () => ({ hostname: 'test' }) },
    });

  it('skips the remaining QEMU cases after two, runs the others, and passes each case its startup budget', async () => {
    budgets.length = 0;
    const s = await run(false);
    expect(s.results.cases.map((c) => `${c.id} ${c.status}`)).toEqual([
      'pat/a error',
      'pat/b error',
      'pat/other pass',
      'pat/c skip',
      'pat/d skip',
    ]);
    expect(s.results.cases[3]!.reason).toMatch(
      /^skipped: every earlier case since pat\/a failed the same way \(pat\/a, pat\/b\)/,
    );
    // The suite's `startup: 3` for b; the TCG micro default for a; none for an executor that starts no QEMU.
    expect(budgets).toEqual([STARTUP_BUDGET_MS.tcg.micro, 3000, 0]);
  });

  it('runs every case with keepGoing', async () => {
    const s = await run(true);
    expect(s.results.cases.map((c) => c.status)).toEqual(['error', 'error', 'pass', 'error', 'pass']);
  });
});
