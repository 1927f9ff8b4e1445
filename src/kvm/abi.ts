/**
 * The KVM ABI the raw VMM speaks, written from <linux/kvm.h> (Linux 6.1 uapi, Debian's
 * linux-libc-dev) and <asm-generic/ioctl.h>, for x86-64 only. Numbers and layouts are ABI:
 * they never change once released. test/unit/kvm/abi.test.ts checks every number and offset
 * here against a C program compiled with the system's header when gcc is present, and against
 * the values computed by hand from the header otherwise.
 */

/** `KVMIO` from <linux/kvm.h>: the ioctl type byte of every KVM ioctl. */
export const KVMIO = 0xae;

// <asm-generic/ioctl.h>: nr in bits 0-7, type in 8-15, size in 16-29, direction in 30-31.
export const IOC_NONE = 0;
export const IOC_WRITE = 1;
export const IOC_READ = 2;

export function ioc(dir: number, type: number, nr: number, size: number): number {
  if (size < 0 || size >= 1 << 14) throw new RangeError(`ioctl argument size ${size} does not fit 14 bits`);
  // `>>> 0` keeps the result an unsigned 32-bit number (dir 2 and 3 set bit 31).
  return ((dir << 30) | (size << 16) | (type << 8) | nr) >>> 0;
}
export const io = (type: number, nr: number): number => ioc(IOC_NONE, type, nr, 0);
export const ior = (type: number, nr: number, size: number): number => ioc(IOC_READ, type, nr, size);
export const iow = (type: number, nr: number, size: number): number => ioc(IOC_WRITE, type, nr, size);
export const iowr = (type: number, nr: number, size: number): number => ioc(IOC_READ | IOC_WRITE, type, nr, size);

/** Struct sizes (bytes) on x86-64. */
export const SIZEOF = {
  kvm_userspace_memory_region: 32,
  kvm_regs: 144,
  kvm_segment: 24,
  kvm_dtable: 16,
  kvm_sregs: 312,
  kvm_cpuid2: 8,
  kvm_cpuid_entry2: 40,
} as const;

/** ioctl request numbers, by name as in <linux/kvm.h>. */
export const KVM = {
  // System ioctls (on the /dev/kvm fd).
  GET_API_VERSION: io(KVMIO, 0x00),
  CREATE_VM: io(KVMIO, 0x01),
  CHECK_EXTENSION: io(KVMIO, 0x03),
  GET_VCPU_MMAP_SIZE: io(KVMIO, 0x04),
  GET_SUPPORTED_CPUID: iowr(KVMIO, 0x05, SIZEOF.kvm_cpuid2),
  // VM ioctls.
  CREATE_VCPU: io(KVMIO, 0x41),
  SET_USER_MEMORY_REGION: iow(KVMIO, 0x46, SIZEOF.kvm_userspace_memory_region),
  SET_TSS_ADDR: io(KVMIO, 0x47),
  // vCPU ioctls.
  RUN: io(KVMIO, 0x80),
  GET_REGS: ior(KVMIO, 0x81, SIZEOF.kvm_regs),
  SET_REGS: iow(KVMIO, 0x82, SIZEOF.kvm_regs),
  GET_SREGS: ior(KVMIO, 0x83, SIZEOF.kvm_sregs),
  SET_SREGS: iow(KVMIO, 0x84, SIZEOF.kvm_sregs),
  SET_CPUID2: iow(KVMIO, 0x90, SIZEOF.kvm_cpuid2),
  GET_TSC_KHZ: io(KVMIO, 0xa3),
} as const;
export type KvmIoctl = keyof typeof KVM;

/** Offsets (bytes) of the members the raw VMM reads or writes. */
export const OFFSETOF = {
  kvm_userspace_memory_region: { slot: 0, flags: 4, guest_phys_addr: 8, memory_size: 16, userspace_addr: 24 },
  /** rax rbx rcx rdx rsi rdi rsp rbp r8-r15 rip rflags, 8 bytes each. */
  kvm_regs: { rax: 0, rbx: 8, rcx: 16, rdx: 24, rsi: 32, rdi: 40, rsp: 48, rbp: 56, rip: 128, rflags: 136 },
  kvm_segment: {
    base: 0,
    limit: 8,
    selector: 12,
    type: 14,
    present: 15,
    dpl: 16,
    db: 17,
    s: 18,
    l: 19,
    g: 20,
    avl: 21,
    unusable: 22,
  },
  kvm_dtable: { base: 0, limit: 8 },
  kvm_sregs: {
    cs: 0,
    ds: 24,
    es: 48,
    fs: 72,
    gs: 96,
    ss: 120,
    tr: 144,
    ldt: 168,
    gdt: 192,
    idt: 208,
    cr0: 224,
    cr2: 232,
    cr3: 240,
    cr4: 248,
    cr8: 256,
    efer: 264,
    apic_base: 272,
    interrupt_bitmap: 280,
  },
  kvm_cpuid2: { nent: 0, entries: 8 },
  kvm_cpuid_entry2: { function: 0, index: 4, flags: 8, eax: 12, ebx: 16, ecx: 20, edx: 24 },
  /** struct kvm_run: the fixed head, then the exit union at 32. */
  kvm_run: {
    request_interrupt_window: 0,
    immediate_exit: 1,
    exit_reason: 8,
    ready_for_interrupt_injection: 12,
    if_flag: 13,
    cr8: 16,
    apic_base: 24,
    'io.direction': 32,
    'io.size': 33,
    'io.port': 34,
    'io.count': 36,
    'io.data_offset': 40,
    'mmio.phys_addr': 32,
    'mmio.data': 40,
    'mmio.len': 48,
    'mmio.is_write': 52,
    'internal.suberror': 32,
    'internal.ndata': 36,
    'internal.data': 40,
    'fail_entry.hardware_entry_failure_reason': 32,
    'fail_entry.cpu': 40,
    'hw.hardware_exit_reason': 32,
  },
} as const;

