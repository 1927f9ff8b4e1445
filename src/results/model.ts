/**
 * The canonical results model. Every view (console, JSON, JUnit, HTML, compare)
 * is a pure function of a `Results` value; nothing else is a source of truth.
 * Defined with TypeBox so the same definition gives the TypeScript types, the
 * runtime validator and the exported JSON Schema (schemas/results.schema.json).
 *
 * Compatibility: additive optional fields keep RESULTS_SCHEMA; anything that
 * changes the meaning of an existing field bumps the trailing version number.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Summary } from '../stats/summary.js';
import { Sampling } from '../stats/precision.js';
import { RatioInterval } from '../stats/ratio.js';

export const RESULTS_SCHEMA = 'kvmbench.results/1';

export const Accelerator = Type.Union([Type.Literal('kvm'), Type.Literal('tcg')]);
export type Accelerator = Static<typeof Accelerator>;

/**
 * How the guest's code was executed, decided from measurements (src/vmm/execution.ts):
 * `native` (the CPU ran it under VT-x/AMD-V), `emulated` (KVM's instruction emulator ran it,
 * as on paravirtualized PVM hosts for non-PVM guests), `tcg` (QEMU's software emulation), or
 * `unknown` (no measurement could tell). Figures of different modes measure different things.
 */
export const ExecutionMode = Type.Union([
  Type.Literal('native'),
  Type.Literal('emulated'),
  Type.Literal('tcg'),
  Type.Literal('unknown'),
]);
export type ExecutionMode = Static<typeof ExecutionMode>;

export const Execution = Type.Object({
  mode: ExecutionMode,
  /** The measurements and the rule that decided `mode`, one sentence each. */
  evidence: Type.Array(Type.String()),
});
export type Execution = Static<typeof Execution>;

/**
 * `facts.histogram` of an exits case (src/cases/exit-accounting.ts writes it, views read it):
 * individually timed iterations in four bins per power of two, with percentiles.
 */
export interface ExitHistogram {
  n: number;
  /** Cost of timing one empty call (TSC reads, call, one loop turn), subtracted from every value. */
  overheadTicks: number;
  bins: Array<{ lo: number; hi: number; count: number }>;
  p50: number;
  p99: number;
  p999: number;
}

/** As stored in the results: the unit, and ns figures where the TSC rate was known. */
export interface ExitHistogramFact extends ExitHistogram {
  unit: string;
  p50Ns?: number;
  p99Ns?: number;
  p999Ns?: number;
}

export const CaseStatus = Type.Union([
  Type.Literal('pass'),
  Type.Literal('fail'), // a check failed or a confirmed regression
  Type.Literal('error'), // the harness, the VMM or the guest broke down (hang, crash, garbage)
  Type.Literal('skip'), // not applicable here; `reason` says why
]);
export type CaseStatus = Static<typeof CaseStatus>;

