/**
 * The contract between the suite runner (src/suites/) and the case executors
 * (src/cases/), kept with the executors so that the runner calls down into them: the runner loads and validates a suite, decides skip/accelerator,
 * gives each case a deadline, a log path and an abort signal, and records what the
 * executor returns; an executor knows how to launch its guest(s) and turn what
 * they say into metrics. Executors never write results files themselves.
 */
import type { TObject } from '@sinclair/typebox';
import type { HostActions } from '../host/actions.js';
import type { Accelerator, CaseResult, Execution, HostFingerprint, RunVariant } from '../results/model.js';
import type { SamplingRequest } from '../stats/precision.js';

export type { RunVariant } from '../results/model.js';

/** Decided once per run, before any case (the runner, from src/app/'s accelerator choice): how every guest is configured and runs. */
export interface RunPlatform {
  /** QEMU `-cpu` for every guest of the run. */
  cpu: string;
  /** Why `cpu` is not the first choice, when it is not. */
  cpuNote?: string;
  /** How the run's calibration boot executed guest code (native / emulated / tcg). */
  execution?: Execution;
  /**
   * The variant of `kvmbench ab` this run measures (A or B); absent in `kvmbench run`. Executors
   * that start QEMU apply its binary and extra arguments and record them in `vm` (`variantQemu` in src/vmm/qemu.ts, `variantVmRecord` in src/results/variant.ts).
   */
  variant?: RunVariant;
}

/**
 * Failures a case saw that decide later cases of the same run, by key (e.g. a kernel that hit
 * a KVM internal error under this accelerator): the later case skips with the recorded reason
 * instead of waiting for the same failure again.
 */
export type RunMemory = Map<string, string>;

export type ArgValue = string | number | boolean | string[];

/** One case of a suite after defaults, --quick overrides and CLI overrides are applied. */
export interface CaseSpec {
  /** Case id within its suite, e.g. `cpuid`; the result id is `${suite}/${id}`. */
  id: string;
  suite: string;
  title?: string;
  /** Which executor runs it: a key of the registry in src/cases/index.ts. */
  kind: string;
  /** Guest directory name under guests/ (micro guests) or `linux`. */
  guest?: string;
  /** QEMU machine type: microvm, q35 or pc. */
  machine: string;
  /** Accelerators this case may run on. */
  accel: Accelerator[];
  vcpus: number;
  memoryMiB: number;
  /** Guest/executor arguments, e.g. `{test: 'cpuid'}` or `{job: 'randread', bs: '4k'}`. */
  args: Record<string, ArgValue>;
  /** Samples, boots or repetitions, as the executor defines for its kind. */
  repeat: number;
  /** Wall-clock deadline for the whole case, seconds. */
  deadlineSec: number;
  /** Startup budget of each QEMU launch, seconds (suite field `startup`); default by accelerator and guest (src/vmm/startup.ts). */
  startupSec?: number;
  tags: string[];
  /** Doctor check ids that must pass, or the case is skipped with that check's reason. */
  requires: string[];
  /** The suite's quick overrides were applied to this case (`--quick`, or an include with `quick: true`). */
  quick?: boolean;
}

export interface CaseContext {
  accel: Accelerator;
  quick: boolean;
  /** The run's output directory (absolute). */
  outputDir: string;
  /** Absolute path where the executor writes the case's full console/QEMU log. */
  logPath: string;
  /** Aborted on deadline expiry or on SIGINT/SIGTERM: kill the guest and return at once. */
  signal: AbortSignal;
  /** Absolute epoch ms by which the case must be finished. */
  deadlineAt: number;
  host: HostFingerprint;
  /** A private scratch directory for this case, removed by the runner afterwards. */
  scratchDir: string;
  /** Report progress (shown in the live display): e.g. `boot 3/10`. */
  onPhase(phase: string): void;
  platform: RunPlatform;
  /** Shared by every case of the run. */
  memory: RunMemory;
  /** What the doctor case may start on the host (src/host/actions.ts); absent: nothing (answers read as not known). */
  hostActions?: HostActions;
  /** Adaptive sampling asked for the run (`--precision`, `--max-samples`, `--max-time`); absent: the suite's fixed counts. */
  sampling?: SamplingRequest;
}

/** What an executor returns; the runner adds id, suite, startedAt, durationMs, log. */
export type CaseOutcome = Omit<CaseResult, 'id' | 'suite' | 'startedAt' | 'durationMs' | 'log'>;

export interface CaseExecutor {
  kind: string;
  /**
   * The args this kind reads (src/cases/args.ts `caseArgs`): the suite loader rejects any other, or a
   * value of the wrong type, at its YAML line. Absent: args are not checked (test executors).
   */
  args?: TObject;
  /** false for executors that start no QEMU (raw, doctor): no startup budget, never skipped for a QEMU failure. Default true. */
  startsQemu?: boolean;
  run(spec: CaseSpec, ctx: CaseContext): Promise<CaseOutcome>;
}
