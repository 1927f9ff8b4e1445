/**
 * The raw VMM's exit loop, in two implementations with the same device model (any port but
 * RAW_CTL_PORT and any MMIO address is an empty device: reads give zeros, writes are dropped;
 * the control port ends a window):
 *
 *  - `ffi`: a JavaScript loop calling ioctl(KVM_RUN) through koffi once per exit;
 *  - `c`:   guests/raw/helper/kvmraw.c (build/guests/kvmraw.so), called through koffi once per
 *           window, looping over KVM_RUN in C.
 *
 * Each can measure its own cost per exit: the same loop with the KVM_RUN ioctl replaced by a
 * call of an empty C function, over a kvm_run set up as an I/O read. That is what the harness
 * adds to an exit beyond the kernel's work (the system call itself is part of any VMM's exit).
 * The raw suite keeps the one with the lower cost (`c` where the helper is built; measured in
 * every pio case) and reports both.
 */
import { EXIT_IO, EXIT_IO_IN, EXIT_MMIO, KVM, OFFSETOF, SIZEOF } from './abi.js';
import { RAW } from './layout.js';
import { errnoName } from './probe.js';
import { KvmError, callError, errnoMeaning, watchdog, type Sys } from './sys.js';
import type { RawVm } from './vm.js';

const RUN = OFFSETOF.kvm_run;

export type HarnessKind = 'c' | 'ffi';

export interface WindowResult {
  /** Exits the loop handled (I/O and MMIO other than the control port). */
  handled: number;
  /** The exit reason that ended the window (KVM_EXIT_IO on the control port when all went well). */
  reason: number;
}

export interface ExitLoop {
  kind: HarnessKind;
  /** Runs the vCPU until it reports on the control port (or stops otherwise), under the watchdog. */
  window(vm: RawVm, timeoutMs: number): WindowResult;
  /** Nanoseconds of the harness's own work for `n` exits (no system call). */
  overheadNs(vm: RawVm, n: number): number;
  /** What `overheadNs` times, for the metric's method. */
  overheadMethod: string;
}

/** One exit of the device model on kvm_run; true when the window ends here. */
export function handleExitJs(run: DataView, bytes: Uint8Array): boolean {
  const reason = run.getUint32(RUN.exit_reason, true);
  if (reason === EXIT_IO) {
    if (run.getUint16(RUN['io.port'], true) === RAW.CTL_PORT) return true;
    if (run.getUint8(RUN['io.direction']) === EXIT_IO_IN) {
      // data_offset is a u64; it is a page offset inside kvm_run, so its low half is all of it.
      const off = run.getUint32(RUN['io.data_offset'], true);
      bytes.fill(0, off, off + run.getUint8(RUN['io.size']) * run.getUint32(RUN['io.count'], true));
    }
    return false;
  }
  if (reason === EXIT_MMIO) {
    if (run.getUint8(RUN['mmio.is_write']) === 0) bytes.fill(0, RUN['mmio.data'], RUN['mmio.data'] + 8);
    return false;
  }
  return true;
}

/** Makes kvm_run read as a 4-byte I/O read of RAW_PIO_PORT (the vCPU is not running), for overhead loops. */
export function fakePioExit(vm: RawVm): void {
  const run = vm.run!;
  run.setUint32(RUN.exit_reason, EXIT_IO, true);
  run.setUint8(RUN['io.direction'], EXIT_IO_IN);
  run.setUint8(RUN['io.size'], 4);
  run.setUint16(RUN['io.port'], RAW.PIO_PORT, true);
  run.setUint32(RUN['io.count'], 1, true);
  // KVM's own I/O data page on x86 is the one after kvm_run (KVM_PIO_PAGE_OFFSET 1).
  run.setBigUint64(RUN['io.data_offset'], BigInt(Math.min(4096, run.byteLength - 8)), true);
}

type Call = (fd: number, req: number, arg: number) => number;

/** The JavaScript loop over KVM_RUN (or `call` standing in for it); shared by the window and its overhead. */
function jsLoop(s: Sys, call: Call, vm: RawVm, deadlineNs: bigint, limit: number): WindowResult {
  const run = vm.run!;
  const bytes = vm.runBytes!;
  const fd = vm.vcpuFd;
  const req = KVM.RUN;
  let n = 0;
  for (;;) {
    if (call(fd, req, 0) < 0) {
      const e = callError(s, 'KVM_RUN');
      if (e.errno === 'EINTR' && process.hrtime.bigint() < deadlineNs) continue;
      throw e;
    }
    if (handleExitJs(run, bytes) || ++n >= limit) break;
  }
  return { handled: n, reason: run.getUint32(RUN.exit_reason, true) };
}

function timeoutError(timeoutMs: number, handled: number): KvmError {
  return new KvmError(
    'KVM_RUN',
    'EINTR',
    `the guest did not report on the control port within ${timeoutMs} ms (watchdog) after ${handled} exits: it is stuck in a loop KVM handles by itself, or never finished its command`,
  );
}

