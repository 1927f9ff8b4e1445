/**
 * What `kvmbench run` and `kvmbench ab` share: the suite flags, loading and selecting the
 * suite's cases from them, the SIGINT/SIGTERM handling that turns an interrupt into partial
 * results and exit 130, and the end-of-run text (summary table, files, interrupted note).
 */
import { resolve } from 'node:path';
import { Args, Flags } from '@oclif/core';
import type { ChalkInstance } from 'chalk';
import { executors } from '../cases/index.js';
import { MIN_ROUNDS } from '../compare/rounds.js';
import { KUT_SUITE, loadKutSuite } from '../suites/kut.js';
import { loadSuite, type LoadedSuite } from '../suites/load.js';
import { MAX_ROUNDS } from '../suites/rounds.js';
import { DEFAULT_MAX_ROUNDS } from '../suites/adaptive-rounds.js';
import { summaryTable } from '../report/summary.js';
import type { RunSummary } from '../suites/runner.js';
import type { AccelRequest } from '../suites/deps.js';
import { selectCases } from '../suites/select.js';
import type { CaseSpec } from '../cases/types.js';
import { MACHINE_TYPES } from '../vmm/qemu.js';
import { checkKernelFile } from '../linux/kernel-file.js';
import { ExitCode, UsageError } from '../errors.js';
import { DEFAULT_MAX_SAMPLES, parseDuration, parsePrecision, type SamplingRequest } from '../stats/precision.js';

/** The flags that choose and shape a suite's cases, the same for every command that runs one. */
/** The SUITE argument of `run` and `ab`. */
export const SUITE_ARGS = {
  suite: Args.string({ description: 'suite name or suite file path', default: 'quick' }),
};

export const SUITE_FLAGS = {
  only: Flags.string({
    description: 'run only cases whose id, suite/id or tag matches this glob (repeatable; tag:NAME for tags only)',
    multiple: true,
  }),
  skip: Flags.string({ description: 'leave out cases matching this glob or tag (repeatable)', multiple: true }),
  repeat: Flags.integer({ description: 'samples/boots/repetitions per case, overriding the suite', min: 1, max: 100_000 }),
  accel: Flags.string({
    description: 'accelerator: auto (KVM if usable, else TCG with a warning), kvm or tcg',
    options: ['auto', 'kvm', 'tcg'],
    default: 'auto',
  }),
  machine: Flags.string({ description: 'QEMU machine type for every case', options: [...MACHINE_TYPES] }),
  'scratch-dir': Flags.string({
    description:
      'where cases put scratch files such as the I/O backing file (default the temp directory; must be disk-backed for O_DIRECT)',
  }),
  quick: Flags.boolean({ description: "apply the suites' quick overrides (fewer samples, shorter deadlines)", default: false }),
  'keep-going': Flags.boolean({
    description:
      'run every case even after two in a row failed because QEMU never got to the guest for the same cause (by default the remaining QEMU cases then skip, naming it)',
    default: false,
  }),
  precision: Flags.string({
    description:
      'adaptive sampling: keep sampling each case (exits: more measured windows; io: more fio segments; net: more runs of a job; boots: more boots) until the 95 % interval of its median is within ± this much, e.g. 2%; with --rounds above 1 also add rounds until the round medians are; `ab`: add rounds until every tested row is decided (docs/compare.md, "Adaptive sampling")',
  }),
  'max-samples': Flags.integer({
    description: `with --precision: at most this many samples a case (default ${DEFAULT_MAX_SAMPLES})`,
    min: 11,
    max: 1000,
  }),
  'max-time': Flags.string({
    description:
      'with --precision: stop sampling a case after this long, e.g. 20s or 2m (the boot is not counted); with rounds, also start no more rounds of a case once its rounds took this long',
  }),
  'max-rounds': Flags.integer({
    description: `with --precision and --rounds above 1 (or ab): at most this many rounds a case (default ${DEFAULT_MAX_ROUNDS}, at least --rounds)`,
    min: 1,
    max: MAX_ROUNDS,
  }),
  pin: Flags.boolean({
    description:
      "pin each guest's vCPU threads to host CPUs (vCPU k to the k-th CPU kvmbench may use); recorded as `vm.pin`, so compare flags runs that differ",
    default: false,
  }),
  tap: Flags.string({
    description:
      "net cases: use this tap device (created once with `sudo ip tuntap add dev NAME mode tap user $USER`, given an IPv4 address and set up) instead of kvmbench's own namespace; for runs without CAP_NET_ADMIN",
  }),
};

