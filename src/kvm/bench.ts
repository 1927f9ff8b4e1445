/**
 * What the raw VMM measures (the `raw` suite, src/cases/raw.ts) and the doctor's one guest
 * run (`kvm.run`): VM creation to the first guest instruction, split by step, and the
 * long-mode guest's timed loops, each a test loop beside its null twin, timed by the guest's
 * TSC and by the host's clock around the same windows.
 */
import { kvmDevice } from './probe.js';
import { EXIT_IO } from './abi.js';
import { CMD, MB, RAW, RAW_BLOBS, type RawCommand, type RawMode } from './layout.js';
import type { ExitLoop } from './harness.js';
import { KvmError } from './sys.js';
import { KvmSystem, RawExitError, type RawExit, type RawVm } from './vm.js';

/** One VM lifecycle up to the first exit, in milliseconds per step. */
export interface CreateSplit {
  /** KVM_CREATE_VM. */
  createVmMs: number;
  /** mmap of guest memory, KVM_SET_USER_MEMORY_REGION, the blob copied in. */
  memoryMs: number;
  /** KVM_CREATE_VCPU, the kvm_run mapping, registers (long mode: page tables, GDT, KVM_SET_CPUID2 too). */
  vcpuMs: number;
  /** The first KVM_RUN, from the call to its return with the guest's first exit. */
  firstRunMs: number;
  totalMs: number;
}

const ms = (a: bigint, b: bigint): number => Number(b - a) / 1e6;

/** What the first exit of each blob must be: proof its instructions ran. */
export function expectFirstExit(mode: RawMode, exit: RawExit): void {
  if (mode === 'real') {
    if (
      exit.reason !== EXIT_IO ||
      exit.io?.port !== RAW.REAL_PORT ||
      exit.io.direction !== 'out' ||
      exit.io.value !== RAW.REAL_VALUE
    ) {
      if (exit.reason === EXIT_IO)
        throw new Error(
          `the real-mode guest wrote 0x${exit.io?.value.toString(16)} to port 0x${exit.io?.port.toString(16)}, expected 0x${RAW.REAL_VALUE.toString(16)} (0x2a + 1) to port 0x${RAW.REAL_PORT.toString(16)}: its instructions did not run as written`,
        );
      throw new RawExitError(exit, `port output 0x${RAW.REAL_VALUE.toString(16)} to 0x${RAW.REAL_PORT.toString(16)}`);
    }
  } else if (exit.reason !== EXIT_IO || exit.io?.port !== RAW.CTL_PORT) {
    throw new RawExitError(exit, `the long-mode guest's report on port 0x${RAW.CTL_PORT.toString(16)}`);
  }
}

/**
 * Creates a VM, gives it memory and a vCPU in `mode`, runs it to its first exit, and destroys it.
 * The VM is closed on every path; `keep` receives it open instead (the caller closes it).
 */
export function firstInstruction(
  sys: KvmSystem,
  mode: RawMode,
  blob: Uint8Array,
  timeoutMs = 2000,
  keep?: (vm: RawVm) => void,
): { split: CreateSplit; exit: RawExit } {
  let vm: RawVm | undefined;
  try {
    const t0 = process.hrtime.bigint();
    vm = sys.createVm();
    const t1 = process.hrtime.bigint();
    vm.addMemory(RAW.MEM_SIZE);
    vm.load(blob, RAW.LOAD_ADDR);
    const t2 = process.hrtime.bigint();
    vm.createVcpu(0);
    if (mode === 'real') vm.enterRealMode(RAW.LOAD_ADDR);
    else vm.enterLongMode(RAW.LOAD_ADDR);
    const t3 = process.hrtime.bigint();
    const exit = vm.runOnce(timeoutMs);
    const t4 = process.hrtime.bigint();
    expectFirstExit(mode, exit);
    const split = {
      createVmMs: ms(t0, t1),
      memoryMs: ms(t1, t2),
      vcpuMs: ms(t2, t3),
      firstRunMs: ms(t3, t4),
      totalMs: ms(t0, t4),
    };
    if (keep) {
      keep(vm);
      vm = undefined;
    }
    return { split, exit };
  } finally {
    vm?.close();
  }
}

