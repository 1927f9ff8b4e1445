/**
 * The VM-exit latency executor: one case = one test = one boot of the exits guest
 * (guests/exits/main.c), so a hang costs only this case's deadline. The guest reports raw
 * TSC ticks per sample (test loop and null loop of N iterations); this turns them into
 * per-iteration figures, and proves what they measured (docs/exits.md):
 *
 * - exit accounting: at each `phase` line the guest waits on COM2 for the host, which reads
 *   KVM's vCPU statistics over QMP in between, so every loop's exits are counted by KVM;
 * - each test's declaration of what it causes natively is checked against those counts;
 * - native, emulated or TCG execution is decided from the null loop and KVM's counts;
 * - interrupt tests fail when an interrupt was not delivered (the guest counts them).
 */
import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { guestImage, guestInfo, guestTests } from '../guests/index.js';
import { PVM_STOCK_KERNEL } from '../host/flavor.js';
import { hostTscKhz } from '../linux/launch.js';
import { virtFeatures } from '../host/virt-features.js';
import type { Accelerator, Metric } from '../results/model.js';
import { median, summarize } from '../stats/summary.js';
import { FlagArg, MICRO_GUEST_ARGS, NumberArg, TextArg, caseArgs } from './args.js';
import type { CaseContext, CaseExecutor, CaseOutcome, CaseSpec } from './types.js';
import { fixedSampling, shouldStop, type Sampling, type StopRule } from '../stats/precision.js';
import { decideExecution } from '../vmm/execution.js';
import { launchQemu } from '../vmm/launch.js';
import { queryVcpuStats, type QmpClient } from '../vmm/qmp.js';
import { PIN_RECORD, pinVcpuThreads, type PinOutcome } from '../vmm/pin.js';
import { EnvironmentError } from '../errors.js';
import {
  attributeSamples,
  checkExpectation,
  describeCheck,
  metricCounters,
  parseExpectation,
  parseHistogram,
  type Expectation,
  type PhaseSnapshot,
} from './exit-accounting.js';
import {
  argString,
  baseOutcome,
  guestWord,
  launchFacts,
  machineArgs,
  machineOf,
  qemuConfigFor,
  vmRecord,
  withExecution,
} from './micro.js';
import { aggregatePerIteration, expandExpectation, flattenVcpuStats, vcpuLabel, vcpuSamples } from './smp.js';

/**
 * One test of the exits guest: a row of guests/exits/tests.def, which the guest compiles into
 * its table and the guest build writes to build/guests/exits.tests.json. The host takes the
 * names, figures and declarations from there; nothing here lists tests again.
 */
export interface ExitTest {
  name: string;
  /** What the headline measures: an exit's latency, a cost (natively no exit), a timer wake-up. */
  figure: Figure;
  /** Every iteration's interrupt must be delivered. */
  irq: boolean;
  /** Timed iteration by iteration for the histogram. */
  hist: boolean;
  /** vCPUs the test needs; the case boots at least this many. */
  cpus: number;
  /** May run on every vCPU at once (`args.parallel`, the scaling case). */
  parallel: boolean;
  /** What one iteration causes natively, as KVM counts it (`exits=1 io_exits=1`). */
  expect: string;
  /** The parsed declaration: its counters make the test's fixed set of accounting metrics. */
  expectation: Expectation;
  tags: string[];
  what: string;
}

let tableCache: readonly ExitTest[] | undefined;

