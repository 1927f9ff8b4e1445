/**
 * The system calls the raw VMM makes, through the same koffi-loaded libc as the KVM probe
 * (src/kvm/probe.ts loadLibc: one loader, one errno reading), plus errors a person can act
 * on: every failed call names itself, its errno and what that errno means for that call.
 *
 * x86-64 Linux only (the guests are x86). ioctl is variadic in libc; the hot paths bind it with
 * a fixed third argument, which the x86-64 SysV calling convention passes in the same register.
 */
import { isMainThread } from 'node:worker_threads';
import { errnoName, explainProbe, libcLoadError, loadLibc, type Libc } from './probe.js';

type Ptr = unknown;

export interface Sys {
  koffi: Libc['koffi'];
  open: (path: string, flags: number) => number;
  close: (fd: number) => number;
  /** ioctl with an integer argument (KVM_RUN, KVM_CREATE_VCPU, KVM_CHECK_EXTENSION...). */
  ioctlInt: (fd: number, req: number, arg: number) => number;
  /** ioctl with a pointer to a struct (a Buffer). */
  ioctlPtr: (fd: number, req: number, arg: Buffer) => number;
  mmap: (addr: null, len: number, prot: number, flags: number, fd: number, off: number) => Ptr;
  munmap: (addr: Ptr, len: number) => number;
  errno: () => number;
  strerror: (errnum: number) => string;
  /** POSIX timers for the watchdog: in libc since glibc 2.34, in librt before; undefined where neither has them. */
  timers?: {
    create: (clock: number, sev: Buffer, out: Buffer) => number;
    settime: (timer: bigint, flags: number, value: Buffer, old: null) => number;
  };
}

/** timer_create and timer_settime from libc, else from librt.so.1 (glibc before 2.34). */
function bindTimers(koffi: Libc['koffi'], lib: Libc['lib']): Sys['timers'] {
  for (const l of [() => lib, () => koffi.load('librt.so.1')]) {
    try {
      const h = l();
      return {
        create: h.func('timer_create', 'int', ['int', 'void *', 'void *']) as NonNullable<Sys['timers']>['create'],
        settime: h.func('timer_settime', 'int', ['intptr_t', 'int', 'void *', 'void *']) as NonNullable<Sys['timers']>['settime'],
      };
    } catch {
      // not in this library
    }
  }
  return undefined;
}

let sys: Sys | undefined;
let sysError: string | undefined;

export const O_RDWR = 0o2;
export const O_CLOEXEC = 0o2000000;
export const PROT_READ = 0x1;
export const PROT_WRITE = 0x2;
export const MAP_SHARED = 0x1;
export const MAP_PRIVATE = 0x2;
export const MAP_ANONYMOUS = 0x20;
export const MAP_NORESERVE = 0x4000;
const MAP_FAILED = 0xffffffffffffffffn;

/** libc bound once; undefined (with sysLoadError()) where koffi or libc cannot be loaded. */
export function loadSys(): Sys | undefined {
  if (sys || sysError) return sys;
  const c = loadLibc();
  if (!c) {
    sysError = libcLoadError() ?? 'koffi did not load';
    return undefined;
  }
  try {
    const { lib, koffi } = c;
    sys = {
      koffi,
      open: c.open,
      close: c.close,
      errno: c.errno,
      ioctlInt: lib.func('ioctl', 'int', ['int', 'unsigned long', 'unsigned long']) as Sys['ioctlInt'],
      ioctlPtr: lib.func('ioctl', 'int', ['int', 'unsigned long', 'void *']) as Sys['ioctlPtr'],
      mmap: lib.func('void *mmap(void *addr, size_t len, int prot, int flags, int fd, long off)') as Sys['mmap'],
      munmap: lib.func('int munmap(void *addr, size_t len)') as Sys['munmap'],
      strerror: lib.func('const char *strerror(int errnum)') as Sys['strerror'],
      timers: bindTimers(koffi, lib),
    };
  } catch (err) {
    sysError = err instanceof Error ? err.message : String(err);
  }
  return sys;
}

