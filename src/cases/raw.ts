/**
 * The raw-KVM floor (kind `raw`): kvmbench's own minimal VMM over /dev/kvm (src/kvm/), no QEMU.
 * args.test picks what one case measures:
 *
 *  - `vm-create`: VM creation to the guest's first exit, split into KVM_CREATE_VM, memory,
 *    vCPU and the first KVM_RUN (args.mode `real` or `long64`); each sample a whole VM lifecycle;
 *  - `cpuid`: an exit KVM handles in the kernel, timed by the guest's TSC;
 *  - `pio`: `inl` from port 0x1234 (as kvm-unit-tests' inl_from_qemu), an exit to user space and
 *    back, timed by the guest's TSC and by the host's clock; with the harness's own cost per exit
 *    measured for both exit loops (C and koffi) and reported beside;
 *  - `mmio`: a read of guest-physical memory no slot backs, the same way.
 *
 * Under TCG the case is a skip with the reason: the raw VMM runs on KVM or not at all.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { setImmediate as yieldNow } from 'node:timers/promises';
import { builtGuestFile } from '../guests/index.js';
import { probeKvm } from '../kvm/probe.js';
import type { Execution, Metric } from '../results/model.js';
import { median, summarize } from '../stats/summary.js';
import { NumberArg, OneOfArg, TextArg, caseArgs } from './args.js';
import type { CaseContext, CaseExecutor, CaseOutcome, CaseSpec } from './types.js';
import { decideExecution, MIN_TIMING_ITERATIONS } from '../vmm/execution.js';
import {
  calibrateIterations,
  firstInstruction,
  hostTscEstimate,
  LongGuest,
  measurePair,
  overheadSamples,
  perIteration,
  type CommandResult,
  type CreateSplit,
} from '../kvm/bench.js';
import { ffiLoop, loadCHelper, type ExitLoop } from '../kvm/harness.js';
import { RAW, RAW_BLOBS, RAW_HELPER, type RawCommand, type RawMode } from '../kvm/layout.js';
import { KvmError, type Sys } from '../kvm/sys.js';
import { KvmSystem, RawExitError, requireSys } from '../kvm/vm.js';
import { argString, withExecution } from './micro.js';

export const RAW_TESTS = ['vm-create', 'cpuid', 'pio', 'mmio'] as const;
export type RawTest = (typeof RAW_TESTS)[number];
/** At least this many samples per figure, whatever the suite asks (what `compare` needs). */
export const RAW_MIN_SAMPLES = 11;
/** Turns of the exit loop per harness-overhead sample. */
export const OVERHEAD_TURNS = 100_000;

/** One test loop lasts this long (µs): as the exits suite, 100 ms, 20 ms under quick. */
export function rawTargetMicros(quick: boolean): number {
  return quick ? 20_000 : 100_000;
}

/** Why the raw VMM does not run in this run, or undefined when it does. */
export function rawSkipReason(accel: CaseContext['accel'], probe = probeKvm()): string | undefined {
  if (accel !== 'tcg') return undefined;
  if (!probe.usable)
    return `the raw VMM runs guests on KVM only (no QEMU, no TCG), and KVM is not usable here: ${probe.reason ?? `the probe stopped at ${probe.stage}`}`;
  return "this run uses TCG (--accel tcg, or QEMU could not boot a guest under KVM: see the run's warnings), and the raw VMM runs guests on KVM only (no QEMU, no TCG)";
}

function metric(m: Omit<Metric, 'summary' | 'accelerator'>): Metric {
  return { ...m, accelerator: 'kvm', summary: summarize(m.samples) };
}

const round = (v: number, d = 3): number => Math.round(v * 10 ** d) / 10 ** d;

const FIGURES: Record<'cpuid' | 'pio' | 'mmio', { test: RawCommand; null: RawCommand; what: string; userExits: number }> = {
  cpuid: { test: 'CPUID', null: 'NULL_CPUID', what: 'cpuid, leaf 0 subleaf 0 (an exit KVM handles in the kernel)', userExits: 0 },
  pio: {
    test: 'PIO_IN',
    null: 'NULL_PIO',
    what: `inl from port 0x${RAW.PIO_PORT.toString(16)} (an exit to kvmbench's VMM in user space and back; the same instruction and port as inl_from_qemu)`,
    userExits: 1,
  },
  mmio: {
    test: 'MMIO_READ',
    null: 'NULL_MMIO',
    what: `a 32-bit read of guest-physical 0x${RAW.MMIO_ADDR.toString(16)}, which no memory slot backs (an MMIO exit to user space and back)`,
    userExits: 1,
  },
};

