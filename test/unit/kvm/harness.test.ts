/**
 * The raw VMM's pure parts: the JavaScript exit loop's device model on a synthetic kvm_run,
 * the per-iteration arithmetic, iteration calibration, the host's TSC estimate, the TCG skip
 * reason, and errors that name the call, the errno and its meaning.
 */
import { describe, expect, it } from 'vitest';
import { EXIT_HLT, EXIT_IO, EXIT_IO_IN, EXIT_IO_OUT, EXIT_MMIO, OFFSETOF } from '../../../src/kvm/abi.js';
import {
  calibrateIterations,
  hostTscEstimate,
  perIteration,
  type CommandResult,
  type LongGuest,
  type PairSamples,
} from '../../../src/kvm/bench.js';
import { fakePioExit, handleExitJs } from '../../../src/kvm/harness.js';
import { RAW } from '../../../src/kvm/layout.js';
import { KvmError, errnoMeaning } from '../../../src/kvm/sys.js';
import type { RawVm } from '../../../src/kvm/vm.js';
import { rawSkipReason } from '../../../src/cases/raw.js';
import type { KvmProbeResult } from '../../../src/kvm/probe.js';

const R = OFFSETOF.kvm_run;

function kvmRun(): { run: DataView; bytes: Uint8Array } {
  const ab = new ArrayBuffer(3 * 4096);
  return { run: new DataView(ab), bytes: new Uint8Array(ab) };
}
function ioExit(k: ReturnType<typeof kvmRun>, port: number, dir: number, size: number, count = 1): void {
  k.run.setUint32(R.exit_reason, EXIT_IO, true);
  k.run.setUint8(R['io.direction'], dir);
  k.run.setUint8(R['io.size'], size);
  k.run.setUint16(R['io.port'], port, true);
  k.run.setUint32(R['io.count'], count, true);
  k.run.setBigUint64(R['io.data_offset'], 4096n, true);
}

