import { resolve } from 'node:path';
import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../src/cli/base-command.js';
import { makeColor } from '../src/cli/color.js';
import { InterruptedError } from '../src/cli/errors.js';
import { ExitCode } from '../src/cli/exit-codes.js';
import { executors } from '../src/cases/index.js';
import { defaultDeps, type AccelRequest } from '../src/suites/env.js';
import { loadSuite } from '../src/suites/load.js';
import { makeReporter, summaryTable } from '../src/suites/progress.js';
import { runSuite } from '../src/suites/runner.js';
import { MACHINES } from '../src/suites/schema.js';
import { selectCases } from '../src/suites/select.js';

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
    '<%= config.bin %> run ./my-suite.yaml --output out/ --json > results.json',
  ];

  static override args = {
    suite: Args.string({ description: 'suite name or suite file path', default: 'quick' }),
  };

  static override flags = {
    only: Flags.string({ description: 'run only cases whose id, suite/id or tag matches this glob (repeatable; tag:NAME for tags only)', multiple: true }),
    skip: Flags.string({ description: 'leave out cases matching this glob or tag (repeatable)', multiple: true }),
    repeat: Flags.integer({ description: 'samples/boots/repetitions per case, overriding the suite', min: 1, max: 100_000 }),
    accel: Flags.string({ description: 'accelerator: auto (KVM if usable, else TCG with a warning), kvm or tcg', options: ['auto', 'kvm', 'tcg'], default: 'auto' }),
    machine: Flags.string({ description: 'QEMU machine type for every case', options: [...MACHINES] }),
    output: Flags.string({ char: 'o', description: 'output directory (default reports/<run-id>)' }),
    'scratch-dir': Flags.string({ description: 'where cases put scratch files such as the I/O backing file (default the temp directory; must be disk-backed for O_DIRECT)' }),
    json: Flags.boolean({ description: 'print the results JSON on stdout; human output goes to stderr', default: false }),
    quick: Flags.boolean({ description: "apply the suites' quick overrides (fewer samples, shorter deadlines)", default: false }),
    kernel: Flags.string({ description: 'Linux kernel (bzImage) for the Linux guest cases (boot-linux, io) instead of Debian\'s cloud kernel; on a PVM host, a PVM-enabled kernel is what runs under KVM' }),
  };

  async run(): Promise<void> {
    // First SIGINT/SIGTERM: abort the case in flight (its executor kills QEMU) and finish
    // the results as interrupted. A second one exits at once; the jsonl already has every
    // finished case and launchQemu's exit hook kills any guest still running.
    const interrupt = new AbortController();
    const onSignal = (sig: NodeJS.Signals) => {
      if (interrupt.signal.aborted) {
        process.stderr.write(`\nkvmbench: ${sig} again, exiting now\n`);
        process.exit(ExitCode.INTERRUPTED);
      }
      process.stderr.write(`\nkvmbench: ${sig}: stopping the current case and writing partial results\n`);
      interrupt.abort(sig);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);

    const parsed = await this.parse(Run);
    const { args, flags } = parsed;
    const human = flags.json ? process.stderr : process.stdout;
    const color = makeColor(human);

    const suite = loadSuite(args.suite, {
      quick: flags.quick,
      cli: { repeat: flags.repeat, machine: flags.machine, kernel: flags.kernel === undefined ? undefined : resolve(flags.kernel) },
      kinds: Object.keys(executors),
    });
    const cases = selectCases(suite.cases, { only: flags.only, skip: flags.skip });

    // Interrupted while loading: nothing has started, so there is nothing to keep.
    if (interrupt.signal.aborted) throw new InterruptedError(`interrupted by ${String(interrupt.signal.reason)} before the run started`);

    const reporter = makeReporter(process.stderr, makeColor(process.stderr));
    let summary;
    try {
      summary = await runSuite({
        suite,
        cases,
        accel: flags.accel as AccelRequest,
        quick: flags.quick,
        argv: ['run', ...this.argv],
        output: flags.output,
        scratchDir: flags['scratch-dir'],
        signal: interrupt.signal,
        reporter,
        deps: await defaultDeps(),
      });
    } finally {
      reporter.close();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }

    if (flags.json) process.stdout.write(JSON.stringify(summary.results, null, 2) + '\n');
    human.write('\n' + summaryTable(summary.results, color) + '\n');
    const files = [`${summary.dir}/results.json`, ...summary.reports];
    human.write(`\nresults: ${files.join('\n         ')}\n`);
    if (summary.interrupted) human.write(color.yellow(`interrupted by ${summary.interrupted}: partial results kept\n`));
    // Always exit explicitly: an executor abandoned after its deadline may still hold timers.
    process.exitCode = summary.exitCode;
    this.exit(summary.exitCode);
  }
}