export function sysLoadError(): string | undefined {
  return sysError;
}

/** Whether an mmap result is MAP_FAILED (or null). */
export function mapFailed(s: Sys, p: Ptr): boolean {
  return p === null || p === undefined || s.koffi.address(p) === MAP_FAILED;
}

// What an errno means for a given call: the reason a person reads, and what to do.
const CALL_ERRNO: Record<string, Record<string, string>> = {
  KVM_GET_VCPU_MMAP_SIZE: {},
  KVM_GET_SUPPORTED_CPUID: {
    E2BIG: 'KVM has more CPUID entries than the buffer kvmbench passed (a kvmbench bug: the buffer should grow)',
  },
  KVM_SET_USER_MEMORY_REGION: {
    EINVAL:
      'KVM refused the memory slot: a slot number beyond KVM_CAP_NR_MEMSLOTS, or an address or size that is not page-aligned',
    EEXIST: 'the memory slot overlaps another slot of this VM',
    EFAULT: 'the user-space address of the guest memory is not mapped in this process',
    ENOMEM: "the kernel could not allocate the slot's bookkeeping (memory or memory cgroup limit)",
  },
  KVM_CREATE_VCPU: {
    EINVAL: 'the vCPU id is at or above KVM_CAP_MAX_VCPU_ID, or this VM already has KVM_CAP_MAX_VCPUS vCPUs',
    EEXIST: 'a vCPU with this id already exists in this VM',
    ENOMEM: 'the kernel could not allocate a vCPU (memory or memory cgroup limit)',
    EMFILE: 'out of file descriptors in this process (`ulimit -n`)',
  },
  KVM_SET_SREGS: {
    EINVAL:
      'KVM rejected the segment and control-register state (e.g. long mode without PAE, or CR bits this CPU does not allow)',
  },
  KVM_SET_REGS: { EINVAL: 'KVM rejected the general-purpose register state' },
  KVM_SET_CPUID2: {
    E2BIG: 'more CPUID entries than KVM accepts',
    EINVAL:
      'KVM rejected the CPUID table (an inconsistent entry, or the vCPU already ran: KVM freezes CPUID after the first KVM_RUN)',
    EFAULT: 'the CPUID table is not readable memory (a kvmbench bug)',
  },
  KVM_RUN: {
    EINTR: 'the vCPU did not exit to kvmbench before the watchdog fired: the guest is stuck in a loop KVM handles by itself',
    EFAULT: 'KVM could not access guest memory or the kvm_run page while running the vCPU',
    ENOEXEC: 'the vCPU state is not runnable (KVM refused to enter the guest)',
    EINVAL: 'KVM refused to run the vCPU with this state (e.g. an unsupported mode)',
    ENOMEM: 'the kernel ran out of memory while running the vCPU',
  },
  mmap: {
    ENOMEM: 'no address space or memory left for the mapping (memory cgroup limit or `ulimit -v`)',
    EINVAL: 'bad mapping arguments (a kvmbench bug), or the kvm_run size KVM reported is wrong',
    EACCES: 'the fd does not allow this mapping',
  },
};

const GENERIC_ERRNO: Record<string, string> = {
  EBADF: 'the file descriptor is not open (a kvmbench bug, or it was closed under the VMM)',
  ENOTTY:
    'this file descriptor does not take this ioctl: the ioctl number is wrong for this kernel (an ABI mismatch) or the fd is not the KVM object expected',
  EFAULT: 'the kernel could not read or write the struct kvmbench passed (a kvmbench bug: wrong size or layout)',
  EPERM: 'a seccomp filter or an LSM policy denies this call',
  EACCES: 'a seccomp filter or an LSM policy denies this call',
  ENOMEM: "the kernel is out of memory, or this process's memory cgroup limit was reached",
  EMFILE: 'out of file descriptors in this process (`ulimit -n`)',
  ENFILE: 'out of file descriptors system-wide',
  EINVAL: 'the kernel rejected an argument',
  EINTR: 'interrupted by a signal',
};