export const Metric = Type.Object({
  /** Stable name, unique within its case, e.g. `cpuid.latency` or `boot.spawn_to_exit`. */
  name: Type.String({ minLength: 1 }),
  /** Unit of every sample: `ns`, `ms`, `s`, `tsc_ticks`, `MiB/s`, `IOPS`, `ratio`... */
  unit: Type.String({ minLength: 1 }),
  better: Type.Union([Type.Literal('lower'), Type.Literal('higher')]),
  /** Exactly what interval or quantity one sample measures (from where to where). */
  interval: Type.String({ minLength: 1 }),
  /** How it was measured: clock, baseline subtraction, iterations per sample, conversions. */
  method: Type.String(),
  /** Accelerator the samples were taken on; TCG figures are emulation, not hardware exits. */
  accelerator: Accelerator,
  samples: Type.Array(Type.Number()),
  summary: Summary,
  /** The case's key figure, shown first in summaries (e.g. total boot time, exit latency in ns). */
  headline: Type.Optional(Type.Boolean()),
  /** Extra dimensions (machine type, job, block size...) for grouping in views. */
  labels: Type.Optional(Type.Record(Type.String(), Type.String())),
  /** How the guest code behind the samples ran (the case's `execution.mode`); absent for host-side figures. */
  execution: Type.Optional(ExecutionMode),
  /**
   * When the case ran in several rounds (`--rounds N`, each a fresh guest): how many of
   * `samples`, in order, each round contributed (0 for a round that produced none). compare
   * then treats the round, not the sample, as the unit of replication.
   */
  rounds: Type.Optional(Type.Array(Type.Integer({ minimum: 0 }))),
  /**
   * Every sample comes from a guest of its own (one boot, one QEMU process), so the samples are
   * independent replicates already; absent: the samples were taken inside one guest.
   */
  perGuest: Type.Optional(Type.Boolean()),
  /**
   * The samples are consecutive windows of one continuous job (fio or iperf3 intervals) in one
   * guest: they share the run's conditions (the disk's state, the load, where the guest landed),
   * so between two single runs they are not replicates, and a tight interval says nothing of how
   * far identical runs drift. compare gives such a row no verdict beyond inconclusive while a side
   * has fewer than 3 rounds, unless a --threshold names the drift for it (docs/compare.md,
   * "Windows of one job").
   */
  windows: Type.Optional(
    Type.Object({
      /** Why one run cannot bound the drift of this figure, one sentence. */
      basis: Type.String(),
    }),
  ),
  /** Why the metric has `summary.n` samples: the precision reached, a cap, a fixed count, or cut short (src/stats/precision.ts). */
  sampling: Type.Optional(Sampling),
  /**
   * Why the case ran the rounds it did, when rounds were added adaptively (`--rounds N --precision P`:
   * the interval of the round medians of the case's headline; `ab --precision`: every tested row
   * decided). `n` counts rounds; the same record on every metric of the case (src/suites/adaptive-rounds.ts).
   */
  roundSampling: Type.Optional(Sampling),
  /** A ratio of two sample sets (guest over host): its 95 % interval (src/stats/ratio.ts). */
  ratio: Type.Optional(RatioInterval),
});
export type Metric = Static<typeof Metric>;

export const GuestInfo = Type.Object({
  name: Type.String(),
  /** Path of the image that was booted, relative to the package root when inside it. */
  image: Type.String(),
  sha256: Type.String(),
  /** CPU mode the guest code ran in, e.g. `long64` or `protected32`, or `linux`. */
  mode: Type.String(),
  extra: Type.Optional(Type.Record(Type.String(), Type.String())),
});
export type GuestInfo = Static<typeof GuestInfo>;

/** One round of a case run several times (`--rounds`): its own guest, outcome and log. */
export const CaseRound = Type.Object({
  status: CaseStatus,
  reason: Type.Optional(Type.String()),
  log: Type.Optional(Type.String()),
  startedAt: Type.String({ description: 'ISO 8601' }),
  durationMs: Type.Number({ minimum: 0 }),
});
export type CaseRound = Static<typeof CaseRound>;

/** A sub-check of a conformance test (kvm-unit-tests' report lines): `xfail`/`kfail` are expected failures, `xpass` counts as a failure. */
export const SubCheckStatus = Type.Union([
  Type.Literal('pass'),
  Type.Literal('fail'),
  Type.Literal('skip'),
  Type.Literal('xfail'),
  Type.Literal('xpass'),
  Type.Literal('kfail'),
]);
export type SubCheckStatus = Static<typeof SubCheckStatus>;

export const SubCheck = Type.Object({
  /** The report line after its status word: prefixes and message, e.g. `apic: self IPI`. */
  name: Type.String(),
  status: SubCheckStatus,
});
export type SubCheck = Static<typeof SubCheck>;

/** What a conformance case (kind `conformance`: a kvm-unit-tests stanza) ran and said; src/cases/conformance.ts. */
export const Conformance = Type.Object({
  /** The stanza's name in unittests.cfg. */
  test: Type.String(),
  /** Its test image, relative to the tree (`x86/apic.flat`). */
  file: Type.String(),
  groups: Type.Array(Type.String()),
  /** QEMU's exit status (the debug-exit convention), when QEMU ran and exited. */
  exitStatus: Type.Optional(Type.Integer()),
  /** The guest's SUMMARY line. */
  summary: Type.Optional(Type.String()),
  /** Every sub-check the guest reported, in order (at most 5000; the rest counted in checksDropped). */
  checks: Type.Array(SubCheck),
  checksDropped: Type.Optional(Type.Integer({ minimum: 0 })),
});
export type Conformance = Static<typeof Conformance>;