interface RawEnv {
  sys: KvmSystem;
  s: Sys;
  loop: ExitLoop;
  /** The other exit loop, for the comparison in `pio`. */
  other?: ExitLoop;
  why: string;
  helper?: string;
  blobs: Record<RawMode, { bytes: Uint8Array; relPath: string; sha256: string }>;
  log: string[];
}

/** The exit loop to use: the C helper (lower cost per exit, see src/kvm/harness.ts) unless absent or args.harness says ffi. */
async function exitLoops(
  s: Sys,
  want: string | undefined,
): Promise<{ loop: ExitLoop; other?: ExitLoop; why: string; helper?: string }> {
  let helperError: string | undefined;
  try {
    const file = await builtGuestFile(RAW_HELPER);
    const c = loadCHelper(s, file.path);
    const ffi = ffiLoop(s, c.nop);
    if (want === 'ffi') return { loop: ffi, other: c.loop, why: 'args.harness = ffi', helper: file.relPath };
    return {
      loop: c.loop,
      other: ffi,
      why: 'the C exit loop costs less per exit than one koffi call per exit (both measured in the pio case)',
      helper: file.relPath,
    };
  } catch (err) {
    helperError = err instanceof Error ? err.message : String(err);
  }
  if (want === 'c') throw new Error(`args.harness = c, but the C helper cannot be used: ${helperError}`);
  return { loop: ffiLoop(s), why: `the C helper cannot be used (${helperError}), so the exits go through koffi` };
}

function timeoutMs(ctx: CaseContext, targetUs: number): number {
  const left = ctx.deadlineAt - Date.now();
  return Math.max(500, Math.min(Math.max(5000, (targetUs / 1000) * 20), left));
}

async function between(ctx: CaseContext): Promise<void> {
  await yieldNow();
  if (ctx.signal.aborted)
    throw new Error(`interrupted: ${String((ctx.signal.reason as Error | undefined)?.message ?? ctx.signal.reason)}`);
}

/** Native or emulated, from the long-mode guest's empty loop (dec; jnz), as every exits case decides it. */
function executionOf(
  g: LongGuest,
  ctx: CaseContext,
  targetUs: number,
): { execution: Execution; emptyTicks: number; iters: number } {
  const t = timeoutMs(ctx, targetUs);
  // At least MIN_TIMING_ITERATIONS × 64: the calibration goes by the host's clock around KVM_RUN,
  // which one level down under TCG stops it at 16 iterations, too few for the timing to vote.
  const iters = Math.max(MIN_TIMING_ITERATIONS * 64, calibrateIterations(g, 'EMPTY', targetUs / 4, t));
  const ticks = [0, 1, 2].map(() => g.command('EMPTY', iters, t).ticks / iters);
  const emptyTicks = median(ticks);
  const execution = decideExecution({
    accel: 'kvm',
    nullLoopTicks: emptyTicks,
    nullLoopIterations: iters,
    source: `the raw long-mode guest's empty loop (dec; jnz) of ${iters} iterations, 3 runs, in kvmbench's own VMM`,
  });
  return { execution, emptyTicks, iters };
}

function vmRecord(env: RawEnv, mode: RawMode): Record<string, string> {
  return {
    vmm: 'kvmbench raw VMM (src/kvm, no QEMU)',
    harness: env.loop.kind,
    vcpus: '1',
    memory: `${RAW.MEM_SIZE / 1048576} MiB, one slot`,
    irqchip: 'none',
    devices: 'none (I/O and MMIO exits answered by the exit loop)',
    cpu_mode: mode,
    cpuid: mode === 'long64' ? 'KVM_GET_SUPPORTED_CPUID' : 'not set (reset state)',
  };
}

