/**
 * The VM-exit latency executor: one case = one test = one boot of the exits guest
 * (guests/exits/main.c), so a hang costs only this case's deadline. The guest
 * reports raw TSC ticks per sample (test loop and null loop of N iterations);
 * this turns them into per-iteration figures and summaries.
 */
import { guestImage, guestInfo } from '../guests/index.js';
import type { Accelerator, Metric } from '../results/model.js';
import { summarize } from '../stats/summary.js';
import type { CaseContext, CaseExecutor, CaseOutcome, CaseSpec } from '../suites/types.js';
import { launchQemu } from '../vmm/launch.js';
import { argString, baseOutcome, guestWord, launchFacts, machineArgs, machineOf, qemuConfigFor } from './micro.js';

/** The tests the guest knows (names as in kvm-unit-tests' x86/vmexit.c where they measure the same thing). */
export const EXIT_TESTS = [
  'cpuid', 'vmcall', 'mov_from_cr8', 'mov_to_cr8', 'inl_from_pmtimer', 'inl_from_qemu', 'inl_from_kernel',
  'mmio_from_qemu', 'rd_tsc_adjust_msr', 'wr_tsc_adjust_msr', 'self_ipi_sti_nop', 'hlt_lapic_timer',
] as const;

/** At least this many samples per test, whatever the suite asks. */
export const MIN_SAMPLES = 10;

/**
 * Length of one sample's test loop. On KVM long enough to swamp timer noise; on TCG a
 * small fixed budget, since the figures are emulation costs and boots dominate the time.
 */
export function targetMicros(accel: Accelerator, quick: boolean): number {
  if (accel === 'kvm') return quick ? 20_000 : 100_000;
  return quick ? 2_000 : 5_000;
}

export interface ExitSampleSet {
  netTicks: number[];
  baseTicks: number[];
  iters: number;
}

/** Per-iteration ticks of each sample: (test loop − null loop) / N. */
export function netTicksPerIteration(samples: { ticks: number; base: number; iters: number }[]): ExitSampleSet {
  return {
    netTicks: samples.map((s) => (s.ticks - s.base) / s.iters),
    baseTicks: samples.map((s) => s.base / s.iters),
    iters: samples[0]?.iters ?? 0,
  };
}

function metric(m: Omit<Metric, 'summary'>): Metric {
  return { ...m, summary: summarize(m.samples) };
}

export const exitsExecutor: CaseExecutor = {
  kind: 'exits',
  async run(spec: CaseSpec, ctx: CaseContext): Promise<CaseOutcome> {
    const test = argString(spec, 'test') ?? spec.id;
    const machine = machineOf(spec);
    const img = await guestImage(spec.guest ?? 'exits');
    const guest = guestInfo(img);
    const base = baseOutcome(spec, ctx.accel, guest);
    const samples = Math.max(MIN_SAMPLES, spec.repeat);
    const targetUs = Number(argString(spec, 'target_us') ?? targetMicros(ctx.accel, ctx.quick));
    const words = [guestWord('test', test), `samples=${samples}`, `target_us=${targetUs}`, ...machineArgs(machine)];
    // Test hooks: `spin` makes the guest hang mid-test, `hang` before its first output, `crash` raise #UD.
    if (spec.args.spin === true) words.push('spin');
    if (spec.args.crash === true) words.push('crash');
    const hang = argString(spec, 'hang');
    if (hang) words.push(guestWord('hang', hang));

    ctx.onPhase(`${test}: boot`);
    const stamps: { hello?: bigint; end?: bigint } = {};
    const r = await launchQemu({
      qemu: qemuConfigFor(spec, ctx.accel, img.path, words.join(' ')),
      deadlineAt: ctx.deadlineAt,
      signal: ctx.signal,
      logPath: ctx.logPath,
      onLine: (line, at) => {
        if (line.kind !== 'event') return;
        if (line.type === 'hello') stamps.hello = at;
        else if (line.type === 'end') stamps.end = at;
        else if (line.type === 'test') ctx.onPhase(`${test}: ${line.fields.iters ?? '?'} iterations × ${samples} samples`);
      },
    });
    const t = r.transcript;
    const facts: Record<string, unknown> = { test, guestArgs: words.join(' '), targetMicros: targetUs, ...launchFacts(r) };
    if (t.cpu) facts.guestCpu = t.cpu;
    if (t.test?.what) facts.what = t.test.what;

    if (r.status !== 'pass') return { ...base, status: r.status, reason: r.reason, metrics: [], facts };

    const own = t.samples.filter((s) => s.test === test);
    if (own.length < MIN_SAMPLES) {
      return { ...base, status: 'error', reason: `guest reported ${own.length} samples, fewer than ${MIN_SAMPLES}`, metrics: [], facts };
    }

    // TSC frequency: the guest's (CPUID leaves or PIT calibration), else a host-side estimate
    // from the guest TSC stamps in its hello and end lines against their arrival times.
    let hz = t.tsc?.hz ?? 0;
    let source = t.tsc?.source ?? 'none';
    const helloTsc = Number(t.hello?.tsc), endTsc = Number(t.end?.tsc);
    if (stamps.hello !== undefined && stamps.end !== undefined && endTsc > helloTsc) {
      const hostNs = Number(stamps.end - stamps.hello);
      if (hostNs > 1e6) facts.tscHzHostEstimate = Math.round(((endTsc - helloTsc) * 1e9) / hostNs);
    }
    if (!hz && typeof facts.tscHzHostEstimate === 'number') {
      hz = facts.tscHzHostEstimate;
      source = 'host-calibration';
    }
    facts.tscHz = hz;
    facts.tscSource = source;

    const set = netTicksPerIteration(own);
    facts.iterationsPerSample = set.iters;
    const what = t.test?.what ?? test;
    const emulated = ctx.accel === 'tcg'
      ? ' Accelerator TCG: the cost of emulating the instruction in QEMU, not a hardware VM exit.'
      : '';
    const method =
      `Serialized TSC reads (lfence; rdtsc; lfence) around a loop of ${set.iters} iterations ` +
      `(adaptive: doubled until one loop lasts at least ${targetUs} µs); each sample subtracts an empty loop ` +
      `of the same length run just before it (null baseline) and divides by the iteration count; ` +
      `${own.length} samples, one guest boot.${emulated}`;
    const labels = { machine, test, mode: img.mode, tsc_source: source };
    const interval = `one iteration of: ${what}; from the TSC read before the loop to the one after, per iteration, minus the null loop`;
    const metrics: Metric[] = [];
    if (hz > 0) {
      metrics.push(metric({
        name: `${test}.latency`, unit: 'ns', better: 'lower', headline: true, interval,
        method: `${method} ns = ticks × 1e9 / ${hz} Hz (TSC frequency from ${source}).`,
        accelerator: ctx.accel, samples: set.netTicks.map((v) => (v * 1e9) / hz), labels,
      }));
    }
    metrics.push(metric({
      name: `${test}.ticks`, unit: 'tsc_ticks', better: 'lower', interval,
      method, accelerator: ctx.accel, samples: set.netTicks, labels,
    }));
    metrics.push(metric({
      name: 'null_loop.ticks', unit: 'tsc_ticks', better: 'lower',
      interval: 'one iteration of the empty loop (the baseline subtracted above)',
      method: `Serialized TSC reads around ${set.iters} iterations of an empty loop, divided by the count.`,
      accelerator: ctx.accel, samples: set.baseTicks, labels,
    }));
    return { ...base, status: 'pass', metrics, facts };
  },
};
