/**
 * The raw VMM's ABI (src/kvm/abi.ts) against values computed independently: the _IOC encoding
 * by hand and the request numbers as literals worked out from <linux/kvm.h> (they are ABI and
 * never change), and, where gcc and the header are present, every ioctl number, struct size
 * and member offset as a C program compiled against the system's <linux/kvm.h> prints them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  EXIT_REASONS,
  IOC_READ,
  IOC_WRITE,
  KVM,
  KVMIO,
  OFFSETOF,
  SIZEOF,
  X86,
  exitReasonName,
  io,
  ioc,
  ior,
  iow,
  iowr,
} from '../../../src/kvm/abi.js';

describe('_IOC encoding (asm-generic/ioctl.h)', () => {
  it('puts nr in bits 0-7, type in 8-15, size in 16-29 and direction in 30-31', () => {
    expect(ioc(0, 0xae, 0x80, 0)).toBe(0xae80);
    expect(ioc(IOC_WRITE, 0xae, 0x46, 32)).toBe(1 * 2 ** 30 + 32 * 2 ** 16 + 0xae * 2 ** 8 + 0x46);
    expect(ioc(IOC_READ, 0xae, 0x83, 312)).toBe(2 * 2 ** 30 + 312 * 2 ** 16 + 0xae * 2 ** 8 + 0x83);
    expect(ioc(IOC_READ | IOC_WRITE, 0xae, 0x05, 8)).toBe(3 * 2 ** 30 + 8 * 2 ** 16 + 0xae * 2 ** 8 + 0x05);
    expect(io(KVMIO, 1)).toBe(0xae01);
    expect(ior(KVMIO, 0x81, 144)).toBeGreaterThan(2 ** 31); // unsigned, not a negative int32
  });

  it('refuses sizes that do not fit 14 bits', () => {
    expect(() => iow(KVMIO, 1, 1 << 14)).toThrow(RangeError);
    expect(iowr(KVMIO, 1, (1 << 14) - 1)).toBe(0xffffae01);
  });
});

describe('request numbers, as worked out from <linux/kvm.h>', () => {
  // _IO(KVMIO, nr) = 0xAE00 | nr; _IOW = 0x4000_0000 | size << 16 | ...; _IOR = 0x8000_0000 | ...; _IOWR = 0xC000_0000 | ...
  const expected: Record<keyof typeof KVM, number> = {
    GET_API_VERSION: 0xae00,
    CREATE_VM: 0xae01,
    CHECK_EXTENSION: 0xae03,
    GET_VCPU_MMAP_SIZE: 0xae04,
    GET_SUPPORTED_CPUID: 0xc008ae05, // struct kvm_cpuid2: 8 bytes
    CREATE_VCPU: 0xae41,
    SET_USER_MEMORY_REGION: 0x4020ae46, // struct kvm_userspace_memory_region: 32 bytes
    SET_TSS_ADDR: 0xae47,
    RUN: 0xae80,
    GET_REGS: 0x8090ae81, // struct kvm_regs: 144 bytes
    SET_REGS: 0x4090ae82,
    GET_SREGS: 0x8138ae83, // struct kvm_sregs: 312 bytes
    SET_SREGS: 0x4138ae84,
    SET_CPUID2: 0x4008ae90,
    GET_TSC_KHZ: 0xaea3,
  };
  it.each(Object.entries(expected))('KVM_%s = 0x%s', (name, value) => {
    expect(KVM[name as keyof typeof KVM]).toBe(value);
  });
});

describe('layouts, as worked out from <linux/kvm.h> (x86-64)', () => {
  it('kvm_regs is 18 u64 in the order rax rbx rcx rdx rsi rdi rsp rbp r8..r15 rip rflags', () => {
    const order = ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rsp', 'rbp'];
    order.forEach((r, i) => expect(OFFSETOF.kvm_regs[r as keyof typeof OFFSETOF.kvm_regs]).toBe(i * 8));
    expect(OFFSETOF.kvm_regs.rip).toBe(16 * 8);
    expect(OFFSETOF.kvm_regs.rflags).toBe(17 * 8);
    expect(SIZEOF.kvm_regs).toBe(18 * 8);
  });

  it('kvm_sregs: 8 segments of 24 bytes, 2 dtables of 16, 7 u64 registers, a 4 × u64 interrupt bitmap', () => {
    const segs = ['cs', 'ds', 'es', 'fs', 'gs', 'ss', 'tr', 'ldt'] as const;
    segs.forEach((s, i) => expect(OFFSETOF.kvm_sregs[s]).toBe(i * SIZEOF.kvm_segment));
    expect(OFFSETOF.kvm_sregs.gdt).toBe(8 * 24);
    expect(OFFSETOF.kvm_sregs.idt).toBe(8 * 24 + 16);
    expect(OFFSETOF.kvm_sregs.cr0).toBe(8 * 24 + 32);
    expect(OFFSETOF.kvm_sregs.interrupt_bitmap).toBe(8 * 24 + 32 + 7 * 8);
    expect(SIZEOF.kvm_sregs).toBe(8 * 24 + 32 + 7 * 8 + 4 * 8);
  });

  it('kvm_run: the exit union starts at 32, after the fixed head', () => {
    for (const k of [
      'io.direction',
      'mmio.phys_addr',
      'internal.suberror',
      'fail_entry.hardware_entry_failure_reason',
      'hw.hardware_exit_reason',
    ] as const) {
      expect(OFFSETOF.kvm_run[k]).toBe(32);
    }
    expect(OFFSETOF.kvm_run['io.data_offset']).toBe(40); // after direction, size (u8), port (u16), count (u32)
  });

  it('names exit reasons and control-register bits', () => {
    expect(exitReasonName(2)).toBe('KVM_EXIT_IO');
    expect(exitReasonName(99)).toBe('exit reason 99');
    expect(EXIT_REASONS[17]!.meaning).toMatch(/emulation failure/);
    expect((X86.CR0_PE | X86.CR0_PG) >>> 0).toBe(0x80000001);
    expect(X86.EFER_LME | X86.EFER_LMA).toBe(0x500);
  });
});

// The same numbers from the system's header, where a compiler and the header are here.
const gcc = spawnSync('gcc', ['--version']).status === 0;
const header = existsSync('/usr/include/linux/kvm.h');
const tmp = mkdtempSync(join(tmpdir(), 'kvmb-abi-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function cProgram(): string {
  const lines: string[] = [];
  const num = (key: string, expr: string): void => {
    lines.push(`  printf("\\"%s\\": %llu,\\n", "${key}", (unsigned long long)(${expr}));`);
  };
  for (const name of Object.keys(KVM)) num(`KVM_${name}`, `KVM_${name}`);
  for (const s of Object.keys(SIZEOF)) num(`sizeof ${s}`, `sizeof(struct ${s})`);
  for (const [s, members] of Object.entries(OFFSETOF)) {
    for (const m of Object.keys(members)) num(`${s}.${m}`, `offsetof(struct ${s}, ${m})`);
  }
  for (const r of Object.values(EXIT_REASONS)) num(r.name, r.name);
  return `#include <linux/kvm.h>\n#include <stddef.h>\n#include <stdio.h>\nint main(void) {\n  printf("{\\n");\n${lines.join('\n')}\n  printf("\\"end\\": 0}\\n");\n  return 0;\n}\n`;
}

describe.skipIf(!gcc || !header)(
  `against the system's <linux/kvm.h> compiled with gcc (${gcc && header ? 'present' : 'gcc or /usr/include/linux/kvm.h missing'})`,
  () => {
    let c: Record<string, number> = {};
    it('compiles and runs the reference program', () => {
      writeFileSync(join(tmp, 'abi.c'), cProgram());
      execFileSync('gcc', ['-O0', '-o', join(tmp, 'abi'), join(tmp, 'abi.c')]);
      c = JSON.parse(execFileSync(join(tmp, 'abi'), { encoding: 'utf8' })) as Record<string, number>;
      expect(Object.keys(c).length).toBeGreaterThan(50);
    });

    it('every ioctl number matches', () => {
      for (const [name, v] of Object.entries(KVM)) expect(v, `KVM_${name}`).toBe(c[`KVM_${name}`]);
    });

    it('every struct size matches', () => {
      for (const [s, v] of Object.entries(SIZEOF)) expect(v, s).toBe(c[`sizeof ${s}`]);
    });

    it('every member offset matches', () => {
      for (const [s, members] of Object.entries(OFFSETOF)) {
        for (const [m, v] of Object.entries(members)) expect(v, `${s}.${m}`).toBe(c[`${s}.${m}`]);
      }
    });

    it('every exit reason number matches', () => {
      for (const [nr, r] of Object.entries(EXIT_REASONS)) expect(Number(nr), r.name).toBe(c[r.name]);
    });
  },
);