async function vmCreate(
  spec: CaseSpec,
  ctx: CaseContext,
  env: RawEnv,
  mode: RawMode,
  exec: Execution,
): Promise<Partial<CaseOutcome>> {
  const samples = Math.max(RAW_MIN_SAMPLES, spec.repeat);
  const blob = env.blobs[mode];
  // One lifecycle first, not kept: koffi's first calls and kvmbench's own page faults.
  const warm = firstInstruction(env.sys, mode, blob.bytes);
  const splits: CreateSplit[] = [];
  for (let i = 0; i < samples; i++) {
    splits.push(firstInstruction(env.sys, mode, blob.bytes).split);
    env.log.push(`lifecycle ${i + 1}: ${JSON.stringify(splits[i])}`);
    ctx.onPhase(`vm-create ${mode}: ${i + 1}/${samples}`);
    await between(ctx);
  }
  const labels = { test: 'vm-create', mode };
  const steps: Array<[keyof CreateSplit, string, string, string, string]> = [
    ['createVmMs', 'create.vm', 'start', 'vm', 'KVM_CREATE_VM on the open /dev/kvm fd'],
    [
      'memoryMs',
      'create.memory',
      'vm',
      'memory',
      `mmap of ${RAW.MEM_SIZE / 1048576} MiB anonymous memory, KVM_SET_USER_MEMORY_REGION (slot 0 at guest-physical 0) and the blob copied in`,
    ],
    [
      'vcpuMs',
      'create.vcpu',
      'memory',
      'vcpu',
      mode === 'real'
        ? 'KVM_CREATE_VCPU, the kvm_run mmap, KVM_GET_SREGS/KVM_SET_SREGS (CS base 0) and KVM_SET_REGS'
        : 'KVM_CREATE_VCPU, the kvm_run mmap, page tables and GDT written, KVM_SET_CPUID2 (KVM_GET_SUPPORTED_CPUID, asked once per process), KVM_GET_SREGS/KVM_SET_SREGS (long mode) and KVM_SET_REGS',
    ],
    [
      'firstRunMs',
      'create.first_run',
      'vcpu',
      'first_exit',
      `the first KVM_RUN, from the call to its return with the guest's first exit (${mode === 'real' ? `its out of 0x${RAW.REAL_VALUE.toString(16)} to port 0x${RAW.REAL_PORT.toString(16)}, after 3 instructions` : `its report on port 0x${RAW.CTL_PORT.toString(16)}, after 3 instructions`})`,
    ],
    [
      'totalMs',
      'create.to_first_exit',
      'start',
      'first_exit',
      "from KVM_CREATE_VM to the first KVM_RUN returning with the guest's first exit: VM, memory, vCPU and first run together",
    ],
  ];
  const method = `Host clock (process.hrtime, CLOCK_MONOTONIC) around each step of one VM lifecycle in kvmbench's own VMM (koffi → libc); ${samples} lifecycles, each VM destroyed before the next (not timed), after one lifecycle not kept (first calls).`;
  const metrics = steps.map(([k, name, from, to, interval]) =>
    metric({
      name,
      unit: 'ms',
      better: 'lower',
      interval,
      method,
      samples: splits.map((s) => s[k]),
      labels: { ...labels, from, to },
      ...(k === 'totalMs' ? { headline: true } : {}),
    }),
  );
  return {
    metrics: withExecution(exec.mode, metrics),
    facts: { lifecycles: samples, warmUpMs: round(warm.split.totalMs), firstExit: warm.exit },
  };
}