export const CaseResult = Type.Object({
  /** Unique within a run, `suite/case`, e.g. `exits/cpuid`. */
  id: Type.String({ minLength: 1 }),
  suite: Type.String(),
  /**
   * What kind of case this is: the `kind` of the executor that ran it (src/cases/index.ts:
   * `exits`, `boot-micro`, `boot-linux`, `io`, `raw`, `doctor`...). Views choose their charts and
   * columns by it. Absent in results written before it was recorded; `loadResults` infers it
   * where the suite is named after its kind (src/results/kind.ts).
   */
  kind: Type.Optional(Type.String({ minLength: 1 })),
  title: Type.Optional(Type.String()),
  status: CaseStatus,
  /** Why it is not `pass`: skip reason, failure, or where the guest stopped. */
  reason: Type.Optional(Type.String()),
  /** Path of the full console/QEMU log, relative to the results directory. */
  log: Type.Optional(Type.String()),
  accelerator: Type.Optional(Accelerator),
  machine: Type.Optional(Type.String()),
  guest: Type.Optional(GuestInfo),
  tags: Type.Optional(Type.Array(Type.String())),
  startedAt: Type.String({ description: 'ISO 8601' }),
  durationMs: Type.Number({ minimum: 0 }),
  metrics: Type.Array(Metric),
  /** Native, emulated or TCG execution of the guest's code, with the evidence (exits and boot cases). */
  execution: Type.Optional(Execution),
  /**
   * The VM configuration that shapes the figures, as short strings: `cpu` (QEMU -cpu),
   * `irqchip`, `firmware`, `tsc_source`, `apicv`, `halt_poll_ns`... `compare` flags pairs that differ.
   */
  vm: Type.Optional(Type.Record(Type.String(), Type.String())),
  /** Free-form facts the case recorded (TSC frequency source, QEMU argv, kernel version...). */
  facts: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  /** Conformance cases (kind `conformance`): the test, its sub-checks and how QEMU ended. */
  conformance: Type.Optional(Conformance),
  /** Each round of a case run with `--rounds N` (N > 1), in order: the merged result above is their union. */
  rounds: Type.Optional(Type.Array(CaseRound)),
});
export type CaseResult = Static<typeof CaseResult>;

/**
 * One side of an interleaved A/B run (`kvmbench ab`): what sets its guests apart. Every QEMU the
 * run starts is `qemu` with `extraArgs` appended; `kernel` is the Linux cases' kernel.
 */
export const RunVariant = Type.Object({
  /** `A` or `B`. */
  label: Type.String(),
  /** Absolute path of the QEMU binary. */
  qemu: Type.Optional(Type.String()),
  /** Extra QEMU arguments, one word each, appended after kvmbench's own. */
  extraArgs: Type.Optional(Type.Array(Type.String())),
  /** Absolute path of the Linux kernel the Linux cases booted. */
  kernel: Type.Optional(Type.String()),
});
export type RunVariant = Static<typeof RunVariant>;

/**
 * A run measured one level down (`kvmbench run --nested`, docs/nested.md): its guests are L2,
 * run by KVM inside an L1 guest that kvmbench booted on this host (L0). The run's `host` is L1's
 * fingerprint; this says what L1 was and what ran it.
 */
export const NestedInfo = Type.Object({
  /** How L0 ran L1: `kvm` (nested VT-x/AMD-V passed through) or `tcg` (AMD-V emulated: timings are TCG's). */
  outerAccelerator: Accelerator,
  /** L1's QEMU `-cpu` (`host`, or `EPYC` under TCG). */
  l1Cpu: Type.String(),
  l1MemoryMiB: Type.Integer({ minimum: 1 }),
  l1Vcpus: Type.Integer({ minimum: 1 }),
  /** L1's kernel: release and Debian package. */
  l1Kernel: Type.Record(Type.String(), Type.String()),
  /** L1's doctor: verdict, KVM usable, flavour and module. */
  l1Doctor: Type.Record(Type.String(), Type.String()),
  /** L1's CPU virtualization features that decide exit counts (svm/vmx flags of its /proc/cpuinfo). */
  l1CpuFeatures: Type.Optional(Type.Array(Type.String())),
  /** L0: CPU model, kernel, QEMU version, KVM flavour. */
  l0Host: Type.Record(Type.String(), Type.String()),
  /** The run id L1's kvmbench gave its results (kept under `layer1/steps/`). */
  l2RunId: Type.Optional(Type.String()),
  /** Why the outer accelerator is what it is (e.g. no KVM here, or KVM without nesting). */
  outerNote: Type.Optional(Type.String()),
});
export type NestedInfo = Static<typeof NestedInfo>;