/** The exits guest's tests, in the order of its table. Throws when a row is malformed. */
export function exitTests(): readonly ExitTest[] {
  if (tableCache) return tableCache;
  const rows = guestTests('exits');
  if (!rows)
    throw new EnvironmentError('the exits guest has no list of tests (guests/exits/tests.def)', 'run `npm run build:guests`');
  tableCache = rows.map((r) => {
    const where = `guests/exits/tests.def, test ${r.name}`;
    if (typeof r.figure !== 'string' || !(r.figure in FIGURES))
      throw new EnvironmentError(`${where}: figure '${String(r.figure)}' is not one of ${Object.keys(FIGURES).join(', ')}`);
    if (typeof r.expect !== 'string') throw new EnvironmentError(`${where}: no expect column`);
    let expectation: Expectation;
    try {
      expectation = parseExpectation(r.expect);
    } catch (err) {
      throw new EnvironmentError(`${where}: ${(err as Error).message}`);
    }
    const cpus = typeof r.cpus === 'number' && Number.isInteger(r.cpus) && r.cpus >= 1 ? r.cpus : 1;
    return {
      name: r.name,
      figure: r.figure as Figure,
      irq: r.irq === true,
      hist: r.hist === true,
      cpus,
      parallel: r.parallel === true,
      expect: r.expect,
      expectation,
      tags: r.tags,
      what: r.what,
    };
  });
  return tableCache;
}

/** The names of the exits guest's tests (kvm-unit-tests' x86/vmexit.c names where they measure the same thing). */
export function exitTestNames(): string[] {
  return exitTests().map((t) => t.name);
}

/**
 * At least this many iterations per loop, however long one takes: a few exits of attribution
 * noise per window (the phase line, the wait for the host's acknowledgement) are then a few
 * hundredths per iteration. Only slow iterations reach the floor: one level down under TCG,
 * `hlt_lapic_timer` took 4 ms an iteration and stopped doubling at 8 for the quick target.
 */
export const MIN_ACCOUNTING_ITERATIONS = 64;

/** At least this many samples per test, whatever the suite asks. */
export const MIN_SAMPLES = 10;
/** Iterations timed one by one for the histogram (tests whose exit is long enough). */
export const HISTOGRAM_ITERATIONS = 1000;
/** The control line the guest waits on: a second UART at COM2. */
const CONTROL_PORT = 0x2f8;

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

/**
 * Per-iteration ticks of each sample: (test loop − null loop) / N. A wake-up figure is already
 * a latency from the timer's expiry, so nothing is subtracted from it (`subtractNull` false).
 */
export function netTicksPerIteration(
  samples: { ticks: number; base: number; iters: number }[],
  subtractNull = true,
): ExitSampleSet {
  return {
    netTicks: samples.map((s) => (s.ticks - (subtractNull ? s.base : 0)) / s.iters),
    baseTicks: samples.map((s) => s.base / s.iters),
    iters: samples[0]?.iters ?? 0,
  };
}

function metric(m: Omit<Metric, 'summary'>): Metric {
  return { ...m, summary: summarize(m.samples) };
}

/** Why a test cannot run under this host's KVM at all, decided from its flavour before booting. */
function flavourSkip(test: string, ctx: CaseContext): string | undefined {
  if (ctx.accel !== 'kvm' || ctx.host.kvmFlavor !== 'pvm') return undefined;
  if (test === 'vmcall')
    return "this host's KVM is PVM (kvm_pvm): vmcall is reserved for PVM hypercalls, and a plain guest's vmcall never returns; run on a VT-x/AMD-V host for this test";
  return undefined;
}

/** The acknowledgement that lets the guest go on, and the one that makes this its last sample (guests/exits/main.c). */
const ACK_GO_ON = 0x2e;
const ACK_LAST = 0x71; // 'q'
/** Kept for the histogram and the guest's last lines after sampling stops. */
const DEADLINE_RESERVE_MS = 15_000;

/**
 * The stopping rule of an adaptive run, or undefined for a fixed count. The time cap is the
 * one asked, shortened so the case still ends before its deadline.
 */
function adaptiveRule(spec: CaseSpec, ctx: CaseContext): StopRule | undefined {
  const want = ctx.sampling;
  if (want?.precision === undefined) return undefined;
  const room = ctx.deadlineAt - Date.now() - DEADLINE_RESERVE_MS;
  const maxTimeMs = Math.max(1000, Math.min(want.maxTimeMs ?? Number.POSITIVE_INFINITY, room));
  return {
    precision: want.precision,
    maxSamples: Math.min(Math.max(want.maxSamples ?? MAX_GUEST_SAMPLES, MIN_SAMPLES), MAX_GUEST_SAMPLES),
    maxTimeMs,
    minSamples: Math.max(MIN_SAMPLES, Math.min(spec.repeat, MAX_GUEST_SAMPLES)),
  };
}
/** The guest's sample buffer (MAX_SAMPLES in guests/exits/main.c). */
const MAX_GUEST_SAMPLES = 1000;

