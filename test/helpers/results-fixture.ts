/** Hand-built, schema-valid Results for report and compare tests. */
import { summarize } from '../../src/stats/summary.js';
import { LEGACY_KINDS } from '../../src/results/kind.js';
import { RESULTS_SCHEMA, type CaseResult, type Execution, type Metric, type Results } from '../../src/results/model.js';
import { normal, seededRng } from '../../src/stats/random.js';

export function metric(name: string, samples: number[], extra: Partial<Metric> = {}): Metric {
  return {
    name,
    unit: 'ns',
    better: 'lower',
    interval: `from start to end of ${name}`,
    method: 'synthetic fixture',
    accelerator: 'kvm',
    samples,
    summary: summarize(samples),
    ...extra,
  };
}

/** n lognormal-ish samples around `median` with coefficient of variation `cv`. */
export function samplesAround(seed: string, median: number, n: number, cv = 0.05): number[] {
  const rng = seededRng(seed);
  return Array.from({ length: n }, () => median * Math.exp(cv * normal(rng)));
}

/** A case as the runner writes it; `kind` is the suite's when the suite is named after a kind (as shipped suites are). */
export function caseResult(id: string, extra: Partial<CaseResult> = {}): CaseResult {
  const suite = id.split('/')[0]!;
  return {
    id,
    suite,
    ...(LEGACY_KINDS.includes(suite) ? { kind: suite } : {}),
    status: 'pass',
    accelerator: 'kvm',
    machine: 'q35',
    startedAt: '2026-01-02T03:04:05.000Z',
    durationMs: 1234,
    metrics: [],
    ...extra,
  };
}

export function makeResults(cases: CaseResult[], extra: { run?: Partial<Results['run']>; host?: Results['host'] } = {}): Results {
  return {
    schema: RESULTS_SCHEMA,
    run: {
      id: '20260102T030405-abcd',
      suite: 'quick',
      start: '2026-01-02T03:04:05.000Z',
      end: '2026-01-02T03:05:05.000Z',
      kvmbenchVersion: '0.1.0',
      argv: ['run', 'quick'],
      accelerator: 'kvm',
      quick: true,
      state: 'complete',
      ...extra.run,
    },
    host: extra.host ?? { ...DEFAULT_HOST },
    cases,
  };
}

const DEFAULT_HOST: Results['host'] = {
  hostname: 'bench-01',
  cpuModel: 'Example CPU 9000 @ 3.00GHz',
  cpuVendor: 'GenuineIntel',
  microcode: '0x2b',
  cores: 16,
  threads: 32,
  kernelRelease: '6.8.0-45-generic',
  qemuVersion: '8.2.2',
  kvmUsable: true,
  mitigations: { spectre_v2: 'Mitigation: Enhanced IBRS' },
};

/** How the fixture's guests ran: a VT-x host, a PVM host (KVM's instruction emulator), or TCG. */
export type FixtureMode = 'native' | 'emulated' | 'tcg';

/** TSC rate of the fixture's guests (3 GHz: 3 ticks a nanosecond). */
const FIXTURE_TSC_HZ = 3e9;

/**
 * Evidence shaped like src/vmm/execution.ts writes it (figures from real runs of each kind): an
 * exits case's boot has KVM's counts around its null loop; the run's calibration boot
 * (`calibration: true`) only the empty loop's timing.
 */