/** `--rounds`: the flag of `run` and `ab`, with the command's default. */
export function roundsFlag(defaultRounds: number) {
  return Flags.integer({
    description: `run every case this many times, each in a fresh guest, one after the other (default ${defaultRounds}); compare then treats the round, not the sample, as the unit of replication once both sides have ${MIN_ROUNDS} or more`,
    min: 1,
    max: MAX_ROUNDS,
    default: defaultRounds,
  });
}

export interface SuiteSelection {
  suite: LoadedSuite;
  cases: CaseSpec[];
}

/** What the suite flags and --rounds tell the runner, the same for `run` and `ab`; `suite` gives a default precision (`sampling:`). */
export function runnerOptions(
  flags: {
    accel: string;
    quick: boolean;
    'scratch-dir'?: string;
    rounds: number;
    'keep-going': boolean;
    precision?: string;
    'max-samples'?: number;
    'max-time'?: string;
    'max-rounds'?: number;
  },
  suite?: Pick<LoadedSuite, 'sampling' | 'name'>,
): {
  accel: AccelRequest;
  quick: boolean;
  scratchDir?: string;
  rounds: number;
  keepGoing: boolean;
  sampling?: SamplingRequest;
  maxRounds?: number;
} {
  const sampling = samplingRequest(flags, suite);
  const maxRounds = flags['max-rounds'] ?? (flags.precision === undefined && sampling ? suite?.sampling?.maxRounds : undefined);
  if (flags['max-rounds'] !== undefined && !sampling)
    throw new UsageError('--max-rounds caps the rounds --precision adds: give --precision too (e.g. --precision 3%)');
  return {
    accel: flags.accel as AccelRequest,
    quick: flags.quick,
    scratchDir: flags['scratch-dir'],
    rounds: flags.rounds,
    keepGoing: flags['keep-going'],
    ...(sampling ? { sampling } : {}),
    ...(maxRounds !== undefined ? { maxRounds } : {}),
  };
}

/**
 * `--precision`, `--max-samples`, `--max-time` as the runner takes them; a bad value is a usage
 * error (exit 2). Without --precision, the suite's `sampling:` applies unless the run is --quick
 * (quick stays bounded by its counts and time); command-line caps win over the suite's.
 */