/** What the figure of each kind measures, for the metric's name and interval. */
const FIGURES = {
  exit: {
    suffix: 'latency',
    interval: (what: string) =>
      `one iteration of: ${what}; from the TSC read before the loop to the one after, per iteration, minus the null loop`,
  },
  cost: {
    suffix: 'cost',
    interval: (what: string) =>
      `one iteration of: ${what} (needs no VM exit natively: a cost, not an exit latency); per iteration, minus the null loop`,
  },
  wake: {
    suffix: 'wake_latency',
    interval: (what: string) =>
      `${what}: from the timer's programmed expiry (guest TSC) to the first instruction of its interrupt handler, per wake-up`,
  },
} as const;
type Figure = keyof typeof FIGURES;

/**
 * How long the tests on several vCPUs wait for one IPI's acknowledgement before the iteration
 * counts as undelivered (the guest's own default too). It bounds a receiver left unscheduled,
 * not a latency: the figure is the median over many iterations. Layer 2 scales it (src/app/nested-l1.ts).
 */
export const DEFAULT_ACK_MS = 1000;

export const EXITS_ARGS = caseArgs({
  ...MICRO_GUEST_ARGS,
  test: TextArg("the exits guest's test (guests/exits/tests.def)"),
  target_us: NumberArg('microseconds one timed window aims at'),
  // Test hooks (docs/exits.md): the guest hangs mid-test, hangs at a phase, raises #UD, masks the interrupt, runs code from MMIO.
  spin: FlagArg('test hook: hang mid-test'),
  hang: TextArg('test hook: hang at this phase'),
  crash: FlagArg('test hook: raise #UD'),
  mask_irq: FlagArg("test hook: block the test's interrupt"),
  exec_mmio: FlagArg('test hook: execute from MMIO'),
  parallel: FlagArg('run the test on every vCPU at once'),
  no_sipi: FlagArg('test hook: send INIT but no SIPI (an AP that never starts)'),
  ack_ms: NumberArg(`milliseconds one IPI's acknowledgement may take in the tests on several vCPUs (default ${DEFAULT_ACK_MS})`),
});

