import { Flags } from '@oclif/core';
import { BaseCommand } from '../src/cli/base-command.js';
import { makeColor } from '../src/report/color.js';
import { ExitCode, exitCodeOf, InterruptedError, UsageError } from '../src/errors.js';
import {
  KUT_FLAGS,
  SUITE_ARGS,
  SUITE_FLAGS,
  loadSelectedSuite,
  roundsFlag,
  runnerOptions,
  runSummaryText,
  trapInterrupts,
} from '../src/cli/suite-run.js';
import { makeReporter } from '../src/cli/progress.js';
import type { LoadedSuite } from '../src/suites/load.js';
import { executeRun } from '../src/app/run.js';
import { storeFinishedRun } from '../src/cli/store-run.js';

export default class Run extends BaseCommand {
  static override summary = 'Run a suite of test guests and benchmarks under QEMU and write results.';
  static override description =
    'SUITE is a shipped suite name (see `kvmbench suites`) or the path of a suite file. Results go to ' +
    'reports/<run-id>/ (results.json, results.jsonl, junit.xml, report.html, logs/). Exit 0 when every case ' +
    'passed or was skipped, 1 when one failed or errored, 2 for a bad suite or flag, 3 when the environment ' +
    'cannot run it (e.g. --accel kvm without KVM), 130 when interrupted (partial results are kept).';
  static override examples = [
    '<%= config.bin %> run',
    '<%= config.bin %> run exits --quick --accel tcg',
    "<%= config.bin %> run full --only 'exits/*' --skip tag:slow --repeat 20",
    '<%= config.bin %> run exits --rounds 7 -o base/   # seven fresh guests a case: compare tests guest against guest',
    '<%= config.bin %> run ./my-suite.yaml --output out/ --json > results.json',
    "<%= config.bin %> run kut --kut-dir ~/kvm-unit-tests --accel tcg --only 'tag:vmexit' --jobs 2   # kvm-unit-tests stanzas as cases",
  ];

  static override args = SUITE_ARGS;

  static override flags = {
    ...SUITE_FLAGS,
    ...KUT_FLAGS,
    rounds: roundsFlag(1),
    output: Flags.string({ char: 'o', description: 'output directory (default reports/<run-id>)' }),
    json: Flags.boolean({ description: 'print the results JSON on stdout; human output goes to stderr', default: false }),
    nested: Flags.boolean({
      description:
        "run the suite one level down: in an L1 guest kvmbench boots with KVM inside (nested VT-x/AMD-V where this host offers it, else TCG's AMD-V), against L2 guests; every figure is labelled layer 2 (docs/nested.md)",
      default: false,
    }),
    beside: Flags.boolean({
      description:
        'with --nested: also run the cases at layer 1 (directly on this host) and write the nested exit-cost table (layer 2 / layer 1 per test, with its interval): nested-costs.json and .html',
      default: false,
      dependsOn: ['nested'],
    }),
    store: Flags.boolean({
      default: false,
      description:
        'add the run to the history store when it ends ($KVMBENCH_STORE, else reports/kvmbench.db; see `kvmbench history`)',
    }),
    'store-at': Flags.string({
      description: 'add the run to this history store when it ends (a file or a postgres:// URL); implies --store',
    }),
    kernel: Flags.string({
      description:
        "Linux kernel (bzImage) for the Linux guest cases (boot-linux, io) instead of Debian's cloud kernel; on a PVM host, a PVM-enabled kernel is what runs under KVM",
    }),
  };

  async run(): Promise<void> {
    // Trapped before parsing, so an interrupt while the suite loads is seen too.
    const trap = trapInterrupts();
    const parsed = await this.parse(Run);
    const { args, flags } = parsed;
    const human = flags.json ? process.stderr : process.stdout;
    const color = makeColor(human);

    if (flags.nested) {
      const { runNested, runNestedBeside, nestedExitCode } = await import('../src/app/nested.js');
      try {
        if (flags.kernel)
          throw new UsageError(
            "--kernel does not apply with --nested (L1 boots Debian's standard kernel; Linux cases at layer 2 use the cloud kernel)",
          );
        const nestedOpts = {
          suite: args.suite,
          flags,
          output: flags.output,
          argv: ['run', ...this.argv],
          signal: trap.signal,
          log: (l: string) => process.stderr.write(`${l}\n`),
          select: loadSelectedSuite,
          sampling: (suite: LoadedSuite) => runnerOptions(flags, suite),
        };
        let summary;
        if (flags.beside) {
          const { nestedCostsText } = await import('../src/report/nested-costs.js');
          const reporter = makeReporter(process.stderr, makeColor(process.stderr));
          const b = await runNestedBeside({ ...nestedOpts, reporter }).finally(() => reporter.close());
          summary = b.nested;
          human.write(`\n${nestedCostsText(b.table)}\ntable: ${b.files.join('\n       ')}\n`);
          if (b.layer1.outcome !== 'ok' && summary.outcome === 'ok')
            summary = { ...summary, outcome: b.layer1.outcome as typeof summary.outcome };
        } else summary = await runNested(nestedOpts);
        if (flags.json) process.stdout.write(JSON.stringify(summary.results, null, 2) + '\n');
        human.write(
          runSummaryText({ ...summary, interrupted: summary.outcome === 'interrupted' ? 'interrupt' : undefined }, color),
        );
        let code: number = trap.internalError ? ExitCode.FAILED : nestedExitCode(summary.outcome);
        if (flags.store || flags['store-at']) code = await storeFinishedRun(summary, flags['store-at'], human, code);
        process.exitCode = code;
        this.exit(code);
      } finally {
        trap.release();
      }
      return;
    }
    const { suite, cases } = loadSelectedSuite(args.suite, flags, flags.kernel);

    // Interrupted while loading: nothing has started, so there is nothing to keep.
    if (trap.signal.aborted) throw new InterruptedError(`interrupted by ${String(trap.signal.reason)} before the run started`);

    const reporter = makeReporter(process.stderr, makeColor(process.stderr));
    let summary;
    try {
      summary = await executeRun({
        suite,
        cases,
        ...runnerOptions(flags, suite),
        jobs: flags.jobs,
        argv: ['run', ...this.argv],
        output: flags.output,
        signal: trap.signal,
        reporter,
      });
    } finally {
      reporter.close();
      trap.release();
    }

    if (flags.json) process.stdout.write(JSON.stringify(summary.results, null, 2) + '\n');
    human.write(runSummaryText(summary, color));
    // Always exit explicitly: an executor abandoned after its deadline may still hold timers.
    // A bug stopped the run: its cases errored, which is exit 1, not an interrupt's 130.
    let code: number = trap.internalError ? ExitCode.FAILED : exitCodeOf(summary.outcome);
    if (flags.store || flags['store-at']) code = await storeFinishedRun(summary, flags['store-at'], human, code);
    process.exitCode = code;
    this.exit(code);
  }
}