async function exitTest(
  spec: CaseSpec,
  ctx: CaseContext,
  env: RawEnv,
  test: 'cpuid' | 'pio' | 'mmio',
  targetUs: number,
): Promise<Partial<CaseOutcome> & { execution: Execution }> {
  const fig = FIGURES[test];
  const samples = Math.max(RAW_MIN_SAMPLES, spec.repeat);
  const g = LongGuest.start(env.sys, env.blobs.long64.bytes, env.loop);
  const windows: CommandResult[] = [];
  try {
    const t = timeoutMs(ctx, targetUs);
    const { execution, emptyTicks, iters: emptyIters } = executionOf(g, ctx, targetUs);
    ctx.onPhase(`${test}: calibrating`);
    const iters = calibrateIterations(g, fig.test, targetUs, t);
    const pair = await measurePair(g, fig.test, fig.null, iters, samples, t, async (i) => {
      ctx.onPhase(`${test}: ${iters} iterations × ${i + 1}/${samples} samples`);
      await between(ctx);
    });
    windows.push(...pair.null, ...pair.test);
    const per = perIteration(pair);
    const khz = g.vm.tscKhz();
    const estimate = hostTscEstimate([...windows].sort((a, b) => (a.t0 < b.t0 ? -1 : 1)));
    const hz = khz ? khz * 1000 : (estimate ?? 0);
    const tscSource = khz ? 'KVM_GET_TSC_KHZ' : estimate ? 'host-calibration' : 'none';
    env.log.push(
      `${test}: ${iters} iterations per loop, ${samples} samples; empty loop ${round(emptyTicks, 1)} ticks/iteration (${emptyIters} iterations)`,
    );
    pair.test.forEach((r, i) =>
      env.log.push(
        `sample ${i + 1}: test ${r.ticks} ticks ${r.hostNs} ns ${r.exits} exits; null ${pair.null[i]!.ticks} ticks ${pair.null[i]!.hostNs} ns ${pair.null[i]!.exits} exits`,
      ),
    );

    const labels = { test, mode: 'long64' };
    const emu =
      execution.mode === 'emulated'
        ? " Execution emulated: KVM's instruction emulator ran the guest code, so this is the emulator's cost, not a hardware exit."
        : '';
    const interval = `one iteration of: ${fig.what}; per iteration, minus the null loop`;
    const loopText = `${iters} iterations (doubled until one loop lasts at least ${targetUs} µs), the null loop (the same loop without the instruction) of the same length run just before each test loop; (test − null) / iterations; ${samples} samples, one VM`;
    const harnessText = env.loop.kind === 'c' ? 'the C exit loop (kvmraw.so)' : 'the JavaScript exit loop through koffi';
    const userSpace =
      fig.userExits > 0
        ? ` Every exit goes to user space and back through ${harnessText}, whose own cost per exit is reported beside (harness.*.overhead_per_exit), not subtracted.`
        : '';
    const metrics: Metric[] = [];
    if (hz > 0) {
      metrics.push(
        metric({
          name: `${test}.latency`,
          unit: 'ns',
          better: 'lower',
          headline: true,
          interval,
          method: `Guest TSC, serialized reads (lfence; rdtsc; lfence) around loops of ${loopText}. ns = ticks × 1e9 / ${hz} Hz (${tscSource}).${userSpace}${emu}`,
          samples: per.ticks.map((v) => (v * 1e9) / hz),
          labels: { ...labels, side: 'guest' },
        }),
      );
    }
    metrics.push(
      metric({
        name: `${test}.ticks`,
        unit: 'tsc_ticks',
        better: 'lower',
        interval,
        method: `Guest TSC, serialized reads around loops of ${loopText}.${userSpace}${emu}`,
        samples: per.ticks,
        labels,
      }),
    );
    if (fig.userExits > 0) {
      metrics.push(
        metric({
          name: `${test}.host_latency`,
          unit: 'ns',
          better: 'lower',
          interval,
          method: `Host clock (process.hrtime) from handing the command to the guest to its report, the same windows as ${test}.latency: ${loopText}; includes ${harnessText}.${emu}`,
          samples: per.hostNs,
          labels: { ...labels, side: 'host' },
        }),
      );
    }
    metrics.push(
      metric({
        name: 'null_loop.ticks',
        unit: 'tsc_ticks',
        better: 'lower',
        interval: `one iteration of the null loop (${test}'s loop without the measured instruction), the baseline subtracted above`,
        method: `Guest TSC around ${iters} iterations, divided by the count.`,
        samples: per.nullTicks,
        labels,
      }),
    );
    metrics.push(
      metric({
        name: `${test}.user_exits_per_iteration`,
        unit: 'exits',
        better: 'lower',
        interval: `exits to kvmbench's VMM in user space per iteration of: ${fig.what}`,
        method: `Counted by the exit loop itself: exits handled in the test window / ${iters} iterations (the null window had ${median(per.nullExits)} per iteration). Exits KVM handles in the kernel are not seen here.`,
        samples: per.exits,
        labels,
      }),
    );
    const facts: Record<string, unknown> = {
      test,
      iterationsPerSample: iters,
      emptyLoopTicks: round(emptyTicks, 1),
      emptyLoopIterations: emptyIters,
      tscHz: hz,
      tscSource,
      ...(estimate
        ? {
            tscHzHostEstimate: Math.round(estimate),
            tscHostDeviationPercent: hz ? round(((estimate - hz) / hz) * 100, 3) : undefined,
          }
        : {}),
      perSample: pair.test.map((r, i) => ({
        test: { ticks: r.ticks, hostNs: r.hostNs, exits: r.exits },
        null: { ticks: pair.null[i]!.ticks, hostNs: pair.null[i]!.hostNs, exits: pair.null[i]!.exits },
      })),
    };
    if (test === 'pio') Object.assign(facts, await harnessComparison(ctx, env, g, metrics, labels, iters, samples, t, emu));
    const wrong = per.exits.filter((e) => e !== fig.userExits);
    const status = wrong.length ? ('fail' as const) : ('pass' as const);
    return {
      status,
      ...(wrong.length
        ? {
            reason: `${test}: the exit loop handled ${wrong.join(', ')} exits to user space per iteration in some samples, expected exactly ${fig.userExits}`,
          }
        : {}),
      execution,
      metrics: withExecution(execution.mode, metrics),
      facts,
    };
  } finally {
    g.close();
  }
}