export const exitsExecutor: CaseExecutor = {
  kind: 'exits',
  args: EXITS_ARGS,
  async run(spec: CaseSpec, ctx: CaseContext): Promise<CaseOutcome> {
    const test = argString(spec, 'test') ?? spec.id;
    const row = exitTests().find((t) => t.name === test);
    const machine = machineOf(spec);
    const img = await guestImage(spec.guest ?? 'exits');
    const guest = guestInfo(img);
    const qemu = qemuConfigFor(spec, ctx, img.path);
    // A test on several vCPUs boots as many as it needs even where the suite says fewer (tests.def's `cpus`).
    const vcpus = Math.max(spec.vcpus, row?.cpus ?? 1);
    const parallel = spec.args.parallel === true;
    const pin = spec.args.pin === true;
    qemu.vcpus = vcpus;
    const vmExtra: Record<string, string> = {
      ...(vcpus > 1 ? { vcpus: String(vcpus) } : {}),
      ...(pin ? { pin: PIN_RECORD } : {}),
    };
    const base = { ...baseOutcome(spec, ctx.accel, guest), vm: vmRecord(qemu, ctx.host, vmExtra, ctx.platform.variant) };
    if (!row)
      return {
        ...base,
        status: 'error',
        reason: `the exits guest has no test '${test}' (its tests: ${exitTestNames().join(', ')})`,
        metrics: [],
      };
    const skipWhy = flavourSkip(test, ctx);
    if (skipWhy) return { ...base, status: 'skip', reason: skipWhy, metrics: [] };

    // Adaptive (--precision): `samples` is the cap, and the host ends sampling at a test phase (below).
    const rule = adaptiveRule(spec, ctx);
    const samples = rule ? rule.maxSamples : Math.max(MIN_SAMPLES, spec.repeat);
    const targetUs = Number(argString(spec, 'target_us') ?? targetMicros(ctx.accel, ctx.quick || spec.quick === true));
    const words = [
      guestWord('test', test),
      `samples=${samples}`,
      `target_us=${targetUs}`,
      `min_iters=${MIN_ACCOUNTING_ITERATIONS}`,
      'sync',
      `hist=${HISTOGRAM_ITERATIONS}`,
      ...machineArgs(machine),
    ];
    // Test hooks: `spin` makes the guest hang mid-test, `hang` before its first output, `crash` raise #UD,
    // `mask_irq` block the test's interrupt (its delivery check must fail the case).
    if (spec.args.spin === true) words.push('spin');
    if (spec.args.crash === true) words.push('crash');
    if (spec.args.mask_irq === true) words.push('mask_irq');
    if (spec.args.exec_mmio === true) words.push('exec_mmio');
    // Several vCPUs: the count (the guest's fallback without a MADT), every vCPU at once, and the
    // hook that sends no SIPI, so no AP starts and the guest must end by its bring-up deadline.
    if (vcpus > 1) words.push(`cpus=${vcpus}`);
    const ackMs = Number(argString(spec, 'ack_ms') ?? DEFAULT_ACK_MS);
    if (vcpus > 1 && ackMs !== DEFAULT_ACK_MS) words.push(`ack_ms=${Math.max(1, Math.round(ackMs))}`);
    if (parallel) words.push('parallel');
    if (spec.args.no_sipi === true) words.push('no_sipi');
    const hang = argString(spec, 'hang');
    if (hang) words.push(guestWord('hang', hang));
    qemu.append = words.join(' ');
    qemu.devices = [...(qemu.devices ?? []), `isa-serial,chardev=kvmb_ctl,iobase=0x${CONTROL_PORT.toString(16)},irq=3`];

    // KVM's statistics are read between the guest's phase lines; under TCG there are none to read.
    const wantStats = ctx.accel === 'kvm';
    let qmp: QmpClient | undefined;
    let qmpReady!: () => void;
    const qmpUp = new Promise<void>((res) => {
      qmpReady = res;
    });
    let control: Duplex | undefined;
    const phases: PhaseSnapshot[] = [];
    let statsMissing = false;
    let chain = Promise.resolve();
    // What the host has seen of the samples so far, for the stopping rule.
    const live = { iters: 0, base: 0, values: [] as number[], startedAt: 0, stop: undefined as Sampling | undefined };
    const onPhase = (loop: PhaseSnapshot['loop'], i: number, ticks: number): void => {
      // In order, one at a time: read the counters, then let the guest go on.
      chain = chain
        .then(async () => {
          let stats;
          if (wantStats) {
            await Promise.race([qmpUp, new Promise((r) => setTimeout(r, 5000))]);
            const all = qmp ? await queryVcpuStats(qmp) : undefined;
            stats = all?.length ? flattenVcpuStats(all) : undefined;
            if (!stats) statsMissing = true;
          }
          phases.push({ loop, i, ...(stats ? { stats } : {}) });
          let ack = ACK_GO_ON;
          if (loop === 'init') live.startedAt = Date.now();
          else if (loop === 'null') live.base = ticks;
          else if (rule && !live.stop && live.iters > 0) {
            live.values.push((ticks - (row?.figure === 'wake' ? 0 : live.base)) / live.iters);
            live.stop = shouldStop(live.values, Date.now() - live.startedAt, rule);
            if (live.stop) ack = ACK_LAST;
          }
          control?.write(Buffer.from([ack]));
        })
        .catch(() => undefined);
    };

    let pinning: Promise<PinOutcome> | undefined;
    ctx.onPhase(`${test}: boot`);
    const stamps: { hello?: bigint; end?: bigint } = {};
    const r = await launchQemu({
      qemu,
      deadlineAt: ctx.deadlineAt,
      signal: ctx.signal,
      logPath: ctx.logPath,
      channels: [
        {
          id: 'kvmb_ctl',
          onOpen: (s) => {
            control = s;
          },
        },
      ],
      // QMP for KVM's statistics, and for the vCPU threads' ids when they are to be pinned (`--pin`).
      ...(wantStats || pin
        ? {
            qmp: {
              onReady: (q: QmpClient) => {
                if (pin) pinning = pinVcpuThreads(q);
                if (wantStats) {
                  qmp = q;
                  qmpReady();
                }
              },
            },
          }
        : {}),
      onLine: (line, at) => {
        if (line.kind !== 'event') return;
        if (line.type === 'hello') stamps.hello = at;
        else if (line.type === 'end') stamps.end = at;
        else if (line.type === 'test') {
          live.iters = Number(line.fields.iters) || 0;
          ctx.onPhase(`${test}: ${line.fields.iters ?? '?'} iterations × ${rule ? `up to ${samples}` : samples} samples`);
        } else if (line.type === 'phase') {
          const loop = line.fields.loop,
            i = Number(line.fields.i);
          if ((loop === 'init' || loop === 'null' || loop === 'test') && Number.isInteger(i))
            onPhase(loop, i, Number(line.fields.ticks) || 0);
        }
      },
    });
    await chain;
    const t = r.transcript;
    const facts: Record<string, unknown> = { test, guestArgs: words.join(' '), targetMicros: targetUs, ...launchFacts(r) };
    if (pin) facts.pin = (await pinning) ?? { error: 'QMP never answered: the vCPU threads were not pinned' };
    if (ctx.platform.cpuNote) facts.cpuNote = ctx.platform.cpuNote;
    if (t.cpu) facts.guestCpu = t.cpu;
    if (t.test?.what) facts.what = t.test.what;

    if (r.status !== 'pass' && t.verdict?.fields.smp === 'ap-not-started') {
      // Not the test's failure: the VM's other vCPUs never came up (an INIT-SIPI-SIPI the hypervisor did not act on).
      return {
        ...base,
        status: 'error',
        reason: `vCPU bring-up failed: ${t.verdict.reason ?? 'an AP did not start'}`,
        metrics: [],
        facts,
      };
    }
    if (r.status !== 'pass') {
      // A delivery failure where the guest's code runs emulated is the host's limitation, measured.
      const v = t.verdict;
      const platformMode = ctx.platform.execution?.mode;
      if (r.status === 'fail' && v?.fields.window === 'sti-nop' && platformMode === 'emulated') {
        return {
          ...base,
          status: 'skip',
          metrics: [],
          facts,
          execution: ctx.platform.execution!,
          reason: `interrupts not delivered (${v.fields.delivered} of ${v.fields.expected}) because guest code runs in KVM's instruction emulator on this host, which takes a pending interrupt only at an exit, not in a one-instruction sti window; the figure would time the ${test.includes('ipi') ? 'ICR write' : 'timer write'}, not the interrupt${ctx.host.kvmFlavor === 'pvm' ? ` (${PVM_STOCK_KERNEL.split(':')[0]})` : ''}`,
        };
      }
      return { ...base, status: r.status, reason: r.reason, metrics: [], facts };
    }

    const own = t.samples.filter((s) => s.test === test);
    if (own.length < MIN_SAMPLES) {
      return {
        ...base,
        status: 'error',
        reason: `guest reported ${own.length} samples, fewer than ${MIN_SAMPLES}`,
        metrics: [],
        facts,
      };
    }
    // The guest prints its table row back: a different one means the image and the table were not built together.
    if (t.test && (t.test.figure !== row.figure || t.test.expect !== row.expect)) {
      return {
        ...base,
        status: 'error',
        metrics: [],
        facts,
        reason: `the guest image reports figure=${t.test.figure} expect="${t.test.expect}" for ${test}, but build/guests/exits.tests.json says figure=${row.figure} expect="${row.expect}": run \`npm run build:guests\``,
      };
    }
    const figure = row.figure;

    // TSC frequency: the guest's (hypervisor leaf with +invtsc, CPUID 0x15, PM timer, PIT), else a
    // host-side estimate from the guest TSC stamps in its hello and end lines against their arrival.
    let hz = t.tsc?.hz ?? 0;
    let source = t.tsc?.source ?? 'none';
    const helloTsc = Number(t.hello?.tsc),
      endTsc = Number(t.end?.tsc);
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
    facts.tscSources = tscCrossCheck(
      t.events.find((e) => e.type === 'tsc-sources')?.fields ?? {},
      hz,
      source,
      facts.tscHzHostEstimate as number | undefined,
    );
    base.vm.tsc_source = source;

    const set = netTicksPerIteration(own, figure !== 'wake');
    facts.iterationsPerSample = set.iters;

    // Exit accounting and the execution mode, from KVM's own counts where there are any.
    const redone = new Map(own.filter((s) => s.extra).map((s) => [s.i, s.extra!]));
    const accounting = wantStats && !statsMissing ? attributeSamples(phases, set.iters, redone) : [];
    const nullTicks = median(set.baseTicks);
    const execution = decideExecution({
      accel: ctx.accel,
      nullLoopTicks: nullTicks,
      nullLoopIterations: set.iters,
      ...(accounting.length ? { emulationsPerIteration: median(accounting.map((a) => a.nullEmulationsPerIteration)) } : {}),
      source: `this boot's null loop of ${set.iters} iterations${accounting.length ? ' and KVM statistics around it' : ''}`,
    });
    // The declaration resolved for this CPU (NRIPS, V_TPR/TPR shadow...), from the host the guest runs on.
    const features = hostVirtFeatures();
    const expect = expandExpectation(parseExpectation(row.expect, features.known ? features.set : undefined), vcpus, parallel);
    facts.virtFeatures = features.known
      ? [...features.set].sort()
      : 'unknown: no svm or vmx flag in /proc/cpuinfo (no hardware virtualization visible, e.g. PVM or TCG)';
    const checks = accounting.length ? checkExpectation(expect, accounting) : [];
    if (ctx.accel === 'tcg') facts.exitAccounting = 'none: under TCG there are no VM exits and no KVM statistics';
    else if (!accounting.length)
      facts.exitAccounting = `none: KVM statistics not available (QMP query-stats needs QEMU 7.1+ and Linux 5.14+)${statsMissing ? '; query-stats gave no answer' : ''}`;
    else {
      facts.exitAccounting = {
        declared: row.expect,
        resolved: Object.entries(expect)
          .map(([k, [lo, hi]]) => `${k}=${lo === hi ? lo : `${lo}-${hi}`}`)
          .join(' '),
        checks: checks.map((c) => ({ ...c, text: describeCheck(c) })),
        judged: execution.mode === 'native',
        perSample: accounting.map((a) => ({ i: a.i, null: a.nullDelta, test: a.testDelta })),
      };
    }
    const hist = t.events.find((e) => e.type === 'hist');
    const histogram = hist ? parseHistogram(hist.fields) : undefined;
    if (histogram)
      facts.histogram = {
        ...histogram,
        unit: 'tsc_ticks',
        ...(hz > 0
          ? { p50Ns: (histogram.p50 * 1e9) / hz, p99Ns: (histogram.p99 * 1e9) / hz, p999Ns: (histogram.p999 * 1e9) / hz }
          : {}),
      };
    const wake = t.events.find((e) => e.type === 'wake');
    if (wake) facts.wake = wake.fields;
    const irq = t.events.find((e) => e.type === 'irq');
    if (irq) facts.interruptsDelivered = `${irq.fields.delivered} of ${irq.fields.expected}`;

    const what = row.what;
    const fig = FIGURES[figure];
    const mode =
      ctx.accel === 'tcg'
        ? ' Accelerator TCG: the cost of emulating the instruction in QEMU, not a hardware VM exit.'
        : execution.mode === 'emulated'
          ? " Execution emulated: KVM's instruction emulator ran the guest code, so this is the emulator's cost, not a hardware exit."
          : '';
    const method =
      figure === 'wake'
        ? `Guest TSC at the timer's programmed expiry and at its handler's first instruction; each sample is the mean of ${set.iters} wake-ups (iterations where the timer was due before the vCPU halted are redone with a longer delay); ${own.length} samples, one guest boot.${mode}`
        : `Serialized TSC reads (lfence; rdtsc; lfence) around a loop of ${set.iters} iterations ` +
          `(adaptive: doubled until one loop lasts at least ${targetUs} µs); each sample subtracts an empty loop ` +
          `of the same length run just before it (null baseline) and divides by the iteration count; ` +
          `${own.length} samples, one guest boot.${mode}`;
    // Labels are identity (compare pairs on them): the TSC source is configuration, in `vm`.
    const labels: Record<string, string> = { machine, test, mode: img.mode, ...vcpuLabel(vcpus, false) };
    const interval = fig.interval(what);
    const metrics: Metric[] = [];
    // `parallel`: every vCPU's own figure (label vcpu=K) and their mean per sample (vcpu=all, the headline).
    let figures: Array<{ extra: Record<string, string>; net: number[]; headline: boolean; how: string }> = [
      { extra: {}, net: set.netTicks, headline: true, how: method },
    ];
    if (parallel) {
      const byCpu = vcpuSamples(t.events, test);
      const short = [...Array(vcpus).keys()].filter((k) => (byCpu.get(k)?.length ?? 0) < own.length);
      if (short.length)
        return {
          ...base,
          status: 'error',
          reason: `parallel run: vCPU ${short.join(', ')} reported fewer than ${own.length} samples (vsample lines)`,
          metrics: [],
          facts,
        };
      const perCpu = `${method} Parallel: all ${vcpus} vCPUs ran the same loop at once between barriers`;
      figures = [
        {
          extra: { vcpu: 'all' },
          net: aggregatePerIteration(byCpu),
          headline: true,
          how: `${perCpu}; each sample is the mean over the vCPUs of their per-iteration figures.`,
        },
        ...[...byCpu.entries()].map(([k, list]) => ({
          extra: { vcpu: String(k) },
          net: list.map((x) => (x.ticks - x.base) / x.iters),
          headline: false,
          how: `${perCpu}; this vCPU's own loops.`,
        })),
      ];
      facts.parallel = { vcpus, samplesPerVcpu: own.length };
    }
    for (const f of figures) {
      if (hz > 0) {
        metrics.push(
          metric({
            name: `${test}.${fig.suffix}`,
            unit: 'ns',
            better: 'lower',
            ...(f.headline ? { headline: true } : {}),
            interval,
            method: `${f.how} ns = ticks × 1e9 / ${hz} Hz (TSC frequency from ${source}).`,
            accelerator: ctx.accel,
            samples: f.net.map((v) => (v * 1e9) / hz),
            labels: { ...labels, ...f.extra },
          }),
        );
      }
      metrics.push(
        metric({
          name: `${test}.ticks`,
          unit: 'tsc_ticks',
          better: 'lower',
          interval,
          method: f.how,
          accelerator: ctx.accel,
          samples: f.net,
          labels: { ...labels, ...f.extra },
        }),
      );
    }
    metrics.push(
      metric({
        name: 'null_loop.ticks',
        unit: 'tsc_ticks',
        better: 'lower',
        interval: 'one iteration of the empty loop (the baseline subtracted above)',
        method: `Serialized TSC reads around ${set.iters} iterations of an empty loop, divided by the count.`,
        accelerator: ctx.accel,
        samples: set.baseTicks,
        labels,
      }),
    );
    if (accounting.length) {
      const kvmMethod = `KVM's vCPU statistics (QMP query-stats) read when the guest paused at each loop's start and end: (counter over the test loop's window − over the null loop's window) / ${set.iters} iterations; one value per sample.`;
      metrics.push(
        metric({
          name: `${test}.exits_per_iteration`,
          unit: 'exits',
          better: 'lower',
          interval: `VM exits KVM counted per iteration of: ${what}`,
          method: kvmMethod,
          accelerator: ctx.accel,
          samples: accounting.map((a) => a.perIteration.exits ?? NaN),
          labels,
        }),
      );
      for (const counter of metricCounters(expect)) {
        const values = accounting.map((a) => a.perIteration[counter]);
        if (values.some((v) => v === undefined)) continue; // KVM does not have this counter

        metrics.push(
          metric({
            name: `${test}.kvm.${counter}`,
            unit: 'count',
            better: 'lower',
            interval: `KVM's ${counter} counter per iteration of: ${what}`,
            method: kvmMethod,
            accelerator: ctx.accel,
            samples: values as number[],
            labels,
          }),
        );
      }
    }
    // Why the case has the samples it has: the host's stopping decision, else the fixed count.
    const headlineSamples = metrics[0]!.samples;
    const sampling: Sampling = live.stop
      ? { ...live.stop, n: own.length }
      : rule
        ? (shouldStop(headlineSamples, rule.maxTimeMs ?? 0, { ...rule, maxSamples: own.length }) ??
          fixedSampling(headlineSamples))
        : fixedSampling(headlineSamples, {
            why: `count of ${own.length} samples${spec.repeat > MIN_SAMPLES ? '' : ` (at least ${MIN_SAMPLES})`}`,
          });
    facts.sampling = sampling;
    const outcome = {
      ...base,
      execution,
      metrics: withExecution(execution.mode, metrics).map((m) => ({ ...m, sampling })),
      facts,
    };
    const wrong = checks.filter((c) => !c.ok);
    if (wrong.length && execution.mode === 'native') {
      return {
        ...outcome,
        status: 'fail',
        reason: `KVM's counts contradict what ${test} declares it causes natively: ${wrong.map(describeCheck).join('; ')}`,
      };
    }
    return { ...outcome, status: 'pass' };
  },
};

