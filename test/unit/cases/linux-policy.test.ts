import { describe, expect, it } from 'vitest';
import { linuxBootBlocked, rememberKernelFailure } from '../../../src/cases/linux-policy.js';
import { parseKvmFailure } from '../../../src/vmm/kvm-error.js';

describe('which Linux boots a run attempts', () => {
  const stock = { given: false, sha256: 'aa' };
  const given = { given: true, sha256: 'bb' };
  const ctx = (accel: 'kvm' | 'tcg', kvmFlavor?: string) => ({
    accel,
    host: kvmFlavor ? { kvmFlavor } : {},
    memory: new Map<string, string>(),
  });

  it('skips a stock kernel under PVM KVM, naming the limitation and the way out', () => {
    expect(linuxBootBlocked(ctx('kvm', 'pvm'), stock)).toMatch(
      /PVM.*stock one \(Debian's cloud kernel, or this host's own\).*--kernel PATH.*--accel tcg/,
    );
    // Known before the image is built: no sha256 needed.
    expect(linuxBootBlocked(ctx('kvm', 'pvm'), { given: false })).toBeDefined();
  });
  it('tries a kernel the user gave, every kernel on other flavours, and everything under TCG', () => {
    expect(linuxBootBlocked(ctx('kvm', 'pvm'), given)).toBeUndefined();
    expect(linuxBootBlocked(ctx('kvm', 'bare-metal'), stock)).toBeUndefined();
    expect(linuxBootBlocked(ctx('tcg', 'pvm'), stock)).toBeUndefined();
  });
  it('skips a kernel that already failed under KVM in this run, with that failure', () => {
    const c = ctx('kvm', 'bare-metal');
    const f = parseKvmFailure('KVM internal error. Suberror: 1\nemulation failure\nRIP=ffffffff81000000\nCode=<f4> 00\n')!;
    rememberKernelFailure(c, { kernelSha256: 'bb' }, f, 'a hint');
    expect(linuxBootBlocked(c, given)).toMatch(
      /already failed under KVM in this run: KVM internal error, suberror 1 .*hlt.*a hint/,
    );
    expect(linuxBootBlocked(c, stock)).toBeUndefined();
    expect(linuxBootBlocked({ ...c, accel: 'tcg' }, given)).toBeUndefined();
  });
});