/** What `errno` means for `call`, from the per-call table, the probe's explanations or a generic one. */
export function errnoMeaning(call: string, errno: string, device = '/dev/kvm'): string {
  const own = CALL_ERRNO[call]?.[errno];
  if (own) return own;
  if (call === 'open') return explainProbe('open', errno, device).reason ?? GENERIC_ERRNO[errno] ?? 'cannot open the KVM device';
  if (call === 'KVM_CREATE_VM')
    return explainProbe('create-vm', errno, device).reason ?? GENERIC_ERRNO[errno] ?? 'KVM could not create a VM';
  return GENERIC_ERRNO[errno] ?? 'see the errno';
}

/** A failed system call of the raw VMM: which call, its errno (symbolic and as text) and what it means. */
export class KvmError extends Error {
  constructor(
    readonly call: string,
    readonly errno: string,
    readonly meaning: string,
    readonly errnoText?: string,
  ) {
    super(`${call} failed with ${errno}${errnoText ? ` (${errnoText})` : ''}: ${meaning}`);
    this.name = 'KvmError';
  }
}

/** Builds the error for a call that just failed, reading errno at once. */
export function callError(s: Sys, call: string, device?: string): KvmError {
  const nr = s.errno();
  const name = errnoName(nr);
  let text: string | undefined;
  try {
    text = s.strerror(nr);
  } catch {
    text = undefined;
  }
  return new KvmError(call, name, errnoMeaning(call, name, device), text);
}

/**
 * A watchdog for KVM_RUN: a POSIX timer that sends SIGALRM to this thread (SIGEV_THREAD_ID),
 * so a vCPU that never exits to user space makes KVM_RUN return EINTR instead of blocking
 * Node's only thread for ever. Node must have a SIGALRM listener, or the signal's default
 * action would end the process; one is installed with the first timer and kept. Worker threads
 * cannot listen for signals, and a libc without POSIX timers has none to arm: there the watchdog
 * is off (`active` false) and a stuck guest blocks the thread.
 */
export class Watchdog {
  private timer: bigint | undefined;
  private static listening = false;

  readonly active: boolean;

  constructor(private readonly s: Sys) {
    this.active = isMainThread && s.timers !== undefined;
  }

  private ensure(): bigint {
    if (this.timer !== undefined) return this.timer;
    if (!Watchdog.listening) {
      process.on('SIGALRM', () => undefined);
      Watchdog.listening = true;
    }
    // struct sigevent (64 bytes): sigev_value @0, sigev_signo @8, sigev_notify @12, _tid @16.
    const sev = Buffer.alloc(64);
    sev.writeInt32LE(14, 8); // SIGALRM
    sev.writeInt32LE(4, 12); // SIGEV_THREAD_ID
    // The main thread's id is the process id (the watchdog is active only there).
    sev.writeInt32LE(process.pid, 16);
    const out = Buffer.alloc(8);
    if (this.s.timers!.create(1 /* CLOCK_MONOTONIC */, sev, out) !== 0) throw callError(this.s, 'timer_create');
    this.timer = out.readBigUInt64LE(0);
    return this.timer;
  }

  /** Fire once after `ms` (0 disarms). */
  arm(ms: number): void {
    if (!this.active) return;
    const t = this.ensure();
    // struct itimerspec: it_interval {sec, nsec}, it_value {sec, nsec}.
    const spec = Buffer.alloc(32);
    const whole = Math.floor(ms / 1000);
    spec.writeBigInt64LE(BigInt(whole), 16);
    spec.writeBigInt64LE(BigInt(Math.round((ms - whole * 1000) * 1e6)), 24);
    if (this.s.timers!.settime(t, 0, spec, null) !== 0) throw callError(this.s, 'timer_settime');
  }

  disarm(): void {
    if (this.timer !== undefined) this.arm(0);
  }
}

let sharedWatchdog: Watchdog | undefined;
/** One timer for the process (the main thread runs every vCPU). */
export function watchdog(s: Sys): Watchdog {
  sharedWatchdog ??= new Watchdog(s);
  return sharedWatchdog;
}
