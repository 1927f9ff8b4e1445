/**
 * Verdicts over real output: test/fixtures/kut/tcg/ holds the console of kvm-unit-tests stanzas
 * run under TCG by `kvmbench run kut` (docs/kut.md, "Fixtures"), named NAME.status-S.txt with
 * QEMU's exit status S.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KutOutput, MAX_CHECKS } from '../../../src/kut/output.js';
import { kutVerdict, type KutExit } from '../../../src/kut/verdict.js';

const DIR = join(import.meta.dirname, '../../fixtures/kut/tcg');

function replay(name: string): { out: KutOutput; status: number } {
  const file = readdirSync(DIR).find((f) => f.startsWith(`${name}.status-`))!;
  const out = new KutOutput();
  const text = readFileSync(join(DIR, file), 'utf8');
  for (const line of text.split('\n')) out.add(line);
  return { out, status: Number(/status-(\d+)/.exec(file)![1]) };
}

const exit = (exitCode: number | null, more: Partial<KutExit> = {}): KutExit => ({
  exitCode,
  signal: null,
  timedOut: false,
  aborted: false,
  stderr: '',
  consoleBytes: 100,
  timeoutSec: 90,
  ...more,
});

describe('kutVerdict over captured stanzas', () => {
  it('smptest: status 1 and a SUMMARY is a pass', () => {
    const { out, status } = replay('smptest');
    expect(kutVerdict(exit(status), out)).toEqual({ status: 'pass' });
    expect(out.summary).toMatchObject({ tests: 1, failures: 0 });
  });

  it('hypercall: status 3 is a fail naming the first failed sub-check', () => {
    const { out, status } = replay('hypercall');
    const v = kutVerdict(exit(status), out);
    expect(v.status).toBe('fail');
    expect(v.reason).toContain('first: Hypercall via VMMCALL: #UD(0)');
    expect(out.checks.map((k) => k.status)).toEqual(['pass', 'fail', 'pass', 'fail']);
    expect(out.summary).toMatchObject({ tests: 4, failures: 2 });
  });

  it('tsc_adjust and vmx: status 77 is a skip with the SKIP line or the summary', () => {
    const a = replay('tsc_adjust');
    expect(kutVerdict(exit(a.status), a.out)).toEqual({ status: 'skip', reason: 'MSR_IA32_TSC_ADJUST feature not enabled' });
    const b = replay('vmx');
    expect(kutVerdict(exit(b.status), b.out).status).toBe('skip');
  });

  it('vmexit_vmcall and emulator: status 127 is an abort, with the unhandled exception', () => {
    const a = replay('vmexit_vmcall');
    expect(kutVerdict(exit(a.status), a.out).reason).toMatch(/aborted after Unhandled exception 6 #UD/);
    const b = replay('emulator');
    const v = kutVerdict(exit(b.status), b.out);
    expect(v.status).toBe('fail');
    expect(v.reason).toMatch(/\d+ passed, 4 failed/);
  });

  it('strips colour codes and carriage returns from report lines', () => {
    const out = new KutOutput();
    out.add('\u001b[32mPASS\u001b[0m: apic: self IPI\r');
    out.add('XPASS: should fail');
    out.add('KFAIL: known');
    out.add('INFO: not a check');
    expect(out.checks).toEqual([
      { name: 'apic: self IPI', status: 'pass' },
      { name: 'should fail', status: 'xpass' },
      { name: 'known', status: 'kfail' },
    ]);
    expect(kutVerdict(exit(3), out).reason).toContain('1 unexpectedly passed');
  });

  it('keeps at most MAX_CHECKS sub-checks and counts the rest', () => {
    const out = new KutOutput();
    for (let i = 0; i < MAX_CHECKS + 7; i++) out.add(`PASS: line ${i}`);
    expect(out.checks).toHaveLength(MAX_CHECKS);
    expect(out.dropped).toBe(7);
    expect(out.counts.pass).toBe(MAX_CHECKS + 7);
  });
});

describe('kutVerdict: how QEMU ended', () => {
  const none = new KutOutput();
  it('maps timeouts, signals, floods, resets and QEMU refusals', () => {
    expect(kutVerdict(exit(null, { timedOut: true, timeoutSec: 3 }), none)).toMatchObject({
      status: 'fail',
      reason: expect.stringContaining('timeout after 3 s'),
    });
    expect(kutVerdict(exit(null, { signal: 'SIGSEGV' }), none)).toEqual({ status: 'fail', reason: 'QEMU terminated on SIGSEGV' });
    expect(kutVerdict(exit(null, { floodBytes: 65536 }), none).reason).toContain('output flood');
    expect(kutVerdict(exit(0), none).reason).toContain('without writing isa-debug-exit');
    expect(
      kutVerdict(exit(1, { stderr: "qemu-system-x86_64: CPU model 'host' requires KVM or HVF\n", consoleBytes: 0 }), none),
    ).toEqual({
      status: 'skip',
      reason: "QEMU refused the stanza's configuration: qemu-system-x86_64: CPU model 'host' requires KVM or HVF",
    });
    expect(kutVerdict(exit(1, { stderr: 'qemu: something broke\n' }), none).status).toBe('error');
    expect(
      kutVerdict(exit(1, { stderr: "qemu-system-x86_64: warning: TCG doesn't support requested feature\n" }), none).status,
    ).toBe('pass');
    expect(kutVerdict(exit(null, { aborted: true }), none).status).toBe('error');
    expect(kutVerdict(exit(9), none).reason).toContain('code 4');
    expect(kutVerdict(exit(2), none).status).toBe('error');
  });

  it('a pass status with a FAIL line is a fail', () => {
    const out = new KutOutput();
    out.add('FAIL: hidden');
    expect(kutVerdict(exit(1), out)).toMatchObject({ status: 'fail', reason: expect.stringContaining('hidden') });
  });
});