export function fixtureExecution(mode: FixtureMode, opts: { calibration?: boolean } = {}): Execution {
  if (mode === 'tcg')
    return {
      mode: 'tcg',
      evidence: ["accelerator TCG: QEMU translated and ran the guest's code in software; there are no KVM statistics"],
    };
  const emulated = mode === 'emulated';
  const stats = emulated
    ? 'KVM insn_emulation: 3.2 per empty-loop iteration (native ≤ 0.05, emulated ≥ 0.5): emulated'
    : 'KVM insn_emulation: 0.00012 per empty-loop iteration (native ≤ 0.05, emulated ≥ 0.5): native';
  const loop = emulated
    ? 'empty loop: 7,927 TSC ticks per iteration (native ≤ 20, emulated ≥ 200): emulated'
    : 'empty loop: 1.0 TSC ticks per iteration (native ≤ 20, emulated ≥ 200): native';
  const evidence = opts.calibration
    ? [loop, `measured in calibration boot of the hello guest on microvm, -cpu ${fixtureVm(mode).cpu}`]
    : [stats, loop, "measured in this boot's null loop of 16384 iterations and KVM statistics around it"];
  return { mode, evidence };
}

/** The `vm` record src/cases/micro.ts writes for a q35 or microvm guest under each mode. */
export function fixtureVm(mode: FixtureMode, machine = 'q35'): Record<string, string> {
  const cpu = mode === 'tcg' ? 'max' : mode === 'emulated' ? 'host,+invtsc,-arch-capabilities' : 'host,+invtsc';
  const vm: Record<string, string> = { machine, cpu, firmware: 'qboot' };
  if (mode !== 'tcg') Object.assign(vm, { irqchip: 'on', halt_poll_ns: '200000', apicv: mode === 'emulated' ? 'N (PVM)' : 'Y' });
  vm.tsc_source = mode === 'tcg' ? 'pmtimer' : 'cpuid-0x40000010';
  return vm;
}

/**
 * `facts.histogram` as src/cases/exits.ts writes it: quarter-log2 bins of individually timed
 * iterations around `p50Ticks`, a long tail, and p50/p99/p99.9 in ticks and ns.
 */
export function fixtureHistogram(p50Ticks: number): Record<string, unknown> {
  const b0 = Math.floor(4 * Math.log2(p50Ticks));
  const shape = [30, 350, 450, 110, 0, 25, 20, 8, 0, 0, 4, 2, 0, 1];
  const bins = shape
    .map((count, k) => ({ b: b0 - 2 + k, count }))
    .filter((x) => x.count > 0)
    .map(({ b, count }) => {
      const e = Math.floor(b / 4),
        q = b % 4;
      return { lo: 2 ** e * (1 + q / 4), hi: 2 ** e * (1 + (q + 1) / 4), count };
    });
  const mid = (i: number): number => Math.sqrt(bins[i]!.lo * bins[i]!.hi);
  const [p50, p99, p999] = [mid(2), mid(bins.length - 3), mid(bins.length - 2)];
  const ns = (t: number): number => (t * 1e9) / FIXTURE_TSC_HZ;
  return {
    n: 1000,
    overheadTicks: 40,
    bins,
    p50,
    p99,
    p999,
    unit: 'tsc_ticks',
    p50Ns: ns(p50),
    p99Ns: ns(p99),
    p999Ns: ns(p999),
  };
}

export interface ExitsCaseOptions {
  seed?: string;
  mode?: FixtureMode;
  /** Median exit latency in ns. */
  latencyNs?: number;
  /** What the test declares it causes natively, e.g. `exits=1 io_exits=1`. */
  declared?: string;
  /** KVM counters per iteration besides exits (native values), e.g. `{ io_exits: 1 }`. */
  counters?: Record<string, number>;
  histogram?: boolean;
  n?: number;
}

/**
 * An exits case shaped like src/cases/exits.ts's output: `<test>.latency` (ns, headline) and
 * `.ticks`; under KVM `<test>.exits_per_iteration` and `<test>.kvm.<counter>` with the
 * expectation checks in `facts.exitAccounting`; the execution mode on the case and every metric.
 */