/**
 * The two exit loops side by side: each one's own cost per exit, and the host-timed PIO round
 * trip through the loop not kept (a second VM), so the choice is measured on every run.
 */
async function harnessComparison(
  ctx: CaseContext,
  env: RawEnv,
  g: LongGuest,
  metrics: Metric[],
  labels: Record<string, string>,
  iters: number,
  samples: number,
  t: number,
  emu: string,
): Promise<Record<string, unknown>> {
  ctx.onPhase('pio: harness overhead');
  const loops = [env.loop, ...(env.other ? [env.other] : [])];
  const overhead: Record<string, number> = {};
  for (const loop of loops) {
    const v = overheadSamples(g.vm, loop, samples, OVERHEAD_TURNS);
    overhead[loop.kind] = round(median(v), 2);
    metrics.push(
      metric({
        name: `harness.${loop.kind}.overhead_per_exit`,
        unit: 'ns',
        better: 'lower',
        interval: `what ${loop.kind === 'c' ? 'the C exit loop' : 'the JavaScript exit loop through koffi'} adds to one exit to user space, beyond the kernel's work (the system call itself excluded)`,
        method: `${loop.overheadMethod}; ${OVERHEAD_TURNS} turns per sample, host clock, after one run not kept; ${samples} samples.${loop === env.loop ? ' This is the loop the figures above went through.' : ''}`,
        samples: v,
        labels: { ...labels, harness: loop.kind },
      }),
    );
    await between(ctx);
  }
  const out: Record<string, unknown> = {
    harness: env.loop.kind,
    harnessWhy: env.why,
    harnessOverheadNs: overhead,
    ...(env.helper ? { helper: env.helper } : {}),
  };
  if (env.other) {
    ctx.onPhase(`pio: through the ${env.other.kind} loop`);
    const h = LongGuest.start(env.sys, env.blobs.long64.bytes, env.other);
    try {
      const pair = await measurePair(h, 'PIO_IN', 'NULL_PIO', iters, samples, t, () => between(ctx));
      const per = perIteration(pair);
      metrics.push(
        metric({
          name: `pio.host_latency.${env.other.kind}`,
          unit: 'ns',
          better: 'lower',
          interval: `one iteration of: ${FIGURES.pio.what}, through the ${env.other.kind === 'c' ? 'C' : 'JavaScript (koffi)'} exit loop; per iteration, minus the null loop`,
          method: `As pio.host_latency, in a second VM whose exits went through ${env.other.kind === 'c' ? 'the C exit loop' : 'the JavaScript exit loop (one koffi ioctl per exit)'} instead: ${iters} iterations, ${samples} samples.${emu}`,
          samples: per.hostNs,
          labels: { ...labels, side: 'host', harness: env.other.kind },
        }),
      );
      out.otherHarnessHostLatencyNs = round(median(per.hostNs), 1);
    } finally {
      h.close();
    }
  }
  return out;
}

