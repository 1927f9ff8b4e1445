/**
 * The run summary's line for QEMU's share of a user-space exit: exits/inl_from_qemu beside
 * raw/pio (the same inl from port 0x1234 through kvmbench's own VMM), only when both ran on the
 * same accelerator and execution mode; a pointer to the raw suite when an exits run lacks it.
 */
import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import { qemuShare, qemuShareLine } from '../../../src/report/qemu-share.js';
import type { ExecutionMode } from '../../../src/results/model.js';
import { summaryTable } from '../../../src/report/summary.js';
import { caseResult, makeResults, metric } from '../../helpers/results-fixture.js';

const plain = new Chalk({ level: 0 });
const exec = (mode: ExecutionMode) => ({ execution: { mode, evidence: [`fixture: ${mode}`] } });
const qemu = (ns: number, mode: ExecutionMode = 'emulated') =>
  caseResult('exits/inl_from_qemu', {
    tags: ['exits'],
    ...exec(mode),
    metrics: [metric('inl_from_qemu.latency', [ns, ns, ns], { execution: mode })],
  });
const raw = (ns: number, mode: ExecutionMode = 'emulated', status: 'pass' | 'skip' = 'pass') =>
  caseResult('raw/pio', {
    machine: 'raw',
    status,
    ...exec(mode),
    metrics: status === 'pass' ? [metric('pio.latency', [ns, ns, ns], { execution: mode })] : [],
  });

describe("QEMU's share of a user-space exit", () => {
  it('is inl_from_qemu minus raw/pio, in ns and as a share of the exit, in the summary under the table', () => {
    const r = makeResults([qemu(20_000), raw(7_000)]);
    expect(qemuShare(r)).toEqual({ qemuNs: 20_000, rawNs: 7_000, shareNs: 13_000, fraction: 0.65, mode: 'emulated' });
    const line =
      "QEMU's share of a user-space exit (inl from port 0x1234): exits/inl_from_qemu 20 000 ns − raw/pio 7 000 ns (kvmbench's own VMM, no QEMU) = 13 000 ns, 65 % of the exit (medians, emulated)";
    expect(qemuShareLine(r)).toBe(line);
    const t = summaryTable(r, plain).split('\n');
    expect(t.indexOf(line)).toBe(t.indexOf('') + 1);
  });

  it('points an exits run without the raw floor at the raw suite', () => {
    expect(qemuShareLine(makeResults([qemu(20_000)]))).toMatch(
      /^exits\/inl_from_qemu 20 000 ns; the raw-KVM floor of the same exit is not in this run \(`kvmbench run raw`/,
    );
  });

  it('sets nothing side by side across execution modes, and says nothing when the raw case skipped or neither ran', () => {
    expect(qemuShare(makeResults([qemu(2_000, 'native'), raw(7_000, 'emulated')]))).toBeUndefined();
    expect(qemuShareLine(makeResults([qemu(2_000, 'native'), raw(7_000, 'emulated')]))).toMatch(
      /different accelerators or execution modes \(native vs emulated\)/,
    );
    expect(qemuShareLine(makeResults([qemu(20_000), raw(0, 'emulated', 'skip')]))).toBeUndefined();
    expect(qemuShareLine(makeResults([raw(7_000)]))).toBeUndefined();
    expect(summaryTable(makeResults([raw(7_000)]), plain)).not.toMatch(/QEMU's share/);
  });
});