export function exitsCase(test: string, o: ExitsCaseOptions = {}): CaseResult {
  const mode = o.mode ?? 'native';
  const seed = o.seed ?? 'exits';
  const n = o.n ?? 15;
  const accelerator = mode === 'tcg' ? 'tcg' : 'kvm';
  const labels = { machine: 'q35', test, mode: 'long64' };
  const latency = (o.latencyNs ?? 1200) * (mode === 'native' ? 1 : 3);
  const ns = samplesAround(`${seed}-${test}`, latency, n);
  const m = (name: string, samples: number[], extra: Partial<Metric> = {}): Metric =>
    metric(name, samples, { labels, accelerator, execution: mode, ...extra });
  const metrics: Metric[] = [
    m(`${test}.latency`, ns, { headline: true }),
    m(
      `${test}.ticks`,
      ns.map((v) => (v * FIXTURE_TSC_HZ) / 1e9),
      { unit: 'tsc_ticks' },
    ),
  ];
  const facts: Record<string, unknown> = {
    test,
    tscHz: FIXTURE_TSC_HZ,
    tscSource: mode === 'tcg' ? 'pmtimer' : 'cpuid-0x40000010',
  };
  const declared = o.declared ?? 'exits=1';
  if (mode === 'tcg') {
    facts.exitAccounting = 'none: under TCG there are no VM exits and no KVM statistics';
  } else {
    // Natively each iteration causes what it declares; emulated, the loop's instructions are emulated without exits.
    const native: Record<string, number> = { exits: 1, ...o.counters };
    const measured: Record<string, number> = mode === 'native' ? native : { exits: 0.003, insn_emulation: 3.1 };
    metrics.push(
      m(
        `${test}.exits_per_iteration`,
        samplesAround(`${seed}-${test}-exits`, measured.exits!, n, mode === 'native' ? 0.0005 : 0.3),
        { unit: 'exits', interval: `VM exits KVM counted per iteration of: ${test}` },
      ),
    );
    for (const [counter, v] of Object.entries(measured)) {
      if (counter === 'exits') continue;
      metrics.push(
        m(`${test}.kvm.${counter}`, samplesAround(`${seed}-${test}-${counter}`, v, n, 0.01), {
          unit: 'count',
          interval: `KVM's ${counter} counter per iteration of: ${test}`,
        }),
      );
    }
    const checks = declared.split(/\s+/).map((word) => {
      const [counter, range] = word.split('=') as [string, string];
      const [lo, hi = lo] = range.split('-').map(Number) as [number, number?];
      const got = measured[counter] ?? 0;
      const want = lo === hi ? `${lo}` : `${lo}–${hi}`;
      return {
        counter,
        expected: [lo, hi],
        measured: got,
        ok: got >= lo! - 0.1 && got <= hi! + 0.1,
        text: `${counter}: ${got.toFixed(3)} per iteration, expected ${want}`,
      };
    });
    facts.exitAccounting = { declared, checks, judged: mode === 'native', perSample: [] };
  }
  if (o.histogram) facts.histogram = fixtureHistogram((latency * FIXTURE_TSC_HZ) / 1e9);
  return caseResult(`exits/${test}`, {
    tags: ['exits'],
    accelerator,
    execution: fixtureExecution(mode),
    vm: fixtureVm(mode),
    metrics,
    facts,
  });
}

/**
 * A realistic mixed run shaped like the executors' output: exits (`<test>.latency` in ns and
 * `.ticks`, KVM's exit counts, expectation checks, a histogram for cpuid and inl_from_qemu),
 * micro boots (spawn → entry → exit plus the total), Linux boots (`boot.<a>_to_<b>` with
 * from/to labels), guest/host I/O, and a failure, an error and a skip. `mode` says how the guest
 * code ran: natively on a VT-x host (default), emulated on a PVM host, or under TCG; the run's
 * `-cpu`, execution and the host's KVM flavour follow it.
 */
