import { describe, expect, it } from 'vitest';
import {
  aggregatePerIteration,
  expandExpectation,
  flattenVcpuStats,
  powersOfTwoUpTo,
  vcpuLabel,
  vcpuPlan,
  vcpuSamples,
} from '../../../src/cases/smp.js';
import { attributeSamples, checkExpectation, parseExpectation } from '../../../src/cases/exit-accounting.js';
import { scalingCounts } from '../../../src/cases/exits-scaling.js';
import { exitTests } from '../../../src/cases/exits.js';
import type { CaseSpec } from '../../../src/cases/types.js';

const spec = (args: CaseSpec['args'], vcpus = 1) => ({ args, vcpus, suite: 's', id: 'c' });

describe('several vCPUs: counters, declarations, samples', () => {
  it("flattens every vCPU's counters: vCPU 0 under its own names, vCPU k as cpuK.name", () => {
    expect(flattenVcpuStats([{ exits: 5, halt_exits: 1 }, { exits: 7 }, { io_exits: 2 }])).toEqual({
      exits: 5,
      halt_exits: 1,
      'cpu1.exits': 7,
      'cpu2.io_exits': 2,
    });
    expect(flattenVcpuStats([])).toEqual({});
  });

  it('peers.counter declares every vCPU but 0; parallel declares plain counters for every vCPU', () => {
    const e = parseExpectation('exits=0-1 peers.exits=1-2 peers.halt_exits=1');
    expect(expandExpectation(e, 3, false)).toEqual({
      exits: [0, 1],
      'cpu1.exits': [1, 2],
      'cpu2.exits': [1, 2],
      'cpu1.halt_exits': [1, 1],
      'cpu2.halt_exits': [1, 1],
    });
    expect(expandExpectation(parseExpectation('exits=1 io_exits=1'), 2, true)).toEqual({
      exits: [1, 1],
      io_exits: [1, 1],
      'cpu1.exits': [1, 1],
      'cpu1.io_exits': [1, 1],
    });
    // One vCPU: a peers. declaration names nobody (the guest skips such a test there anyway).
    expect(expandExpectation(e, 1, false)).toEqual({ exits: [0, 1] });
    expect(() => parseExpectation('cpu1.exits=1')).toThrow(/peers\.name/);
  });

  it("judges a receiver's counters on their own: a second vCPU's missing halt exit fails its check", () => {
    const snap = (loop: 'init' | 'null' | 'test', i: number, e0: number, e1: number, h1: number) => ({
      loop,
      i,
      stats: flattenVcpuStats([{ exits: e0 }, { exits: e1, halt_exits: h1 }]),
    });
    // 100 iterations: vCPU 0 exits once each, vCPU 1 twice with one hlt each; the null windows add 3 and 1.
    const phases = [snap('init', 0, 0, 0, 0), snap('null', 0, 3, 1, 0), snap('test', 0, 106, 202, 100)];
    const acc = attributeSamples(phases, 100);
    expect(acc[0]!.perIteration).toMatchObject({ exits: 1, 'cpu1.exits': 2, 'cpu1.halt_exits': 1 });
    const ok = checkExpectation(
      expandExpectation(parseExpectation('exits=0-1 peers.exits=1-2 peers.halt_exits=1'), 2, false),
      acc,
    );
    expect(ok.every((c) => c.ok)).toBe(true);
    const bad = checkExpectation(expandExpectation(parseExpectation('peers.halt_exits=2'), 2, false), acc);
    expect(bad).toEqual([expect.objectContaining({ counter: 'cpu1.halt_exits', ok: false, measured: 1 })]);
  });

  it('reads vsample lines by vCPU and averages the per-iteration figures over the vCPUs, sample by sample', () => {
    const ev = (cpu: number, i: number, ticks: number, base: number) => ({
      type: 'vsample',
      fields: { test: 'cpuid', cpu: String(cpu), i: String(i), iters: '10', ticks: String(ticks), base: String(base) },
    });
    const by = vcpuSamples(
      [
        ev(1, 1, 300, 100),
        ev(0, 0, 200, 100),
        ev(1, 0, 400, 100),
        ev(0, 1, 100, 50),
        { type: 'vsample', fields: { test: 'other', cpu: '0' } },
        { type: 'sample', fields: {} },
      ],
      'cpuid',
    );
    expect([...by.keys()].sort()).toEqual([0, 1]);
    expect(by.get(1)!.map((s) => s.i)).toEqual([0, 1]);
    expect(aggregatePerIteration(by)).toEqual([(10 + 30) / 2, (5 + 20) / 2]);
    expect(aggregatePerIteration(new Map())).toEqual([]);
  });
});