export function samplingRequest(
  flags: {
    precision?: string;
    'max-samples'?: number;
    'max-time'?: string;
    quick?: boolean;
  },
  suite?: Pick<LoadedSuite, 'sampling' | 'name'>,
): SamplingRequest | undefined {
  const byDefault = flags.precision === undefined && flags.quick !== true ? suite?.sampling : undefined;
  if (flags.precision === undefined && !byDefault) {
    if (flags['max-samples'] !== undefined || flags['max-time'] !== undefined)
      throw new UsageError(
        `--max-samples and --max-time are caps of adaptive sampling: give --precision too (e.g. --precision 3%)${suite?.sampling && flags.quick ? `; --quick leaves out suite ${suite.name}'s default precision` : ''}`,
      );
    return undefined;
  }
  try {
    const maxTimeMs = flags['max-time'] !== undefined ? parseDuration(flags['max-time']) : byDefault?.maxTimeMs;
    return {
      precision: flags.precision !== undefined ? parsePrecision(flags.precision) : byDefault!.precision,
      maxSamples: flags['max-samples'] ?? byDefault?.maxSamples ?? DEFAULT_MAX_SAMPLES,
      ...(maxTimeMs !== undefined ? { maxTimeMs } : {}),
    };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** `run kut --kut-dir DIR`: a kvm-unit-tests tree as a suite (docs/kut.md). */
export const KUT_FLAGS = {
  'kut-dir': Flags.string({
    description:
      'suite kut: the top of a built kvm-unit-tests tree (x86/unittests.cfg and its .flat images); each stanza is a case, its groups are tags. With --nested it is shared with L1 read-only; with --nested and another suite, its stanzas run as a second step of the same L1 boot',
  }),
  jobs: Flags.integer({
    description:
      "run up to this many cases at once (at most the cores, and what free memory holds); results keep the suite's order",
    min: 1,
    max: 64,
  }),
};

/** The suite named by SUITE with the CLI overrides applied, and its cases after --only/--skip. */
export function loadSelectedSuite(
  name: string,
  flags: {
    quick: boolean;
    repeat?: number;
    machine?: string;
    only?: string[];
    skip?: string[];
    tap?: string;
    pin?: boolean;
    'kut-dir'?: string;
  },
  kernel?: string,
  kernelFlag = '--kernel',
): SuiteSelection {
  if (name === KUT_SUITE || flags['kut-dir'] !== undefined) {
    if (name !== KUT_SUITE)
      throw new UsageError(
        `--kut-dir is for suite ${KUT_SUITE}, not ${name}`,
        `run it as: kvmbench run ${KUT_SUITE} --kut-dir DIR`,
      );
    if (flags['kut-dir'] === undefined)
      throw new UsageError(
        `suite ${KUT_SUITE} needs --kut-dir DIR`,
        'DIR is the top of a kvm-unit-tests checkout built for x86_64 (./configure && make)',
      );
    // A stanza says its own machine and runs once: these overrides would be silently ignored.
    if (flags.machine !== undefined || flags.repeat !== undefined)
      throw new UsageError(
        `--machine and --repeat do not apply to suite ${KUT_SUITE}: each stanza names its machine (qemu_params) and runs once`,
      );
    const suite = loadKutSuite(flags['kut-dir'], { explicit: (flags.only?.length ?? 0) > 0 });
    return { suite, cases: selectCases(suite.cases, { only: flags.only, skip: flags.skip }) };
  }
  if (kernel !== undefined) checkKernelFile(resolve(kernel), kernelFlag);
  const suite = loadSuite(name, {
    quick: flags.quick,
    cli: {
      repeat: flags.repeat,
      machine: flags.machine,
      kernel: kernel === undefined ? undefined : resolve(kernel),
      tap: flags.tap,
      pin: flags.pin,
    },
    kinds: Object.keys(executors),
    argsOf: (kind) => executors[kind]?.args,
  });
  return { suite, cases: selectCases(suite.cases, { only: flags.only, skip: flags.skip }) };
}

export interface InterruptTrap {
  /** Aborted on the first SIGINT/SIGTERM with the signal's name as its reason, or on an internal error. */
  signal: AbortSignal;
  /** The first line of the internal error that stopped the run, if one did (the run then exits 1, not 130). */
  readonly internalError: string | undefined;
  /** What an uncaught exception or unhandled rejection does while the trap is set (exposed for tests). */
  crashed(err: unknown): void;
  /** Stops listening (call when the run is over, before printing). */
  release(): void;
}

/**
 * First SIGINT/SIGTERM: abort the case in flight (its executor kills QEMU) and finish the
 * results as interrupted. A second one exits at once with 130; the journals already hold
 * every finished case and launchQemu's exit hook kills any guest still running.
 *
 * An uncaught exception or unhandled rejection (a bug) does the same as a first signal, so the
 * run still writes results.json, its report and the case's reason; Node's default would end the
 * process at once with 1 and leave only the journal and the scratch files.
 */
export function trapInterrupts(out: { write(s: string): unknown } = process.stderr): InterruptTrap {
  const interrupt = new AbortController();
  let internalError: string | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupt.signal.aborted) {
      out.write(`\nkvmbench: ${sig} again, exiting now\n`);
      process.exit(ExitCode.INTERRUPTED);
    }
    out.write(`\nkvmbench: ${sig}: stopping the current case and writing partial results\n`);
    interrupt.abort(sig);
  };
  const crashed = (err: unknown) => {
    const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
    const first = (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 300);
    if (interrupt.signal.aborted) {
      out.write(`\nkvmbench: internal error while stopping, exiting now: ${text}\n`);
      process.exit(ExitCode.FAILED);
    }
    internalError = first;
    out.write(
      `\nkvmbench: internal error (a bug in kvmbench; please report it with this text): ${text}\n` +
        'kvmbench: stopping the current case and writing partial results\n',
    );
    interrupt.abort(`an internal error: ${first}`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('uncaughtException', crashed);
  process.on('unhandledRejection', crashed);
  return {
    signal: interrupt.signal,
    get internalError() {
      return internalError;
    },
    crashed,
    release() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.off('uncaughtException', crashed);
      process.off('unhandledRejection', crashed);
    },
  };
}

/** The end of a run as a person reads it: the summary table, the files written, and whether it was cut short. */
export function runSummaryText(summary: RunSummary, color: ChalkInstance): string {
  const files = [`${summary.dir}/results.json`, ...summary.reports];
  const lines = ['', summaryTable(summary.results, color), '', `results: ${files.join('\n         ')}`];
  if (summary.interrupted) lines.push(color.yellow(`interrupted by ${summary.interrupted}: partial results kept`));
  return lines.join('\n') + '\n';
}