/** The exit loop in JavaScript through koffi. `nop` (the C helper's empty function) times its overhead when available. */
export function ffiLoop(s: Sys, nop?: Call): ExitLoop {
  return {
    kind: 'ffi',
    window(vm, timeoutMs) {
      const wd = watchdog(s);
      wd.arm(timeoutMs);
      try {
        return jsLoop(s, s.ioctlInt, vm, process.hrtime.bigint() + BigInt(timeoutMs) * 1_000_000n, Infinity);
      } catch (err) {
        if (err instanceof KvmError && err.errno === 'EINTR') throw timeoutError(timeoutMs, 0);
        throw err;
      } finally {
        wd.disarm();
      }
    },
    overheadNs(vm, n) {
      fakePioExit(vm);
      const t0 = process.hrtime.bigint();
      const stand: Call =
        nop ??
        ((_fd, req) => {
          s.ioctlInt(-1, req, 0);
          return 0;
        });
      jsLoop(s, stand, vm, 0n, n);
      return Number(process.hrtime.bigint() - t0);
    },
    overheadMethod: nop
      ? 'the JavaScript exit loop with ioctl(KVM_RUN) replaced by a koffi call of an empty C function (kvmraw_nop, same signature), decoding a kvm_run that reads as a 4-byte port read and zero-filling its data'
      : 'the JavaScript exit loop with ioctl(KVM_RUN) replaced by a koffi ioctl on fd -1 (fails at once with EBADF: this figure includes one system call), decoding a kvm_run that reads as a 4-byte port read',
  };
}

export interface CHelper {
  loop: ExitLoop;
  /** kvmraw_nop bound through koffi, for the ffi loop's overhead. */
  nop: Call;
  path: string;
}

/**
 * Loads build/guests/kvmraw.so and checks the ABI numbers it was compiled with (from the
 * system's <linux/kvm.h>) against src/kvm/abi.ts: a helper that disagrees is not used.
 */
export function loadCHelper(s: Sys, path: string): CHelper {
  const lib = s.koffi.load(path);
  const run = lib.func('kvmraw_run', 'int', ['int', 'void *', 'uint64_t', 'void *']) as (
    fd: number,
    run: unknown,
    deadline: bigint,
    out: Buffer,
  ) => number;
  const nop = lib.func('kvmraw_nop', 'int', ['int', 'unsigned long', 'unsigned long']) as Call;
  const overhead = lib.func('kvmraw_overhead', 'uint64_t', ['int', 'void *', 'uint64_t']) as (
    fd: number,
    run: unknown,
    n: number,
  ) => number | bigint;
  const abi = lib.func('kvmraw_abi', 'int', ['void *', 'int']) as (out: Buffer, n: number) => number;
  const want = [
    KVM.RUN,
    KVM.SET_USER_MEMORY_REGION,
    KVM.SET_SREGS,
    KVM.SET_REGS,
    SIZEOF.kvm_sregs,
    SIZEOF.kvm_regs,
    RUN.exit_reason,
    RUN['io.port'],
    RUN['io.data_offset'],
    RUN['mmio.data'],
  ];
  const buf = Buffer.alloc(want.length * 8);
  const n = abi(buf, want.length);
  const got = Array.from({ length: Math.min(n, want.length) }, (_, i) => Number(buf.readBigUInt64LE(i * 8)));
  if (n !== want.length || got.some((v, i) => v !== want[i])) {
    throw new Error(
      `${path} was built with a <linux/kvm.h> that disagrees with src/kvm/abi.ts (helper ${got.join(',')}, kvmbench ${want.join(',')})`,
    );
  }
  const handled = Buffer.alloc(8);
  const loop: ExitLoop = {
    kind: 'c',
    window(vm, timeoutMs) {
      const wd = watchdog(s);
      wd.arm(timeoutMs);
      try {
        const rc = run(vm.vcpuFd, vm.runPointer, process.hrtime.bigint() + BigInt(timeoutMs) * 1_000_000n, handled);
        const h = Number(handled.readBigUInt64LE(0));
        if (rc === -4 /* EINTR */) throw timeoutError(timeoutMs, h);
        if (rc < 0) throw new KvmError('KVM_RUN', errnoName(-rc), errnoMeaning('KVM_RUN', errnoName(-rc)));
        return { handled: h, reason: rc };
      } finally {
        wd.disarm();
      }
    },
    overheadNs(vm, count) {
      fakePioExit(vm);
      return Number(overhead(vm.vcpuFd, vm.runPointer, count));
    },
    overheadMethod:
      'the C exit loop (kvmraw.c) with ioctl(KVM_RUN) replaced by a call of an empty function through a volatile pointer, decoding a kvm_run that reads as a 4-byte port read and zero-filling its data; timed in C with CLOCK_MONOTONIC',
  };
  return { loop, nop, path };
}
