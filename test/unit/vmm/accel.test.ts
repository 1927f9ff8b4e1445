import { describe, expect, it } from 'vitest';
import type { KvmProbeResult } from '../../../src/kvm/probe.js';
import { resolveAccelerator } from '../../../src/vmm/accel.js';
import { KvmbenchError } from '../../../src/errors.js';

const ok: KvmProbeResult = { usable: true, device: '/dev/kvm', stage: 'ok', capabilities: {} };
const denied: KvmProbeResult = {
  usable: false,
  device: '/dev/kvm',
  stage: 'open',
  errno: 'EACCES',
  capabilities: {},
  reason: '/dev/kvm: permission denied',
  fix: 'sudo usermod -aG kvm $USER',
};

describe('resolveAccelerator', () => {
  it('tcg never probes', () => {
    expect(
      resolveAccelerator(
        'tcg',
        () => {
          throw new Error('probed');
        },
        () => '/q',
      ),
    ).toEqual({ accel: 'tcg', requested: 'tcg', qemu: '/q' });
  });

  it('auto uses KVM when the functional probe passes', () => {
    const c = resolveAccelerator('auto', () => ok);
    expect(c.accel).toBe('kvm');
    expect(c.warning).toBeUndefined();
  });

  it('auto falls back to TCG with a visible warning carrying the reason', () => {
    const c = resolveAccelerator('auto', () => denied);
    expect(c.accel).toBe('tcg');
    expect(c.warning).toMatch(/permission denied/);
    expect(c.warning).toMatch(/TCG/);
  });

  it('kvm without usable KVM is an environment error (exit 3) with the probe reason and fix', () => {
    try {
      resolveAccelerator('kvm', () => denied);
      expect.unreachable();
    } catch (e) {
      expect((e as KvmbenchError).exitCode).toBe(3);
      expect((e as Error).message).toMatch(/permission denied/);
      expect((e as KvmbenchError).hint).toMatch(/usermod/);
    }
  });

  it('on this host (no /dev/kvm) the real probe makes auto choose TCG', () => {
    const c = resolveAccelerator('auto');
    if (c.probe?.usable) expect(c.accel).toBe('kvm');
    else expect(c.accel).toBe('tcg');
  });

  it('stops with exit 3 and the apt command when QEMU is missing, whatever the accelerator', () => {
    const saved = process.env.PATH,
      savedQemu = process.env.KVMBENCH_QEMU;
    process.env.PATH = '/nonexistent';
    delete process.env.KVMBENCH_QEMU;
    try {
      for (const a of ['tcg', 'auto', 'kvm']) {
        try {
          resolveAccelerator(a, () => ok);
          expect.unreachable();
        } catch (e) {
          expect((e as KvmbenchError).exitCode).toBe(3);
          expect((e as KvmbenchError).hint).toMatch(/apt-get install/);
        }
      }
    } finally {
      process.env.PATH = saved;
      if (savedQemu !== undefined) process.env.KVMBENCH_QEMU = savedQemu;
    }
  });

  it('rejects unknown values as usage errors', () => {
    expect(() => resolveAccelerator('hvf')).toThrow(/unknown accelerator/);
  });
});