describe("the JavaScript exit loop's device model", () => {
  it('answers a port read with zeros and runs on', () => {
    const k = kvmRun();
    k.bytes.fill(0xff, 4096, 4096 + 16);
    ioExit(k, RAW.PIO_PORT, EXIT_IO_IN, 4, 2);
    expect(handleExitJs(k.run, k.bytes)).toBe(false);
    expect([...k.bytes.subarray(4096, 4096 + 8)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(k.bytes[4096 + 8]).toBe(0xff); // size × count bytes, no more
  });

  it('drops a port write, and ends the window on the control port', () => {
    const k = kvmRun();
    ioExit(k, RAW.PIO_PORT, EXIT_IO_OUT, 1);
    expect(handleExitJs(k.run, k.bytes)).toBe(false);
    ioExit(k, RAW.CTL_PORT, EXIT_IO_OUT, 1);
    expect(handleExitJs(k.run, k.bytes)).toBe(true);
  });

  it('answers an MMIO read with zeros, and ends the window on any other exit', () => {
    const k = kvmRun();
    k.run.setUint32(R.exit_reason, EXIT_MMIO, true);
    k.bytes.fill(0xaa, R['mmio.data'], R['mmio.data'] + 8);
    k.run.setUint8(R['mmio.is_write'], 0);
    expect(handleExitJs(k.run, k.bytes)).toBe(false);
    expect(k.run.getBigUint64(R['mmio.data'], true)).toBe(0n);
    k.run.setUint32(R.exit_reason, EXIT_HLT, true);
    expect(handleExitJs(k.run, k.bytes)).toBe(true);
  });

  it('fakes a port read for the overhead loops, which the loop then handles as a device read', () => {
    const k = kvmRun();
    fakePioExit({ run: k.run } as unknown as RawVm);
    expect(k.run.getUint32(R.exit_reason, true)).toBe(EXIT_IO);
    expect(k.run.getUint16(R['io.port'], true)).toBe(RAW.PIO_PORT);
    expect(k.run.getBigUint64(R['io.data_offset'], true)).toBe(4096n);
    expect(handleExitJs(k.run, k.bytes)).toBe(false);
  });
});

const cmd = (ticks: number, hostNs: number, exits: number, t0 = 0n): CommandResult => ({
  ticks,
  tscStart: 0n,
  tscEnd: BigInt(ticks),
  hostNs,
  exits,
  t0,
  t1: t0 + BigInt(hostNs),
});

describe('arithmetic', () => {
  it('per iteration: (test − null) / N for guest ticks and host ns, exits / N', () => {
    const p: PairSamples = {
      iters: 100,
      test: [cmd(50_000, 20_000, 100), cmd(60_000, 24_000, 100)],
      null: [cmd(10_000, 4_000, 0), cmd(10_000, 4_000, 0)],
    };
    expect(perIteration(p)).toEqual({
      ticks: [400, 500],
      nullTicks: [100, 100],
      hostNs: [160, 200],
      exits: [1, 1],
      nullExits: [0, 0],
    });
  });

  it('estimates the guest TSC rate from the first loop start to the last loop end over host time', () => {
    const a = { ...cmd(0, 1e6, 0, 0n), tscStart: 1_000n, tscEnd: 2_000n };
    const b = { ...cmd(0, 1e6, 0, 999_000_000n), tscStart: 0n, tscEnd: 2_445_001_000n };
    expect(hostTscEstimate([a, b])).toBeCloseTo(2.445e9, -3);
    expect(hostTscEstimate([a])).toBeUndefined();
  });

  it('doubles iterations (jumping towards the target) until one loop lasts the target time', () => {
    const seen: number[] = [];
    const fake = {
      command: (_c: string, n: number) => {
        seen.push(n);
        return cmd(0, n * 1000, 0);
      },
    } as unknown as LongGuest;
    // 1 µs per iteration, target 20 ms: 16 → ×64 (capped) → ×16 → ×2 (at least doubling) = 32768.
    expect(calibrateIterations(fake, 'PIO_IN', 20_000, 1000)).toBe(32768);
    expect(seen).toEqual([16, 1024, 16384, 32768]);
  });
});

describe('errors a person can act on', () => {
  it('name the call, the errno and its meaning for that call', () => {
    const e = new KvmError('KVM_CREATE_VCPU', 'EINVAL', errnoMeaning('KVM_CREATE_VCPU', 'EINVAL'), 'Invalid argument');
    expect(e.message).toBe(
      'KVM_CREATE_VCPU failed with EINVAL (Invalid argument): the vCPU id is at or above KVM_CAP_MAX_VCPU_ID, or this VM already has KVM_CAP_MAX_VCPUS vCPUs',
    );
    expect(errnoMeaning('KVM_SET_USER_MEMORY_REGION', 'EEXIST')).toMatch(/overlaps another slot/);
    expect(errnoMeaning('KVM_SET_SREGS', 'ENOTTY')).toMatch(/ioctl number is wrong for this kernel/);
    expect(errnoMeaning('KVM_RUN', 'EINTR')).toMatch(/watchdog/);
  });

  it("reuse the probe's explanations for opening the device and creating a VM", () => {
    expect(errnoMeaning('open', 'EACCES', '/dev/kvm')).toMatch(/permission denied opening \/dev\/kvm/);
    expect(errnoMeaning('KVM_CREATE_VM', 'EBUSY')).toMatch(/another hypervisor/);
  });
});

describe('under TCG the raw suite skips with the reason', () => {
  const probe = (usable: boolean): KvmProbeResult => ({
    usable,
    device: '/nonexistent/kvm',
    stage: usable ? 'ok' : 'open',
    capabilities: {},
    ...(usable ? {} : { errno: 'ENOENT', reason: '/nonexistent/kvm does not exist: no KVM module is bound on this host' }),
  });
  it("the probe's reason when KVM is unusable, the --accel choice when it is not", () => {
    expect(rawSkipReason('kvm', probe(true))).toBeUndefined();
    expect(rawSkipReason('tcg', probe(false))).toBe(
      'the raw VMM runs guests on KVM only (no QEMU, no TCG), and KVM is not usable here: /nonexistent/kvm does not exist: no KVM module is bound on this host',
    );
    expect(rawSkipReason('tcg', probe(true))).toMatch(
      /^this run uses TCG \(--accel tcg, or QEMU could not boot a guest under KVM/,
    );
  });
});
