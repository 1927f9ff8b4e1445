/**
 * The raw-KVM floor end to end: `run raw --quick` through the built CLI on this host's KVM (the
 * figures, their execution mode, the harness comparison, the summary), the doctor's `kvm.run`,
 * the same with KVM hidden (KVMBENCH_KVM_DEVICE names a device that does not exist: every case a
 * skip with the probe's reason, the check a skip), and in this process: no fd or mapping growth
 * over 1,000 VM create/destroy cycles, failures that name their ioctl and release everything, and
 * a guest that never exits stopped by the watchdog.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeKvm } from '../../src/kvm/probe.js';
import { firstInstruction } from '../../src/kvm/bench.js';
import { RAW } from '../../src/kvm/layout.js';
import { KvmError } from '../../src/kvm/sys.js';
import { KvmSystem } from '../../src/kvm/vm.js';
import { validateResults } from '../../src/results/load.js';
import type { Results } from '../../src/results/model.js';
import { packageRoot } from '../../src/version.js';
import { runCli } from '../helpers/cli.js';

const root = packageRoot();
const probe = probeKvm();
const kvm = probe.usable;
const noKvm = `needs usable KVM; here: ${probe.reason ?? probe.stage}`;
const HIDDEN = { KVMBENCH_KVM_DEVICE: '/nonexistent/kvm' };
let tmp: string;

function cli(args: string[], env: Record<string, string> = {}) {
  return runCli(args, env, 120_000);
}
const openFds = (): number => readdirSync('/proc/self/fd').length;
const mappings = (): number => readFileSync('/proc/self/maps', 'utf8').split('\n').length;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'kvmb-e2e-raw-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.skipIf(!kvm)(`on this host's KVM (${kvm ? 'usable' : noKvm})`, () => {
  it('run raw --quick passes and prints VM creation, cpuid and the PIO round trip with their CV', () => {
    const out = join(tmp, 'raw');
    const r = cli(['run', 'raw', '--quick', '--output', out]);
    expect(r.status, r.stderr).toBe(0);
    const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results;
    expect(() => validateResults(res)).not.toThrow();
    expect(res.cases.map((c) => [c.id, c.status])).toEqual(
      ['vm-create', 'vm-create-long64', 'cpuid', 'pio', 'mmio'].map((id) => [`raw/${id}`, 'pass']),
    );
    for (const c of res.cases) {
      expect(c.execution?.mode, c.id).toMatch(/^(native|emulated)$/);
      expect(c.vm?.harness, c.id).toBe('c');
      for (const m of c.metrics) {
        expect(m.execution, `${c.id} ${m.name}`).toBe(c.execution!.mode);
        expect(m.summary.n, `${c.id} ${m.name}`).toBeGreaterThanOrEqual(11);
      }
    }
    // The summary table (stdout; progress on stderr): each headline figure as median ± CV.
    const text = r.stdout + r.stderr;
    for (const [id, unit, name] of [
      ['raw/vm-create', 'ms', 'create.to_first_exit'],
      ['raw/cpuid', 'ns', 'latency'],
      ['raw/pio', 'ns', 'latency'],
    ] as const) {
      expect(text).toMatch(
        new RegExp(
          `${id}\\s+pass\\s+[\\d .e+]+ ± [\\d.]+%\\s+${unit}\\s+11\\s+kvm · (native|emulated)\\s+${name.replace('.', '\\.')}`,
        ),
      );
    }
    const create = res.cases.find((c) => c.id === 'raw/vm-create')!;
    expect(create.metrics.map((m) => m.name)).toEqual([
      'create.vm',
      'create.memory',
      'create.vcpu',
      'create.first_run',
      'create.to_first_exit',
    ]);
    const pio = res.cases.find((c) => c.id === 'raw/pio')!;
    const med = (n: string) => pio.metrics.find((m) => m.name === n)!.summary.median;
    // Exactly one exit to user space per inl; the guest and host clocks agree on the round trip.
    expect(pio.metrics.find((m) => m.name === 'pio.user_exits_per_iteration')!.samples.every((v) => v === 1)).toBe(true);
    expect(Math.abs(med('pio.host_latency') - med('pio.latency')) / med('pio.latency')).toBeLessThan(0.15);
    // Both exit loops measured; the C loop kept because it costs less per exit.
    expect(med('harness.c.overhead_per_exit')).toBeLessThan(med('harness.ffi.overhead_per_exit'));
    expect(pio.facts).toMatchObject({ harness: 'c', tscSource: 'KVM_GET_TSC_KHZ' });
    expect(
      res.cases.find((c) => c.id === 'raw/cpuid')!.metrics.find((m) => m.name === 'cpuid.user_exits_per_iteration')!.summary
        .median,
    ).toBe(0);
  });

  it('doctor --json: kvm.run passes after the probe and reports the first-instruction time', () => {
    const r = cli(['doctor', '--json']);
    const j = JSON.parse(r.stdout) as { checks: Array<{ id: string; status: string; evidence: string[] }> };
    const ids = j.checks.map((c) => c.id);
    expect(ids.indexOf('kvm.run')).toBeGreaterThan(ids.indexOf('kvm.create-vm'));
    const c = j.checks.find((x) => x.id === 'kvm.run')!;
    expect(c.status, c.evidence.join('\n')).toBe('pass');
    expect(c.evidence.join('\n')).toMatch(/wrote 0x2b to port 0x511 \(KVM_EXIT_IO\)/);
    expect(c.evidence.join('\n')).toMatch(
      /VM create → first guest instruction: [\d.]+ ms \(median of 3\): KVM_CREATE_VM [\d.]+ ms, memory [\d.]+ ms, vCPU [\d.]+ ms, first KVM_RUN return [\d.]+ ms/,
    );
  });

  it('releases every fd and mapping over 1,000 VM create/destroy cycles', () => {
    const sys = KvmSystem.open();
    const blob = new Uint8Array(readFileSync(join(root, 'build/guests/raw-real.bin')));
    try {
      firstInstruction(sys, 'real', blob); // first calls: koffi bindings, the watchdog's timer
      const fds = openFds();
      const maps = mappings();
      for (let i = 0; i < 1000; i++) firstInstruction(sys, 'real', blob);
      expect(openFds()).toBe(fds);
      // Node's own heap maps and unmaps a few areas meanwhile; a leak would add at least one per
      // cycle (a vCPU's kvm_run mapping is of its own fd and merges with nothing).
      expect(mappings()).toBeLessThan(maps + 50);
    } finally {
      sys.close();
    }
  });

  it('a failing ioctl names itself, its errno and its meaning, and leaves nothing open', () => {
    const sys = KvmSystem.open();
    try {
      const fds = openFds();
      for (let i = 0; i < 50; i++) {
        const vm = sys.createVm();
        try {
          vm.addMemory(RAW.MEM_SIZE);
          expect(() => vm.createVcpu(1 << 30)).toThrow(KvmError);
          try {
            vm.createVcpu(1 << 30);
          } catch (err) {
            expect((err as KvmError).message).toMatch(
              /^KVM_CREATE_VCPU failed with EINVAL \(Invalid argument\): the vCPU id is at or above KVM_CAP_MAX_VCPU_ID/,
            );
          }
        } finally {
          vm.close();
          vm.close(); // idempotent
        }
      }
      expect(openFds()).toBe(fds);
      const vm = sys.createVm();
      try {
        // A slot whose size is not a whole number of pages is refused; the mapping is still released.
        expect(() => vm.addMemory(RAW.MEM_SIZE + 1)).toThrow(
          /^KVM_SET_USER_MEMORY_REGION failed with EINVAL \(Invalid argument\): KVM refused the memory slot/,
        );
      } finally {
        vm.close();
      }
      expect(openFds()).toBe(fds);
    } finally {
      sys.close();
    }
  });

  it('stops a guest that never exits with the watchdog, names it, and releases the VM', () => {
    const sys = KvmSystem.open();
    try {
      const fds = openFds();
      const spin = new Uint8Array([0xeb, 0xfe]); // jmp . (real mode)
      const t0 = performance.now();
      let err: unknown;
      try {
        firstInstruction(sys, 'real', spin, 300);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(KvmError);
      expect((err as KvmError).message).toMatch(
        /^KVM_RUN failed with EINTR.*did not exit to kvmbench within 300 ms \(watchdog\)/,
      );
      expect(performance.now() - t0).toBeLessThan(5000);
      expect(openFds()).toBe(fds);
    } finally {
      sys.close();
    }
  });
});

describe('with KVM hidden (KVMBENCH_KVM_DEVICE=/nonexistent/kvm)', () => {
  it("run raw --quick runs under TCG and skips every case with the probe's reason", () => {
    const out = join(tmp, 'hidden');
    const r = cli(['run', 'raw', '--quick', '--output', out], HIDDEN);
    expect(r.status, r.stderr).toBe(0);
    const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results;
    expect(res.run.accelerator).toBe('tcg');
    expect(res.cases).toHaveLength(5);
    for (const c of res.cases) {
      expect(c.status, c.id).toBe('skip');
      expect(c.reason).toMatch(
        /^the raw VMM runs guests on KVM only \(no QEMU, no TCG\), and KVM is not usable here: \/nonexistent\/kvm does not exist/,
      );
    }
    expect(r.stdout + r.stderr).toMatch(/0 passed, 0 failed, 0 errors, 5 skipped/);
  });

  it("doctor --json: kvm.run is a skip with the probe's reason", () => {
    const r = cli(['doctor', '--json'], HIDDEN);
    const j = JSON.parse(r.stdout) as { checks: Array<{ id: string; status: string; evidence: string[]; fix: string | null }> };
    const c = j.checks.find((x) => x.id === 'kvm.run')!;
    expect(c.status).toBe('skip');
    expect(c.evidence[0]).toMatch(/^not attempted: \/nonexistent\/kvm does not exist/);
    expect(c.fix).toBeTruthy();
  });
});
