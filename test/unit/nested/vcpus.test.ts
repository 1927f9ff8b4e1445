import { describe, expect, it } from 'vitest';
import { severalVcpus, vcpusNeeded } from '../../../src/app/nested.js';
import { layer2Case } from '../../../src/app/nested-l1.js';
import { l1Append, l1Hostname, l1TcgThread, l1VcpuCount } from '../../../src/nested/l1.js';
import { DEFAULT_ACK_MS, exitTests } from '../../../src/cases/exits.js';
import { startupBudgetMs } from '../../../src/vmm/startup.js';
import type { CaseSpec } from '../../../src/cases/types.js';

const rows = new Map(exitTests().map((t) => [t.name, t]));
const exitsCase = (test: string, args: Record<string, boolean> = {}, vcpus = 1) => ({
  id: test,
  kind: 'exits',
  vcpus,
  args: { test, ...args },
});

describe("L1's vCPUs and the cases that fit them", () => {
  it('L1 gets the vCPUs the cases need, at most two and at most the host has', () => {
    expect(l1VcpuCount(1, 2)).toBe(1);
    expect(l1VcpuCount(2, 2)).toBe(2);
    expect(l1VcpuCount(16, 4)).toBe(2);
    expect(l1VcpuCount(16, 1)).toBe(1);
    expect(l1VcpuCount(0, 2)).toBe(1);
    expect(vcpusNeeded(exitsCase('ipi_halt'), rows)).toBe(2);
    expect(vcpusNeeded(exitsCase('cpuid'), rows)).toBe(1);
  });

  it('the two-vCPU exit tests run at layer 2 when L1 has two vCPUs, and skip with the reason when it has one', () => {
    for (const test of ['ipi', 'ipi_halt', 'x2apic_ipi', 'tlb_shootdown']) {
      expect(severalVcpus(exitsCase(test), rows, 2), test).toBeUndefined();
      expect(severalVcpus(exitsCase(test), rows, 1), test).toMatch(/needs 2 vCPUs and L1 has 1/);
    }
    expect(severalVcpus(exitsCase('cpuid'), rows, 1)).toBeUndefined();
  });

  it('a case asking for more vCPUs than L1 has skips: its vcpus, parallel on every vCPU, a sweep past L1', () => {
    expect(severalVcpus(exitsCase('cpuid', {}, 4), rows, 2)).toMatch(/needs 4 vCPUs and L1 has 2/);
    expect(severalVcpus(exitsCase('cpuid', { parallel: true }), rows, 2)).toBeUndefined();
    expect(severalVcpus(exitsCase('cpuid', { parallel: true }), rows, 1)).toMatch(/needs 2 vCPUs/);
    const sweep = (v: string[]) => ({ id: 'boot', kind: 'boot-micro', vcpus: 1, args: { vcpu_sweep: v } });
    expect(severalVcpus(sweep(['1', '2']), rows, 2)).toBeUndefined();
    expect(severalVcpus(sweep(['1', '2', '4']), rows, 2)).toMatch(/needs 4 vCPUs and L1 has 2/);
    expect(severalVcpus({ id: 'scale', kind: 'exits-scaling', vcpus: 1, args: {} }, rows, 1)).toMatch(/needs 2 vCPUs/);
  });
});

describe('a case at layer 2', () => {
  const spec = (kind: string, args: Record<string, string | number | boolean> = {}): CaseSpec => ({
    id: 'ipi_halt',
    suite: 'exits',
    kind,
    guest: kind === 'exits' ? 'exits' : undefined,
    machine: 'q35',
    accel: ['kvm'],
    vcpus: 1,
    memoryMiB: 64,
    args: { test: 'ipi_halt', ...args },
    repeat: 11,
    deadlineSec: 20,
    tags: [],
    requires: [],
  });

  it("scales the deadline, the launches' startup budget and the IPI acknowledgement bound; keeps a bound the suite set", () => {
    const c = layer2Case(spec('exits'), 4);
    expect(c.deadlineSec).toBe(80);
    expect(c.startupSec).toBe((startupBudgetMs('kvm', 'exits') / 1000) * 4);
    expect(c.args.ack_ms).toBe(DEFAULT_ACK_MS * 4);
    expect(layer2Case(spec('exits', { ack_ms: 250 }), 4).args.ack_ms).toBe(250);
    expect(layer2Case({ ...spec('exits'), startupSec: 3 }, 4).startupSec).toBe(12);
    expect(layer2Case(spec('raw'), 4).args.ack_ms).toBeUndefined();
    expect(layer2Case(spec('exits'), 1)).toEqual(spec('exits'));
  });

  it("L1's kernel is told its TSC is reliable only under TCG with several vCPUs", () => {
    expect(l1Append('tcg', true).split(' ')).toContain('tsc=reliable');
    expect(l1Append('tcg', false).split(' ')).not.toContain('tsc=reliable');
    expect(l1Append('kvm', true).split(' ')).not.toContain('tsc=reliable');
    expect(l1Append('kvm', true).split(' ')).toEqual(expect.arrayContaining(['console=ttyS0', 'panic=-1', 'kb.mode=l1']));
    expect(l1Append('kvm', false, 'ci-runner-7').split(' ')).toContain('kb.hostname=ci-runner-7-l1');
    expect(l1Hostname('bad host;$(x)')).toBe('bad-host---x--l1');
    expect(l1Hostname('')).toBe('host-l1');
    // Several L1 vCPUs under TCG share one host thread; one vCPU, or an outer KVM, keep QEMU's default.
    expect(l1TcgThread('tcg', 2)).toBe('single');
    expect(l1TcgThread('tcg', 1)).toBeUndefined();
    expect(l1TcgThread('kvm', 2)).toBeUndefined();
  });
});