/** This host's virtualization features (src/host/virt-features.ts); `known` when it shows svm or vmx at all. */
function hostVirtFeatures(): { known: boolean; set: Set<string> } {
  try {
    const set: Set<string> = virtFeatures(readFileSync('/proc/cpuinfo', 'utf8'));
    return { known: set.has('svm') || set.has('vmx'), set };
  } catch {
    return { known: false, set: new Set() };
  }
}

/**
 * Every TSC rate the guest could read, the host's own view, and how far they are from the one
 * used: a hypervisor leaf that disagrees with the PM timer by more than 1 % is worth a look.
 */
function tscCrossCheck(f: Record<string, string>, usedHz: number, used: string, hostEstimate?: number): Record<string, unknown> {
  const num = (v: string | undefined): number | undefined => (v && /^\d+$/.test(v) && v !== '0' ? Number(v) : undefined);
  let hostCpuinfo: number | undefined;
  try {
    const khz = hostTscKhz(readFileSync('/proc/cpuinfo', 'utf8'));
    if (khz) hostCpuinfo = khz * 1000;
  } catch {
    // not Linux, or unreadable
  }
  const views: Record<string, number | undefined> = {
    hypervisorLeaf: num(f.cpuid_40000010),
    cpuid15: num(f.cpuid_15),
    pmTimer: num(f.pmtimer),
    cpuid16: num(f.cpuid_16),
    hostCpuinfo,
    hostEstimate,
  };
  const present = Object.fromEntries(Object.entries(views).filter(([, v]) => v !== undefined)) as Record<string, number>;
  const deviations =
    usedHz > 0
      ? Object.fromEntries(Object.entries(present).map(([k, v]) => [k, Math.round(((v - usedHz) / usedHz) * 1e5) / 1e3]))
      : {};
  // The host estimate rides on line arrival times; the guest's own sources should agree to 1 %.
  const off = Object.entries(deviations).filter(([k, d]) => k !== 'hostEstimate' && Math.abs(d) > 1);
  return {
    used,
    usedHz,
    ...present,
    deviationPercent: deviations,
    ...(off.length
      ? {
          warning: `TSC rate sources disagree with the one used (${used}) by more than 1 %: ${off.map(([k, d]) => `${k} ${d > 0 ? '+' : ''}${d} %`).join(', ')}`,
        }
      : {}),
  };
}
