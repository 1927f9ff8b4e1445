import { describe, expect, it } from 'vitest';
import { buildQemuArgs, qemuBinary, qemuOptValue } from '../../../src/vmm/qemu.js';
import { KvmbenchError } from '../../../src/errors.js';

function opt(args: string[], flag: string): string[] {
  const out: string[] = [];
  args.forEach((a, i) => {
    if (a === flag) out.push(args[i + 1]!);
  });
  return out;
}

describe('buildQemuArgs', () => {
  it('always isolates the VM from defaults and user config', () => {
    for (const machine of ['microvm', 'q35', 'pc'] as const) {
      const a = buildQemuArgs({ machine, accel: 'tcg', kernel: '/k.elf' });
      for (const f of ['-nodefaults', '-no-user-config', '-no-reboot']) expect(a).toContain(f);
      expect(opt(a, '-display')).toEqual(['none']);
      expect(opt(a, '-machine')).toEqual([machine]);
      expect(opt(a, '-device')).toContain('isa-debug-exit,iobase=0xf4,iosize=0x04');
      expect(opt(a, '-serial')).toEqual(['stdio']);
    }
  });

  it('picks the accelerator and a CPU model that fits it', () => {
    expect(opt(buildQemuArgs({ machine: 'q35', accel: 'kvm' }), '-accel')).toEqual(['kvm']);
    expect(opt(buildQemuArgs({ machine: 'q35', accel: 'kvm' }), '-cpu')).toEqual(['host']);
    expect(opt(buildQemuArgs({ machine: 'q35', accel: 'tcg' }), '-cpu')).toEqual(['max']);
    expect(opt(buildQemuArgs({ machine: 'q35', accel: 'tcg', cpu: 'qemu64' }), '-cpu')).toEqual(['qemu64']);
    // TCG's threading where asked; ignored under KVM.
    expect(opt(buildQemuArgs({ machine: 'q35', accel: 'tcg', tcgThread: 'single' }), '-accel')).toEqual(['tcg,thread=single']);
    expect(opt(buildQemuArgs({ machine: 'q35', accel: 'kvm', tcgThread: 'single' }), '-accel')).toEqual(['kvm']);
  });

  it('passes vCPUs, memory, kernel, initrd and append as separate arguments', () => {
    const a = buildQemuArgs({
      machine: 'pc',
      accel: 'tcg',
      vcpus: 2,
      memoryMiB: 256,
      kernel: '/a b/k',
      initrd: '/i,rd',
      append: 'test=cpuid x="1 2"; rm -rf /',
    });
    expect(opt(a, '-smp')).toEqual(['2']);
    expect(opt(a, '-m')).toEqual(['256']);
    expect(opt(a, '-kernel')).toEqual(['/a b/k']);
    expect(opt(a, '-initrd')).toEqual(['/i,rd']);
    expect(opt(a, '-append')).toEqual(['test=cpuid x="1 2"; rm -rf /']);
  });

  it('escapes commas in option lists and builds drives, devices, chardevs and debugcon', () => {
    const a = buildQemuArgs({
      machine: 'microvm',
      machineOptions: { acpi: 'on', pit: 'off' },
      accel: 'tcg',
      drives: [{ id: 'd0', file: '/tmp/a,b.img', readonly: true, cache: 'none', aio: 'native' }],
      devices: ['virtio-blk-device,drive=d0'],
      chardevs: ['socket,id=dbg,fd=3'],
      debugcon: { chardev: 'dbg' },
      serial: { chardev: 'con' },
      debugExit: false,
      extraArgs: ['-S'],
    });
    expect(opt(a, '-machine')).toEqual(['microvm,acpi=on,pit=off']);
    expect(opt(a, '-drive')).toEqual(['id=d0,file=/tmp/a,,b.img,format=raw,if=none,readonly=on,cache=none,aio=native']);
    expect(opt(a, '-device')).toEqual(['isa-debugcon,iobase=0xe9,chardev=dbg', 'virtio-blk-device,drive=d0']);
    expect(opt(a, '-chardev')).toEqual(['socket,id=dbg,fd=3']);
    expect(opt(a, '-serial')).toEqual(['chardev:con']);
    expect(a.at(-1)).toBe('-S');
  });

  it('rejects unknown machines, bad sizes and control characters', () => {
    expect(() => buildQemuArgs({ machine: 'virt' as never, accel: 'tcg' })).toThrow(KvmbenchError);
    expect(() => buildQemuArgs({ machine: 'pc', accel: 'tcg', vcpus: 0 })).toThrow(/vcpus/);
    expect(() => buildQemuArgs({ machine: 'pc', accel: 'tcg', memoryMiB: 1.5 })).toThrow(/memoryMiB/);
    expect(() => qemuOptValue('a\nb')).toThrow(/control/);
  });
});

describe('qemuBinary', () => {
  it('finds QEMU on PATH', () => {
    expect(qemuBinary({ PATH: '/usr/bin:/bin' })).toBe('/usr/bin/qemu-system-x86_64');
  });

  it('fails with an environment error (exit 3) and the apt command when QEMU is missing', () => {
    try {
      qemuBinary({ PATH: '/nonexistent' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(KvmbenchError);
      expect((e as KvmbenchError).exitCode).toBe(3);
      expect((e as KvmbenchError).hint).toMatch(/apt-get install .*qemu-system-x86/);
    }
    expect(() => qemuBinary({ KVMBENCH_QEMU: '/nope/qemu' })).toThrow(/KVMBENCH_QEMU/);
  });
});