export function richResults(seed = 'rich', opts: { mode?: FixtureMode } = {}): Results {
  const mode = opts.mode ?? 'native';
  const accelerator = mode === 'tcg' ? 'tcg' : 'kvm';
  const exits = [
    exitsCase('cpuid', { seed, mode, latencyNs: 1200, histogram: true }),
    exitsCase('vmcall', { seed, mode, latencyNs: 2400 }),
    exitsCase('inl_from_qemu', {
      seed,
      mode,
      latencyNs: 3600,
      declared: 'exits=1 io_exits=1',
      counters: { io_exits: 1 },
      histogram: true,
    }),
  ];
  // Micro boots carry the run's calibration result (src/cases/micro.ts runExecution).
  const bootExecution = fixtureExecution(mode, { calibration: true });
  const micro = ['microvm', 'q35'].map((mt) => {
    const labels = { machine: mt, guest: 'hello' };
    const entry = samplesAround(`${seed}-${mt}-entry`, mt === 'q35' ? 90 : 40, 10);
    const run = samplesAround(`${seed}-${mt}-run`, 15, 10);
    const m = (name: string, samples: number[]): Metric =>
      metric(name, samples, { unit: 'ms', labels, accelerator, execution: mode });
    return caseResult(`boot-micro/${mt}`, {
      machine: mt,
      accelerator,
      tags: ['boot'],
      execution: bootExecution,
      vm: fixtureVm(mode, mt),
      metrics: [
        m('boot.spawn_to_entry', entry),
        m('boot.entry_to_exit', run),
        m(
          'boot.spawn_to_exit',
          entry.map((v, i) => v + run[i]!),
        ),
      ],
    });
  });
  const phases = ['spawn', 'firmware', 'kernel', 'init'];
  const linux = caseResult('boot-linux/microvm', {
    machine: 'microvm',
    accelerator,
    tags: ['boot', 'linux'],
    vm: { ...fixtureVm(mode, 'microvm'), firmware: 'none (direct kernel boot)' },
    metrics: phases.slice(1).map((to, j) =>
      metric(`boot.${phases[j]}_to_${to}`, samplesAround(`${seed}-linux-${to}`, 300 * (j + 1), 10), {
        unit: 'ms',
        accelerator,
        labels: { machine: 'microvm', from: phases[j]!, to },
      }),
    ),
  });
  const io = caseResult('io/randread-4k', {
    tags: ['io'],
    accelerator,
    vm: { ...fixtureVm(mode), firmware: 'seabios', cache: 'none', aio: 'threads' },
    metrics: ['guest', 'host'].map((side) =>
      metric(`io.randread.${side}`, samplesAround(`${seed}-io-${side}`, side === 'host' ? 90000 : 70000, 5), {
        unit: 'IOPS',
        better: 'higher',
        accelerator,
        labels: { side, job: 'randread', bs: '4k' },
      }),
    ),
  });
  const failed = caseResult('exits/ipi', {
    status: 'fail',
    tags: ['exits'],
    accelerator,
    reason: 'check failed: IPI not delivered within 1 s',
    log: 'logs/exits_ipi.log',
  });
  const errored = caseResult('boot-linux/q35', {
    status: 'error',
    accelerator,
    reason: 'guest hung after "Decompressing Linux..." (deadline 60 s)',
    log: 'logs/boot-linux_q35.log',
  });
  const skipped = caseResult('exits/tscdeadline', {
    status: 'skip',
    accelerator,
    reason: 'requires doctor check kvm.tsc_deadline: not supported here',
  });
  const kvmFlavor = mode === 'native' ? 'bare-metal' : mode === 'emulated' ? 'pvm' : 'none';
  return makeResults([...exits, failed, skipped, ...micro, linux, io, errored], {
    run: {
      accelerator,
      cpu: fixtureVm(mode).cpu,
      ...(mode === 'emulated'
        ? {
            cpuNote:
              'QEMU aborted setting IA32_ARCH_CAPABILITIES (MSR 0x10a), which this KVM refuses; the guests never read that MSR',
          }
        : {}),
      execution: bootExecution,
    },
    host: { ...DEFAULT_HOST, kvmUsable: mode !== 'tcg', kvmFlavor },
  });
}