describe('vCPU counts', () => {
  it('powers of two up to the host, and the host itself when it is none', () => {
    expect(powersOfTwoUpTo(1)).toEqual([1]);
    expect(powersOfTwoUpTo(2)).toEqual([1, 2]);
    expect(powersOfTwoUpTo(6)).toEqual([1, 2, 4, 6]);
    expect(powersOfTwoUpTo(16)).toEqual([1, 2, 4, 8, 16]);
  });

  it('the scaling case never goes past the host, whatever it asks', () => {
    expect(scalingCounts(spec({}), 2)).toEqual({ counts: [1, 2], leftOut: [] });
    expect(scalingCounts(spec({ vcpu_sweep: ['1', '4', '2', '8'] }), 4)).toEqual({ counts: [1, 2, 4], leftOut: [8] });
  });

  it('a boot sweep is capped by the host under KVM, by max(host, 4) under TCG; without a sweep the case vcpus', () => {
    const sweep = spec({ vcpu_sweep: ['1', '2', '4', '8', '16'] });
    expect(vcpuPlan(sweep, 'kvm', 2)).toMatchObject({ counts: [1, 2], sweep: true });
    expect(vcpuPlan(sweep, 'kvm', 2).leftOut).toHaveLength(3);
    expect(vcpuPlan(sweep, 'tcg', 2).counts).toEqual([1, 2, 4]);
    expect(vcpuPlan(sweep, 'tcg', 8).counts).toEqual([1, 2, 4, 8]);
    expect(vcpuPlan(spec({}, 3), 'kvm', 2)).toEqual({ counts: [3], leftOut: [], sweep: false });
    expect(() => vcpuPlan(spec({ vcpu_sweep: ['0'] }), 'kvm', 2)).toThrow(/vcpu_sweep/);
  });

  it('vcpus is identity from two vCPUs on, and always within a sweep', () => {
    expect(vcpuLabel(1, false)).toEqual({});
    expect(vcpuLabel(1, true)).toEqual({ vcpus: '1' });
    expect(vcpuLabel(4, false)).toEqual({ vcpus: '4' });
  });

  it('the SMP rows of the exits table: how many vCPUs, and which tests may run on all at once', () => {
    const by = Object.fromEntries(exitTests().map((t) => [t.name, t]));
    for (const name of ['ipi', 'ipi_halt', 'x2apic_ipi', 'tlb_shootdown']) {
      expect(by[name], name).toMatchObject({ cpus: 2, parallel: false, irq: true });
      expect(
        Object.keys(by[name]!.expectation).some((k) => k.startsWith('peers.')),
        name,
      ).toBe(true);
    }
    expect(by.ipi_halt!.expectation['peers.halt_exits']).toEqual([1, 1]);
    expect(by.cpuid).toMatchObject({ cpus: 1, parallel: true });
    expect(by.inl_from_qemu).toMatchObject({ cpus: 1, parallel: true });
    for (const name of ['self_ipi_sti_nop', 'tscdeadline_immed', 'hlt_lapic_timer', 'wr_tsc_adjust_msr'])
      expect(by[name]!.parallel, name).toBe(false);
  });
});