export interface CommandResult {
  /** Guest TSC ticks of the loop (serialized reads around it). */
  ticks: number;
  tscStart: bigint;
  tscEnd: bigint;
  /** Host time of the window: from handing the command over to the guest's report, ns. */
  hostNs: number;
  /** Exits to user space the harness handled in the window. */
  exits: number;
  /** Host clock (CLOCK_MONOTONIC, ns) at the hand-over and at the report. */
  t0: bigint;
  t1: bigint;
}

/** The long-mode guest, started and waiting for commands. */
export class LongGuest {
  private readonly mb: DataView;

  private constructor(
    readonly vm: RawVm,
    readonly loop: ExitLoop,
    readonly split: CreateSplit,
  ) {
    this.mb = new DataView(vm.mem!.buffer, vm.mem!.byteOffset + RAW.MAILBOX, 64);
  }

  static start(sys: KvmSystem, blob: Uint8Array, loop: ExitLoop, timeoutMs = 2000): LongGuest {
    let vm: RawVm | undefined;
    const { split } = firstInstruction(sys, 'long64', blob, timeoutMs, (v) => {
      vm = v;
    });
    return new LongGuest(vm!, loop, split);
  }

  command(cmd: RawCommand, iters: number, timeoutMs: number): CommandResult {
    const mb = this.mb;
    mb.setBigUint64(MB.CMD, BigInt(CMD[cmd]), true);
    mb.setBigUint64(MB.ITERS, BigInt(iters), true);
    const seq = mb.getBigUint64(MB.SEQ, true);
    const t0 = process.hrtime.bigint();
    const w = this.loop.window(this.vm, timeoutMs);
    const t1 = process.hrtime.bigint();
    const exit = this.vm.lastExit();
    if (w.reason !== EXIT_IO || exit.io?.port !== RAW.CTL_PORT)
      throw new RawExitError(exit, `a report on port 0x${RAW.CTL_PORT.toString(16)} after ${cmd}`);
    if (mb.getBigUint64(MB.SEQ, true) !== seq + 1n)
      throw new Error(`the long-mode guest reported without running ${cmd} (its sequence number did not advance)`);
    const tscStart = mb.getBigUint64(MB.TSC_START, true);
    return {
      ticks: Number(mb.getBigUint64(MB.TICKS, true)),
      tscStart,
      tscEnd: mb.getBigUint64(MB.TSC_END, true),
      hostNs: Number(t1 - t0),
      exits: w.handled,
      t0,
      t1,
    };
  }

  close(): void {
    try {
      this.mb.setBigUint64(MB.CMD, BigInt(CMD.HALT), true);
    } finally {
      this.vm.close();
    }
  }
}

/** Iterations for which one `cmd` loop lasts at least `targetUs` of host time (doubling, as the exits guest does). */
export function calibrateIterations(g: LongGuest, cmd: RawCommand, targetUs: number, timeoutMs: number, max = 1 << 26): number {
  let n = 16;
  for (;;) {
    const r = g.command(cmd, n, timeoutMs);
    if (r.hostNs >= targetUs * 1000 || n >= max) return n;
    // Jump straight to the neighbourhood of the target, then settle by doubling.
    const factor = Math.min(64, Math.max(2, 2 ** Math.floor(Math.log2((targetUs * 1000) / Math.max(1, r.hostNs)))));
    n = Math.min(max, n * factor);
  }
}

export interface PairSamples {
  iters: number;
  test: CommandResult[];
  null: CommandResult[];
}

/**
 * `samples` pairs of windows, the null loop just before the test loop, each of `iters`
 * iterations; `between` runs after each pair (the executor yields there and checks its abort).
 */
export async function measurePair(
  g: LongGuest,
  test: RawCommand,
  nul: RawCommand,
  iters: number,
  samples: number,
  timeoutMs: number,
  between: (i: number) => Promise<void> | void = () => undefined,
): Promise<PairSamples> {
  const out: PairSamples = { iters, test: [], null: [] };
  for (let i = 0; i < samples; i++) {
    out.null.push(g.command(nul, iters, timeoutMs));
    out.test.push(g.command(test, iters, timeoutMs));
    await between(i);
  }
  return out;
}

/** Per-iteration figures of a pair: guest ticks and host ns of (test − null) / N, and exits per iteration. */
export function perIteration(p: PairSamples): {
  ticks: number[];
  nullTicks: number[];
  hostNs: number[];
  exits: number[];
  nullExits: number[];
} {
  const n = p.iters;
  return {
    ticks: p.test.map((t, i) => (t.ticks - p.null[i]!.ticks) / n),
    nullTicks: p.null.map((t) => t.ticks / n),
    hostNs: p.test.map((t, i) => (t.hostNs - p.null[i]!.hostNs) / n),
    exits: p.test.map((t) => t.exits / n),
    nullExits: p.null.map((t) => t.exits / n),
  };
}

