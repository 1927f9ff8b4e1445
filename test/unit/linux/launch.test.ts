import { describe, expect, it } from 'vitest';
import { buildLinuxArgs, hostTscKhz, kernelCmdline, lastPhaseOf, machineOptions } from '../../../src/linux/launch.js';
import { intervalsFor } from '../../../src/cases/boot-linux.js';
import type { LinuxImage } from '../../../src/linux/image.js';

describe('Linux launch helpers', () => {
  it('points the early console at the mark port and keeps timed boots quiet', () => {
    expect(kernelCmdline(false, { mode: 'io', size: 1024 })).toBe(
      'console=ttyS0 earlyprintk=serial,0x2f8,115200 panic=-1 quiet kb.mode=io kb.size=1024',
    );
    expect(kernelCmdline(true, {}, 2096021)).toContain('loglevel=7 tsc_early_khz=2096021');
  });
  it('refuses guest arguments that would split or inject kernel parameters', () => {
    expect(() => kernelCmdline(false, { jobs: 'a b' })).toThrow(/cannot carry/);
    expect(() => kernelCmdline(false, { jobs: 'x"y' })).toThrow(/cannot carry/);
  });
  it('reads the host TSC rate only when the TSC is constant', () => {
    expect(hostTscKhz('flags\t\t: fpu tsc constant_tsc nonstop_tsc\ncpu MHz\t\t: 2096.021\n')).toBe(2096021);
    expect(hostTscKhz('flags\t\t: fpu tsc\ncpu MHz\t\t: 2096.021\n')).toBeUndefined();
  });
  it('uses the fast microvm settings, and plain q35/pc', () => {
    expect(machineOptions('microvm', 'tcg')).toMatchObject({
      pic: 'off',
      pit: 'off',
      'isa-serial': 'off',
      'x-option-roms': 'off',
      acpi: 'on',
    });
    expect(machineOptions('q35', 'tcg')).toEqual({});
  });
  it('wires three timestamped pipes, the console and the right virtio transport', () => {
    const image = { kernelPath: '/k', initramfsPath: '/i' } as LinuxImage;
    const drive = { id: 'd0', file: '/f,x.raw', cache: 'none', aio: 'threads' };
    const mv = buildLinuxArgs({ image, machine: 'microvm', accel: 'tcg', drive }).join(' ');
    expect(mv).toContain('-chardev socket,id=fw,fd=3 -chardev socket,id=kmark,fd=4 -chardev socket,id=kvmb_qmp,fd=5');
    expect(mv).toContain('isa-debugcon,iobase=0x2f8,chardev=kmark');
    expect(mv).toContain('virtio-blk-device,drive=d0');
    expect(mv).toContain('file=/f,,x.raw');
    expect(buildLinuxArgs({ image, machine: 'q35', accel: 'tcg', drive }).join(' ')).toContain('virtio-blk-pci,drive=d0');
  });
  it('names the last phase reached in timeline order', () => {
    expect(lastPhaseOf({ spawn: 0, vmm_ready: 1, kernel_entry: 5 })).toBe('kernel_entry');
    expect(lastPhaseOf({ spawn: 0 })).toBe('spawn');
  });
  it('has a firmware interval except on microvm, and intervals that chain', () => {
    expect(intervalsFor('microvm').map((i) => i.join('>'))).not.toContain('vmm_ready>firmware');
    const q = intervalsFor('q35').slice(0, -1);
    for (let i = 1; i < q.length; i++) expect(q[i]![0]).toBe(q[i - 1]![1]);
  });
});
