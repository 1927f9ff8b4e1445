/**
 * kvmbench's own minimal VMM over /dev/kvm: one VM, one memory slot over an anonymous
 * mapping, one vCPU with its mmap'd kvm_run, register set-up for real mode or 64-bit long
 * mode, and KVM_RUN with a watchdog. No devices: the caller decides what an I/O or MMIO exit
 * means (src/kvm/harness.ts). Synchronous, like the probe.
 *
 * Every failing call throws a KvmError naming the call, its errno and its meaning; close()
 * releases the kvm_run mapping, the vCPU and VM fds and the guest memory, whatever state the
 * VM got to, and is idempotent.
 */
import { kvmDevice } from './probe.js';
import {
  EXIT_FAIL_ENTRY,
  EXIT_INTERNAL_ERROR,
  EXIT_IO,
  EXIT_MMIO,
  EXIT_REASONS,
  KVM,
  OFFSETOF,
  SIZEOF,
  X86,
  exitReasonName,
} from './abi.js';
import { RAW } from './layout.js';
import {
  KvmError,
  MAP_ANONYMOUS,
  MAP_NORESERVE,
  MAP_PRIVATE,
  MAP_SHARED,
  O_CLOEXEC,
  O_RDWR,
  PROT_READ,
  PROT_WRITE,
  callError,
  loadSys,
  mapFailed,
  sysLoadError,
  watchdog,
  type Sys,
} from './sys.js';

const RUN = OFFSETOF.kvm_run;
const SREGS = OFFSETOF.kvm_sregs;
const SEG = OFFSETOF.kvm_segment;
const REGS = OFFSETOF.kvm_regs;

/** The libc bindings, or a KvmError saying why there are none. */
export function requireSys(): Sys {
  const s = loadSys();
  if (!s)
    throw new KvmError(
      'dlopen(libc.so.6) through koffi',
      'ENOSYS',
      `cannot call libc from Node: ${sysLoadError() ?? 'koffi did not load'}; reinstall dependencies (\`npm ci\`)`,
    );
  return s;
}

/** The /dev/kvm fd, and what a VMM asks the system fd once. */
export class KvmSystem {
  private mmapSize: number | undefined;
  private cpuid: Buffer | undefined;
  private closed = false;

  private constructor(
    readonly s: Sys,
    readonly fd: number,
    readonly device: string,
  ) {}

  static open(device: string = kvmDevice()): KvmSystem {
    const s = requireSys();
    const fd = s.open(device, O_RDWR | O_CLOEXEC);
    if (fd < 0) throw callError(s, 'open', device);
    return new KvmSystem(s, fd, device);
  }

  /** KVM_GET_VCPU_MMAP_SIZE: bytes of the kvm_run mapping of every vCPU. */
  vcpuMmapSize(): number {
    if (this.mmapSize === undefined) {
      const n = this.s.ioctlInt(this.fd, KVM.GET_VCPU_MMAP_SIZE, 0);
      if (n < 0) throw callError(this.s, 'KVM_GET_VCPU_MMAP_SIZE');
      this.mmapSize = n;
    }
    return this.mmapSize;
  }

  /** KVM_GET_SUPPORTED_CPUID as a struct kvm_cpuid2 ready for KVM_SET_CPUID2 (asked once). */
  supportedCpuid(): Buffer {
    if (this.cpuid) return this.cpuid;
    for (let nent = 128; nent <= 4096; nent *= 2) {
      const buf = Buffer.alloc(SIZEOF.kvm_cpuid2 + nent * SIZEOF.kvm_cpuid_entry2);
      buf.writeUInt32LE(nent, OFFSETOF.kvm_cpuid2.nent);
      if (this.s.ioctlPtr(this.fd, KVM.GET_SUPPORTED_CPUID, buf) === 0) {
        const n = buf.readUInt32LE(OFFSETOF.kvm_cpuid2.nent);
        this.cpuid = buf.subarray(0, SIZEOF.kvm_cpuid2 + n * SIZEOF.kvm_cpuid_entry2);
        return this.cpuid;
      }
      const e = callError(this.s, 'KVM_GET_SUPPORTED_CPUID');
      if (e.errno !== 'E2BIG') throw e;
    }
    throw new KvmError('KVM_GET_SUPPORTED_CPUID', 'E2BIG', 'more than 4096 CPUID entries');
  }

  /** KVM_CREATE_VM: a VM with no memory and no vCPU yet. */
  createVm(): RawVm {
    const vm = this.s.ioctlInt(this.fd, KVM.CREATE_VM, 0);
    if (vm < 0) throw callError(this.s, 'KVM_CREATE_VM', this.device);
    return new RawVm(this, vm);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.s.close(this.fd);
  }
}

