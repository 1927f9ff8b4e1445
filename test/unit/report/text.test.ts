import { describe, expect, it } from 'vitest';
import { renderText } from '../../../src/report/text.js';
import { caseResult, exitsCase, fixtureExecution, makeResults, richResults } from '../../helpers/results-fixture.js';

const lines = (s: string): string[] => s.split('\n');
const after = (all: string[], prefix: RegExp): string[] => all.slice(all.findIndex((l) => prefix.test(l)));

describe('renderText: execution and exit accounting', () => {
  it('shows the run platform and, per case, the accelerator with its execution mode and the exit checks', () => {
    const out = lines(renderText(richResults()));
    expect(out).toContain('run: cpu host,+invtsc · execution native · KVM bare-metal');
    expect(out.some((l) => l.startsWith('!! EMULATED'))).toBe(false);
    const cpuid = after(out, /^PASS +exits\/cpuid /);
    expect(cpuid[0]).toMatch(/^PASS +exits\/cpuid +\d+\.\d\ds {2}\[kvm · native\]$/);
    expect(cpuid[1]).toBe('        exits per iteration 1.00 · expectation met: [ok] exits: 1.000 per iteration, expected 1');
    const inl = after(out, /^PASS +exits\/inl_from_qemu /);
    expect(inl[1]).toContain('[ok] exits: 1.000 per iteration, expected 1; [ok] io_exits: 1.000 per iteration, expected 1');
    expect(out.find((l) => /boot-micro\/q35/.test(l))).toMatch(/\[kvm · native\]$/);
    // A case that never ran shows no exit line.
    expect(after(out, /^FAIL +exits\/ipi /)[1]).not.toMatch(/exits per iteration/);
  });

  it('makes emulated figures impossible to miss: a run warning with the evidence and a marked line per case', () => {
    const r = richResults('rich', { mode: 'emulated' });
    const exitsMedian = r.cases[0]!.metrics.find((m) => m.name === 'cpuid.exits_per_iteration')!.summary.median;
    expect(exitsMedian).toBeGreaterThan(0.001);
    expect(exitsMedian).toBeLessThan(0.01);
    const out = lines(renderText(r));
    const warn = out.find((l) => l.startsWith('!! EMULATED: '));
    expect(warn).toContain('guest code ran emulated in this run');
    expect(warn).toContain("this host's KVM is pvm");
    expect(warn).toContain('Evidence: empty loop: 7,927 TSC ticks per iteration');
    expect(out.find((l) => l.startsWith('cpu note: '))).toContain('MSR 0x10a');
    const cpuid = after(out, /^PASS +exits\/cpuid /);
    expect(cpuid[0]).toMatch(/\[kvm · emulated\]$/);
    expect(cpuid[1]).toBe(
      '        ! emulated: KVM instruction-emulator costs, not hardware VM exits (KVM insn_emulation: 3.2 per empty-loop iteration (native ≤ 0.05, emulated ≥ 0.5): emulated)',
    );
    expect(cpuid[2]).toBe(
      `        exits per iteration ${exitsMedian.toPrecision(3)} · not judged: execution emulated ([not ok] exits: 0.003 per iteration, expected 1)`,
    );
  });

  it('names the emulated cases of a run that was otherwise native', () => {
    const r = makeResults([exitsCase('cpuid'), exitsCase('mov_dr', { mode: 'emulated', declared: 'exits=0-1' })], {
      run: { execution: fixtureExecution('native') },
    });
    const warn = lines(renderText(r)).find((l) => l.startsWith('!! EMULATED: '));
    expect(warn).toMatch(/^!! EMULATED: 1 of 2 cases ran emulated \(exits\/mov_dr\): /);
    expect(warn).toContain('Evidence: KVM insn_emulation: 3.2');
  });

  it('under TCG says tcg once and that there is no exit accounting', () => {
    const out = lines(renderText(richResults('rich', { mode: 'tcg' })));
    const cpuid = after(out, /^PASS +exits\/cpuid /);
    expect(cpuid[0]).toMatch(/\[tcg\]$/);
    expect(cpuid[1]).toBe(
      '        exits per iteration – · no exit accounting: under TCG there are no VM exits and no KVM statistics',
    );
    expect(out.some((l) => l.startsWith('!! EMULATED'))).toBe(false);
  });

  it('keeps control characters from evidence and cpu notes off the terminal', () => {
    const c = caseResult('exits/x', { execution: { mode: 'emulated', evidence: ['\u001b[2Jcleared\u0007'] } });
    const out = renderText(makeResults([c], { run: { cpuNote: 'note\u001b]0;title\u0007' } }));
    // eslint-disable-next-line no-control-regex -- the escape and bell a guest could send
    expect(out).not.toMatch(/\u001b|\u0007/);
    expect(out).toContain('(cleared?)');
  });
});