export const RunInfo = Type.Object({
  id: Type.String(),
  suite: Type.String(),
  start: Type.String(),
  end: Type.Optional(Type.String()),
  kvmbenchVersion: Type.String(),
  argv: Type.Array(Type.String()),
  /** Accelerator actually used; `mixed` only if cases differ. */
  accelerator: Type.Union([Accelerator, Type.Literal('mixed'), Type.Literal('none')]),
  /** What was asked for with --accel. */
  acceleratorRequested: Type.Optional(Type.String()),
  quick: Type.Boolean(),
  /** complete; partial (crashed or still running); interrupted (SIGINT/SIGTERM). */
  state: Type.Union([Type.Literal('complete'), Type.Literal('partial'), Type.Literal('interrupted')]),
  gitRevision: Type.Optional(Type.String()),
  warnings: Type.Optional(Type.Array(Type.String())),
  /** QEMU `-cpu` every guest of the run got. */
  cpu: Type.Optional(Type.String()),
  /** Why that `-cpu` and not the first choice (e.g. a CPU feature this KVM refuses). */
  cpuNote: Type.Optional(Type.String()),
  /** How the run's calibration boot executed guest code, with the evidence. */
  execution: Type.Optional(Execution),
  /** `kvmbench ab`: the variant this run measured; its twin is the sibling directory. */
  variant: Type.Optional(RunVariant),
  /**
   * The virtualization layer of the run's guests: absent or 1 for guests on this host, 2 for guests
   * inside the nested lab's L1 (then `nested` says what L1 was). compare refuses to pair layers.
   */
  layer: Type.Optional(Type.Integer({ minimum: 1, maximum: 2 })),
  nested: Type.Optional(NestedInfo),
});
export type RunInfo = Static<typeof RunInfo>;

/**
 * The host fingerprint. Every field is optional because not every host exposes
 * everything; `src/host/fingerprint.ts` fills it.
 */
export const HostFingerprint = Type.Object(
  {
    hostname: Type.Optional(Type.String()),
    cpuModel: Type.Optional(Type.String()),
    cpuVendor: Type.Optional(Type.String()),
    cpuFamily: Type.Optional(Type.Integer()),
    cpuModelNumber: Type.Optional(Type.Integer()),
    cpuStepping: Type.Optional(Type.Integer()),
    microcode: Type.Optional(Type.String()),
    cores: Type.Optional(Type.Integer()),
    threads: Type.Optional(Type.Integer()),
    smt: Type.Optional(Type.String()),
    kernelRelease: Type.Optional(Type.String()),
    kernelCmdline: Type.Optional(Type.String()),
    kvmModules: Type.Optional(Type.Record(Type.String(), Type.Record(Type.String(), Type.String()))),
    mitigations: Type.Optional(Type.Record(Type.String(), Type.String())),
    governor: Type.Optional(Type.String()),
    thp: Type.Optional(Type.String()),
    memTotalKiB: Type.Optional(Type.Integer()),
    qemuVersion: Type.Optional(Type.String()),
    nodeVersion: Type.Optional(Type.String()),
    kvmbenchVersion: Type.Optional(Type.String()),
    gitRevision: Type.Optional(Type.String()),
    virtualized: Type.Optional(Type.String()),
    kvmUsable: Type.Optional(Type.Boolean()),
    /** Where the /dev/kvm probe stopped and why, e.g. `ok` or `open ENOENT` (src/kvm/probe.ts). */
    kvmProbe: Type.Optional(Type.String()),
    kvmApiVersion: Type.Optional(Type.Integer()),
    /**
     * What kind of KVM this host has (src/host/flavor.ts): `bare-metal` (VT-x/AMD-V of the CPU),
     * `nested` (a hypervisor below passes VT-x/AMD-V through), `pvm` (paravirtualized KVM, kvm_pvm:
     * no VT-x/AMD-V; guests that are not PVM-enabled run through KVM's instruction emulator),
     * `none` (no KVM module) or `unknown`.
     */
    kvmFlavor: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);
export type HostFingerprint = Static<typeof HostFingerprint>;

export const Results = Type.Object({
  schema: Type.Literal(RESULTS_SCHEMA),
  run: RunInfo,
  host: HostFingerprint,
  cases: Type.Array(CaseResult),
});
export type Results = Static<typeof Results>;