export interface RawExit {
  reason: number;
  name: string;
  io?: { port: number; direction: 'in' | 'out'; size: number; count: number; value: number };
  mmio?: { addr: bigint; len: number; isWrite: boolean };
  /** KVM_EXIT_INTERNAL_ERROR's suberror. */
  suberror?: number;
  /** KVM_EXIT_FAIL_ENTRY's hardware reason. */
  hardwareReason?: bigint;
}

/** The guest stopped in a way the caller did not expect: which exit, and what it means. */
export class RawExitError extends Error {
  constructor(
    readonly exit: RawExit,
    expected: string,
  ) {
    const extra =
      exit.suberror !== undefined
        ? ` (suberror ${exit.suberror})`
        : exit.hardwareReason !== undefined
          ? ` (hardware reason 0x${exit.hardwareReason.toString(16)})`
          : '';
    super(
      `the guest stopped with ${exit.name}${extra}: ${EXIT_REASONS[exit.reason]?.meaning ?? 'an exit kvmbench does not handle'}; expected ${expected}`,
    );
    this.name = 'RawExitError';
  }
}

export interface Segment {
  base: number;
  limit: number;
  selector: number;
  type: number;
  present: number;
  dpl: number;
  db: number;
  s: number;
  l: number;
  g: number;
}

function writeSegment(b: Buffer, at: number, seg: Segment): void {
  b.writeBigUInt64LE(BigInt(seg.base), at + SEG.base);
  b.writeUInt32LE(seg.limit >>> 0, at + SEG.limit);
  b.writeUInt16LE(seg.selector, at + SEG.selector);
  b.writeUInt8(seg.type, at + SEG.type);
  b.writeUInt8(seg.present, at + SEG.present);
  b.writeUInt8(seg.dpl, at + SEG.dpl);
  b.writeUInt8(seg.db, at + SEG.db);
  b.writeUInt8(seg.s, at + SEG.s);
  b.writeUInt8(seg.l, at + SEG.l);
  b.writeUInt8(seg.g, at + SEG.g);
  b.writeUInt8(0, at + SEG.avl);
  b.writeUInt8(0, at + SEG.unusable);
}

/** 64-bit code and flat data segments (GDT entries 1 and 2). */
export const LONG_CS: Segment = {
  base: 0,
  limit: 0xffffffff,
  selector: 0x8,
  type: 0xb,
  present: 1,
  dpl: 0,
  db: 0,
  s: 1,
  l: 1,
  g: 1,
};
export const LONG_DS: Segment = {
  base: 0,
  limit: 0xffffffff,
  selector: 0x10,
  type: 0x3,
  present: 1,
  dpl: 0,
  db: 1,
  s: 1,
  l: 0,
  g: 1,
};
/** The same as GDT descriptors (Intel SDM vol. 3, 3.4.5): null, code (L=1), data. */
export const LONG_GDT = [0n, 0x00af9b000000ffffn, 0x00cf93000000ffffn] as const;

/** Identity map of the first GiB with 2 MiB pages: PML4[0] → PDPT, PDPT[0] → PD, PD[i] → i × 2 MiB. */
export function longModePageTables(): Map<number, bigint[]> {
  const flags = BigInt(X86.PTE_P | X86.PTE_W);
  const pd: bigint[] = [];
  for (let i = 0; i < 512; i++) pd.push((BigInt(i) << 21n) | flags | BigInt(X86.PTE_PS));
  return new Map([
    [RAW.PML4, [BigInt(RAW.PDPT) | flags]],
    [RAW.PDPT, [BigInt(RAW.PD) | flags]],
    [RAW.PD, pd],
  ]);
}

export const LONG_CR0 = (X86.CR0_PE | X86.CR0_MP | X86.CR0_ET | X86.CR0_NE | X86.CR0_WP | X86.CR0_AM | X86.CR0_PG) >>> 0;
export const LONG_CR4 = X86.CR4_PAE;
export const LONG_EFER = X86.EFER_LME | X86.EFER_LMA;

export class RawVm {
  private readonly s: Sys;
  private memPtr: unknown;
  private memLen = 0;
  /** Guest memory as seen by the host (valid until close()). */
  mem: Uint8Array | undefined;
  vcpuFd = -1;
  private runPtr: unknown;
  private runLen = 0;
  /** The vCPU's kvm_run page (valid until close()). */
  run: DataView | undefined;
  runBytes: Uint8Array | undefined;
  private closed = false;

  constructor(
    readonly sys: KvmSystem,
    readonly fd: number,
  ) {
    this.s = sys.s;
  }