export const RAW_ARGS = caseArgs({
  test: TextArg('what the case measures: vm-create or an exit test'),
  mode: OneOfArg(['real', 'long64'], 'vm-create: the guest mode'),
  harness: OneOfArg(['c', 'ffi'], 'the exit loop'),
  target_us: NumberArg('microseconds one timed window aims at'),
});

export const rawExecutor: CaseExecutor = {
  kind: 'raw',
  args: RAW_ARGS,
  startsQemu: false,
  async run(spec: CaseSpec, ctx: CaseContext): Promise<CaseOutcome> {
    const test = (argString(spec, 'test') ?? spec.id) as RawTest;
    // vm-create runs the real-mode blob unless args.mode says long64; the exit tests need long mode.
    const mode: RawMode = test === 'vm-create' && argString(spec, 'mode') !== 'long64' ? 'real' : 'long64';
    const base = { title: spec.title, machine: 'raw', tags: spec.tags };
    if (!(RAW_TESTS as readonly string[]).includes(test))
      return {
        ...base,
        status: 'error',
        reason: `args.test: unknown raw test '${test}' (known: ${RAW_TESTS.join(', ')})`,
        metrics: [],
      };
    const skip = rawSkipReason(ctx.accel);
    if (skip) return { ...base, status: 'skip', reason: skip, metrics: [] };

    const log: string[] = [`# kvmbench raw VMM: ${spec.suite}/${spec.id} (${test}${test === 'vm-create' ? `, ${mode}` : ''})`];
    let sys: KvmSystem | undefined;
    try {
      const s = requireSys();
      const [real, long64] = await Promise.all([builtGuestFile(RAW_BLOBS.real), builtGuestFile(RAW_BLOBS.long64)]);
      const blobs = {
        real: { bytes: new Uint8Array(readFileSync(real.path)), relPath: real.relPath, sha256: real.sha256 },
        long64: { bytes: new Uint8Array(readFileSync(long64.path)), relPath: long64.relPath, sha256: long64.sha256 },
      };
      const loops = await exitLoops(s, argString(spec, 'harness'));
      sys = KvmSystem.open();
      const env: RawEnv = { sys, s, ...loops, blobs, log };
      log.push(`device ${sys.device}; exit loop ${loops.loop.kind}: ${loops.why}`);
      const targetUs = Number(argString(spec, 'target_us') ?? rawTargetMicros(ctx.quick || spec.quick === true));
      const blob = blobs[mode];
      const guest = { name: 'raw', image: blob.relPath, sha256: blob.sha256, mode };
      const vm = vmRecord(env, mode);
      vm.tsc_source = 'KVM_GET_TSC_KHZ';

      let out: Partial<CaseOutcome> & { execution: Execution };
      if (test === 'vm-create') {
        ctx.onPhase('vm-create: execution mode');
        const g = LongGuest.start(sys, blobs.long64.bytes, env.loop);
        let execution: Execution;
        try {
          execution = executionOf(g, ctx, rawTargetMicros(true)).execution;
        } finally {
          g.close();
        }
        out = { ...(await vmCreate(spec, ctx, env, mode, execution)), execution };
      } else {
        out = await exitTest(spec, ctx, env, test, targetUs);
      }
      await writeFile(ctx.logPath, `${log.join('\n')}\n`).catch(() => undefined);
      return { ...base, status: 'pass', accelerator: 'kvm', guest, vm, ...out, metrics: out.metrics ?? [] } as CaseOutcome;
    } catch (err) {
      await writeFile(
        ctx.logPath,
        `${[...log, `error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`].join('\n')}\n`,
      ).catch(() => undefined);
      const reason =
        err instanceof KvmError || err instanceof RawExitError
          ? `raw VMM: ${err.message}`
          : err instanceof Error
            ? err.message
            : String(err);
      return { ...base, status: 'error', reason, metrics: [] };
    } finally {
      sys?.close();
    }
  },
};