/** `kvm_run.exit_reason` values the raw VMM can meet on x86, with what each means for it. */
export const EXIT_REASONS: Record<number, { name: string; meaning: string }> = {
  0: { name: 'KVM_EXIT_UNKNOWN', meaning: 'the CPU exited for a reason KVM could not handle (hw.hardware_exit_reason)' },
  1: { name: 'KVM_EXIT_EXCEPTION', meaning: 'an exception KVM passes to user space' },
  2: { name: 'KVM_EXIT_IO', meaning: 'port I/O for user space' },
  3: { name: 'KVM_EXIT_HYPERCALL', meaning: 'a hypercall for user space' },
  4: { name: 'KVM_EXIT_DEBUG', meaning: 'a debug event' },
  5: { name: 'KVM_EXIT_HLT', meaning: 'the guest halted (no in-kernel irqchip)' },
  6: { name: 'KVM_EXIT_MMIO', meaning: 'an access to guest-physical memory no memory slot backs' },
  7: { name: 'KVM_EXIT_IRQ_WINDOW_OPEN', meaning: 'the guest can take an interrupt' },
  8: { name: 'KVM_EXIT_SHUTDOWN', meaning: 'the guest shut down (a triple fault: an exception it could not deliver)' },
  9: {
    name: 'KVM_EXIT_FAIL_ENTRY',
    meaning: 'VM entry failed: the vCPU state is invalid for this CPU (fail_entry.hardware_entry_failure_reason)',
  },
  10: { name: 'KVM_EXIT_INTR', meaning: 'a signal interrupted the vCPU' },
  16: { name: 'KVM_EXIT_NMI', meaning: 'an NMI' },
  17: {
    name: 'KVM_EXIT_INTERNAL_ERROR',
    meaning:
      'KVM could not go on (internal.suberror: 1 emulation failure, 2 exception while delivering an exception, 3 event delivery, 4 unexpected exit reason)',
  },
  24: { name: 'KVM_EXIT_SYSTEM_EVENT', meaning: 'a system event (shutdown, reset, crash)' },
  29: { name: 'KVM_EXIT_X86_RDMSR', meaning: 'an MSR read for user space' },
  30: { name: 'KVM_EXIT_X86_WRMSR', meaning: 'an MSR write for user space' },
};
export const EXIT_IO = 2;
export const EXIT_HLT = 5;
export const EXIT_MMIO = 6;
export const EXIT_SHUTDOWN = 8;
export const EXIT_FAIL_ENTRY = 9;
export const EXIT_INTR = 10;
export const EXIT_INTERNAL_ERROR = 17;
export const EXIT_IO_IN = 0;
export const EXIT_IO_OUT = 1;

export function exitReasonName(reason: number): string {
  return EXIT_REASONS[reason]?.name ?? `exit reason ${reason}`;
}

/** x86 control-register and EFER bits the long-mode set-up uses (Intel SDM vol. 3, 2.5). */
export const X86 = {
  CR0_PE: 1 << 0,
  CR0_MP: 1 << 1,
  CR0_ET: 1 << 4,
  CR0_NE: 1 << 5,
  CR0_WP: 1 << 16,
  CR0_AM: 1 << 18,
  CR0_PG: 0x80000000,
  CR4_PAE: 1 << 5,
  EFER_LME: 1 << 8,
  EFER_LMA: 1 << 10,
  /** Page-table entry bits: present, writable, page size (2 MiB in a page directory). */
  PTE_P: 1 << 0,
  PTE_W: 1 << 1,
  PTE_PS: 1 << 7,
  /** RFLAGS bit 1 is reserved and always 1. */
  RFLAGS_FIXED: 0x2,
} as const;