  /** Anonymous memory of `size` bytes as slot 0 at guest-physical 0 (KVM_SET_USER_MEMORY_REGION). */
  addMemory(size: number = RAW.MEM_SIZE): void {
    if (this.memPtr !== undefined) throw new Error('this VM already has its memory slot');
    const s = this.s;
    const p = s.mmap(null, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mapFailed(s, p)) throw callError(s, 'mmap');
    this.memPtr = p;
    this.memLen = size;
    this.mem = new Uint8Array(s.koffi.view(p, size));
    const r = Buffer.alloc(SIZEOF.kvm_userspace_memory_region);
    const o = OFFSETOF.kvm_userspace_memory_region;
    r.writeUInt32LE(0, o.slot);
    r.writeUInt32LE(0, o.flags);
    r.writeBigUInt64LE(0n, o.guest_phys_addr);
    r.writeBigUInt64LE(BigInt(size), o.memory_size);
    r.writeBigUInt64LE(s.koffi.address(p), o.userspace_addr);
    if (s.ioctlPtr(this.fd, KVM.SET_USER_MEMORY_REGION, r) < 0) throw callError(s, 'KVM_SET_USER_MEMORY_REGION');
  }

  /** KVM_CREATE_VCPU and its kvm_run mapping. */
  createVcpu(id = 0): void {
    if (this.vcpuFd >= 0) throw new Error('this VM already has its vCPU');
    const s = this.s;
    const len = this.sys.vcpuMmapSize();
    const fd = s.ioctlInt(this.fd, KVM.CREATE_VCPU, id);
    if (fd < 0) throw callError(s, 'KVM_CREATE_VCPU');
    this.vcpuFd = fd;
    const p = s.mmap(null, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (mapFailed(s, p)) throw callError(s, 'mmap');
    this.runPtr = p;
    this.runLen = len;
    const ab = s.koffi.view(p, len);
    this.run = new DataView(ab);
    this.runBytes = new Uint8Array(ab);
  }

  /** The kvm_run pointer, for the C harness. */
  get runPointer(): unknown {
    return this.runPtr;
  }

  /** Copies `blob` into guest memory at `at`. */
  load(blob: Uint8Array, at: number = RAW.LOAD_ADDR): void {
    if (!this.mem) throw new Error('load before addMemory');
    if (at + blob.length > this.memLen)
      throw new RangeError(
        `a ${blob.length}-byte blob at 0x${at.toString(16)} does not fit ${this.memLen} bytes of guest memory`,
      );
    this.mem.set(blob, at);
  }

  private vcpuIoctl(req: number, name: string, buf: Buffer): void {
    if (this.s.ioctlPtr(this.vcpuFd, req, buf) < 0) throw callError(this.s, name);
  }

  private getSregs(): Buffer {
    const b = Buffer.alloc(SIZEOF.kvm_sregs);
    this.vcpuIoctl(KVM.GET_SREGS, 'KVM_GET_SREGS', b);
    return b;
  }

  private setRegs(rip: number, rsp: number): void {
    const r = Buffer.alloc(SIZEOF.kvm_regs);
    r.writeBigUInt64LE(BigInt(rip), REGS.rip);
    r.writeBigUInt64LE(BigInt(rsp), REGS.rsp);
    r.writeBigUInt64LE(BigInt(X86.RFLAGS_FIXED), REGS.rflags);
    this.vcpuIoctl(KVM.SET_REGS, 'KVM_SET_REGS', r);
  }

  /** Real mode from the vCPU's reset state, with CS base 0 so IP `entry` is guest-physical `entry`. */
  enterRealMode(entry: number = RAW.LOAD_ADDR): void {
    const sr = this.getSregs();
    sr.writeBigUInt64LE(0n, SREGS.cs + SEG.base);
    sr.writeUInt16LE(0, SREGS.cs + SEG.selector);
    this.vcpuIoctl(KVM.SET_SREGS, 'KVM_SET_SREGS', sr);
    this.setRegs(entry, 0);
  }

  /**
   * 64-bit long mode at `entry`: identity-mapped page tables and a GDT written to guest memory,
   * CR0/CR4/EFER and segments set through KVM_SET_SREGS, and (`cpuid`, default) the CPUID KVM
   * supports given to the vCPU, as every VMM does before the first KVM_RUN.
   */
  enterLongMode(entry: number = RAW.LOAD_ADDR, opts: { cpuid?: boolean } = {}): void {
    if (!this.mem) throw new Error('enterLongMode before addMemory');
    const mem = Buffer.from(this.mem.buffer, this.mem.byteOffset, this.mem.byteLength);
    for (const [at, entries] of longModePageTables()) entries.forEach((e, i) => mem.writeBigUInt64LE(e, at + i * 8));
    LONG_GDT.forEach((d, i) => mem.writeBigUInt64LE(d, RAW.GDT + i * 8));
    if (opts.cpuid !== false) this.vcpuIoctl(KVM.SET_CPUID2, 'KVM_SET_CPUID2', this.sys.supportedCpuid());
    const sr = this.getSregs();
    writeSegment(sr, SREGS.cs, LONG_CS);
    for (const seg of ['ds', 'es', 'fs', 'gs', 'ss'] as const) writeSegment(sr, SREGS[seg], LONG_DS);
    sr.writeBigUInt64LE(BigInt(RAW.GDT), SREGS.gdt + OFFSETOF.kvm_dtable.base);
    sr.writeUInt16LE(LONG_GDT.length * 8 - 1, SREGS.gdt + OFFSETOF.kvm_dtable.limit);
    sr.writeBigUInt64LE(BigInt(LONG_CR0), SREGS.cr0);
    sr.writeBigUInt64LE(BigInt(RAW.PML4), SREGS.cr3);
    sr.writeBigUInt64LE(BigInt(LONG_CR4), SREGS.cr4);
    sr.writeBigUInt64LE(BigInt(LONG_EFER), SREGS.efer);
    this.vcpuIoctl(KVM.SET_SREGS, 'KVM_SET_SREGS', sr);
    this.setRegs(entry, RAW.STACK_TOP);
  }

  /** KVM_GET_TSC_KHZ: the guest's TSC rate as KVM set it; undefined where KVM cannot say. */
  tscKhz(): number | undefined {
    const k = this.s.ioctlInt(this.vcpuFd, KVM.GET_TSC_KHZ, 0);
    return k > 0 ? k : undefined;
  }

  /** One KVM_RUN under the watchdog (`timeoutMs`); a stray signal's EINTR before the deadline runs again. */
  runOnce(timeoutMs = 2000): RawExit {
    const s = this.s;
    const wd = watchdog(s);
    const deadline = performance.now() + timeoutMs;
    wd.arm(timeoutMs);
    try {
      for (;;) {
        if (s.ioctlInt(this.vcpuFd, KVM.RUN, 0) === 0) break;
        const e = callError(s, 'KVM_RUN');
        if (e.errno === 'EINTR' && performance.now() < deadline) continue;
        if (e.errno === 'EINTR')
          throw new KvmError(
            'KVM_RUN',
            'EINTR',
            `the guest did not exit to kvmbench within ${timeoutMs} ms (watchdog): it is stuck in a loop KVM handles by itself`,
            e.errnoText,
          );
        throw e;
      }
    } finally {
      wd.disarm();
    }
    return this.lastExit();
  }

  /** The exit KVM_RUN last returned with, decoded from kvm_run. */
  lastExit(): RawExit {
    const r = this.run!;
    const reason = r.getUint32(RUN.exit_reason, true);
    const exit: RawExit = { reason, name: exitReasonName(reason) };
    if (reason === EXIT_IO) {
      const size = r.getUint8(RUN['io.size']);
      const off = Number(r.getBigUint64(RUN['io.data_offset'], true));
      const value = size === 1 ? r.getUint8(off) : size === 2 ? r.getUint16(off, true) : r.getUint32(off, true);
      exit.io = {
        port: r.getUint16(RUN['io.port'], true),
        direction: r.getUint8(RUN['io.direction']) === 0 ? 'in' : 'out',
        size,
        count: r.getUint32(RUN['io.count'], true),
        value,
      };
    } else if (reason === EXIT_MMIO) {
      exit.mmio = {
        addr: r.getBigUint64(RUN['mmio.phys_addr'], true),
        len: r.getUint32(RUN['mmio.len'], true),
        isWrite: r.getUint8(RUN['mmio.is_write']) !== 0,
      };
    } else if (reason === EXIT_INTERNAL_ERROR) {
      exit.suberror = r.getUint32(RUN['internal.suberror'], true);
    } else if (reason === EXIT_FAIL_ENTRY) {
      exit.hardwareReason = r.getBigUint64(RUN['fail_entry.hardware_entry_failure_reason'], true);
    }
    return exit;
  }

  /** Releases kvm_run, the vCPU, the VM and guest memory; safe to call more than once and after any failure. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const s = this.s;
    // Views first: nothing may read the mappings once they are gone.
    this.run = undefined;
    this.runBytes = undefined;
    this.mem = undefined;
    if (this.runPtr !== undefined) s.munmap(this.runPtr, this.runLen);
    if (this.vcpuFd >= 0) s.close(this.vcpuFd);
    s.close(this.fd);
    if (this.memPtr !== undefined) s.munmap(this.memPtr, this.memLen);
    this.runPtr = undefined;
    this.memPtr = undefined;
  }
}
