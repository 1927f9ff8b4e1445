import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  decodeInstruction,
  describeKvmFailure,
  kvmFailureComplete,
  kvmFailureStart,
  parseKvmFailure,
} from '../../../src/vmm/kvm-error.js';

const fixture = (name: string): string => readFileSync(join(__dirname, '../../fixtures/qemu', name), 'utf8');

describe('KVM failure reports on QEMU stderr', () => {
  // Captured on a PVM host: Debian's 6.1 kernel under -accel kvm, QEMU 7.2.
  const cmpxchg = fixture('kvm-internal-error-cmpxchg16b.stderr');

  it('decodes lock cmpxchg16b from the bytes KVM reports in extra data', () => {
    const f = parseKvmFailure(`[   47.7] Memory: 212516K\n${cmpxchg}`)!;
    expect(f.kind).toBe('internal-error');
    expect(f.suberror).toBe(1);
    expect(f.rip).toBe('0xffffffffa7117850');
    expect(f.longMode).toBe(true);
    expect(f.instructionBytes!.slice(0, 6)).toEqual([0xf0, 0x48, 0x0f, 0xc7, 0x4d, 0x20]);
    expect(f.instructionBytes).toHaveLength(15);
    expect(f.instruction).toBe('lock cmpxchg16b m128');
    const line = describeKvmFailure(f);
    expect(line).toContain('suberror 1 (emulation failure');
    expect(line).toContain('lock cmpxchg16b m128 (f0 48 0f c7 4d 20 74 66)');
    expect(line).toContain('RIP 0xffffffffa7117850');
  });

  it('falls back to the Code= line when KVM gives no instruction bytes', () => {
    const withoutData = cmpxchg.replace(/^extra data.*\n/gm, '');
    const f = parseKvmFailure(withoutData)!;
    expect(f.extraData).toEqual([]);
    expect(f.instructionBytes!.slice(0, 6)).toEqual([0xf0, 0x48, 0x0f, 0xc7, 0x4d, 0x20]);
    expect(f.instruction).toBe('lock cmpxchg16b m128');
  });

  it('says RIP is outside RAM when the guest jumped into MMIO (no bytes to read)', () => {
    const f = parseKvmFailure(fixture('kvm-internal-error-exec-mmio.stderr'))!;
    expect(f.rip).toBe('0xfeb00000');
    expect(f.instructionBytes).toBeUndefined();
    expect(f.ripUnreadable).toBe(true);
    expect(describeKvmFailure(f)).toMatch(/outside guest RAM/);
  });

  it('knows when the report is complete: after the Code= line and its newline', () => {
    const head = cmpxchg.slice(0, cmpxchg.indexOf('Code='));
    expect(kvmFailureStart('qemu: warning: x\n')).toBe(-1);
    expect(kvmFailureStart(`noise\n${head}`)).toBe(6);
    expect(kvmFailureComplete(head)).toBe(false);
    expect(kvmFailureComplete(`${head}Code=00 <f4>`)).toBe(false);
    expect(kvmFailureComplete(`${head}Code=00 <f4> 00\n`)).toBe(true);
  });

  it('reads a failed VM entry', () => {
    const f = parseKvmFailure(
      'KVM: entry failed, hardware error 0x80000021\nRAX=0 RBX=0\nRIP=000000000000fff0 RFL=00000002\nCode=<ea> 5b e0 00 f0\n',
    )!;
    expect(f.kind).toBe('entry-failed');
    expect(f.hardwareError).toBe('0x80000021');
    expect(f.longMode).toBe(false);
    expect(describeKvmFailure(f)).toMatch(/VM entry failed, hardware error 0x80000021.*RIP 0xfff0/);
  });

  it('returns nothing for ordinary stderr', () => {
    expect(parseKvmFailure("qemu-system-x86_64: warning: host doesn't support requested feature\n")).toBeUndefined();
  });
});

describe('decodeInstruction', () => {
  it.each([
    [[0x0f, 0xa2], 'cpuid'],
    [[0x0f, 0x01, 0xc1], 'vmcall'],
    [[0x0f, 0x01, 0xd9], 'vmmcall'],
    [[0xf4], 'hlt'],
    [[0x0f, 0x30], 'wrmsr'],
    [[0xf0, 0x0f, 0xc7, 0x0e], 'lock cmpxchg8b m64'],
    [[0x48, 0x0f, 0xc7, 0xf0], 'rdrand'],
    [[0xf3, 0x0f, 0xc7, 0xf8], 'rdpid'],
    [[0x0f, 0xae, 0xe8], 'lfence'],
    [[0x48, 0x0f, 0xae, 0x20], 'xsave64'],
    [[0xf3, 0xa5], 'rep movs'],
    [[0x66, 0xed], 'in'],
    [[0x0f, 0x01, 0x38], 'invlpg'],
  ])('%j → %s', (bytes, name) => {
    expect(decodeInstruction(bytes)).toBe(name);
  });

  it('gives up on opcodes it does not know instead of guessing', () => {
    expect(decodeInstruction([0x0f, 0x38, 0xf0])).toBeUndefined();
    expect(decodeInstruction([0xd8])).toBeUndefined();
    expect(decodeInstruction([])).toBeUndefined();
  });

  it('reads 0x40-0x4f as REX only in 64-bit code', () => {
    expect(decodeInstruction([0x48, 0x0f, 0xc7, 0x0e], true)).toBe('cmpxchg16b m128');
    expect(decodeInstruction([0x48], false)).toBeUndefined();
  });
});