/**
 * The guest TSC rate as the host sees it: guest TSC between the first window's loop start and
 * the last one's end, over the host time between handing over the first command and the last
 * report. Off by the few microseconds around the loops, over windows of about a second.
 */
export function hostTscEstimate(windows: CommandResult[]): number | undefined {
  if (windows.length < 2) return undefined;
  const first = windows[0]!,
    last = windows[windows.length - 1]!;
  const ns = Number(last.t1 - first.t0);
  const ticks = Number(last.tscEnd - first.tscStart);
  return ns > 1e8 && ticks > 0 ? (ticks * 1e9) / ns : undefined;
}

/** Harness overhead per exit, ns: `samples` runs of `n` turns of the loop without its system call. */
export function overheadSamples(vm: RawVm, loop: ExitLoop, samples: number, n: number): number[] {
  loop.overheadNs(vm, n); // warm-up: JIT, first calls through koffi
  return Array.from({ length: samples }, () => loop.overheadNs(vm, n) / n);
}

/** The doctor's raw run, recorded as data so host trees can replay it (src/host/fixture-reader.ts). */
export interface RawRunRecord {
  ok: boolean;
  device: string;
  /** Where a failure lies: `setup` (kvmbench: no blob, no koffi) or `kvm` (a KVM call failed, or the guest did not run as written). */
  stage?: 'setup' | 'kvm';
  /** The blob that ran, relative to the package. */
  blob?: string;
  /** The call that failed (`open`, `KVM_CREATE_VCPU`, `KVM_RUN`...), its errno and what it means. */
  call?: string;
  errno?: string;
  reason?: string;
  /** Median of the runs: VM creation to the first exit, by step. */
  split?: CreateSplit;
  /** The first of the runs (cold: first koffi calls, page faults in kvmbench itself). */
  firstTotalMs?: number;
  runs?: number;
  exit?: { name: string; port?: number; value?: number };
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Runs the real-mode blob `runs` times (VM, memory, vCPU, first KVM_RUN, destroy) and reports
 * the median split; never throws. The doctor's `kvm.run`.
 */
export async function rawSmokeRun(device: string = kvmDevice(), runs = 3): Promise<RawRunRecord> {
  const rec: RawRunRecord = { ok: false, device };
  let sys: KvmSystem | undefined;
  try {
    const { builtGuestFile } = await import('../guests/index.js');
    const { readFileSync } = await import('node:fs');
    const blob = await builtGuestFile(RAW_BLOBS.real);
    rec.blob = blob.relPath;
    const bytes = new Uint8Array(readFileSync(blob.path));
    sys = KvmSystem.open(device);
    const splits: CreateSplit[] = [];
    let exit: RawExit | undefined;
    for (let i = 0; i < runs; i++) {
      const r = firstInstruction(sys, 'real', bytes);
      splits.push(r.split);
      exit = r.exit;
    }
    const pick = (k: keyof CreateSplit): number => Math.round(median(splits.map((s) => s[k])) * 1000) / 1000;
    rec.ok = true;
    rec.runs = runs;
    rec.split = {
      createVmMs: pick('createVmMs'),
      memoryMs: pick('memoryMs'),
      vcpuMs: pick('vcpuMs'),
      firstRunMs: pick('firstRunMs'),
      totalMs: pick('totalMs'),
    };
    rec.firstTotalMs = Math.round(splits[0]!.totalMs * 1000) / 1000;
    rec.exit = { name: exit!.name, port: exit!.io?.port, value: exit!.io?.value };
  } catch (err) {
    if (err instanceof KvmError && !err.call.startsWith('dlopen')) {
      rec.stage = 'kvm';
      rec.call = err.call;
      rec.errno = err.errno;
      rec.reason = err.message;
    } else {
      // A guest that stopped otherwise than written is KVM's failure; a missing blob or koffi is kvmbench's.
      rec.stage =
        err instanceof RawExitError || (err instanceof Error && /instructions did not run/.test(err.message)) ? 'kvm' : 'setup';
      rec.reason = err instanceof Error ? err.message : String(err);
    }
  } finally {
    sys?.close();
  }
  return rec;
}
