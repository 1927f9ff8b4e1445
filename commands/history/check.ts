import { Flags } from '@oclif/core';
import { BaseCommand } from '../../src/cli/base-command.js';
import {
  CHANGE_POINT_FLAGS,
  FILTER_FLAGS,
  STORE_FLAG,
  changePointOptions,
  filterOf,
  storeOf,
} from '../../src/cli/history-flags.js';
import { writeView } from '../../src/cli/output.js';
import { makeColor } from '../../src/report/color.js';
import { ExitCode, KvmbenchError } from '../../src/errors.js';
import { check } from '../../src/app/history.js';
import { renderCheckText, renderHistoryJson } from '../../src/report/history/index.js';

export default class HistoryCheck extends BaseCommand {
  static override summary =
    'Change-point detection over every stored metric of each host class; exit 4 with --fail-on-regression.';
  static override description =
    'E-Divisive means on the run-level medians of each series (host class, metric, accelerator, execution mode), with a t-test ' +
    'instead of a permutation test (deterministic) and a minimum magnitude. Reports the change points that fall in the last N runs, ' +
    'their size and the runs on either side, and the `kvmbench ab` command that would confirm each on one host: history flags ' +
    'candidates, A/B confirms them. Without METRIC patterns it also lists conformance tests (run kut) that flipped between pass ' +
    'and fail, with the sub-checks that newly fail; a test that passed and still fails counts for --fail-on-regression.';
  static override strict = false;
  static override examples = [
    '<%= config.bin %> history check --last 10 --fail-on-regression',
    "<%= config.bin %> history check 'exits/**' --host-class 3f2a9c0d1e4b --json",
  ];
  static override flags = {
    ...STORE_FLAG,
    ...FILTER_FLAGS,
    ...CHANGE_POINT_FLAGS,
    last: Flags.integer({ min: 1, default: 10, description: 'report change points among the last N runs of each series' }),
    'fail-on-regression': Flags.boolean({
      default: false,
      description: 'exit 4 when a reported change point is on the bad side, or a conformance test that passed now fails',
    }),
    json: Flags.boolean({ default: false, description: 'JSON instead of text' }),
    output: Flags.string({ char: 'o', description: 'write to this file instead of standard output' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(HistoryCheck);
    const report = await check(storeOf(flags), filterOf(flags), changePointOptions(flags), flags.last, argv as string[]);
    const color = flags.output || flags.json ? makeColor(process.stdout, { ...process.env, NO_COLOR: '1' }) : makeColor();
    await writeView(flags.json ? renderHistoryJson(report) : renderCheckText(report, color), flags.output);
    const flips = report.conformance?.regressions ?? 0;
    if (flags['fail-on-regression'] && report.regressions + flips > 0) {
      const what = [
        ...(report.regressions ? [`${report.regressions} change point${report.regressions > 1 ? 's' : ''} on the bad side`] : []),
        ...(flips ? [`${flips} conformance test${flips > 1 ? 's' : ''} flipped from pass to fail`] : []),
      ];
      throw new KvmbenchError(`${what.join(' and ')} in the last ${flags.last} runs`, {
        exitCode: ExitCode.REGRESSION,
        hint: report.regressions
          ? 'confirm each change point with the `kvmbench ab` command printed above'
          : "the failing sub-checks are listed above; the case logs are in the runs' directories",
      });
    }
  }
}
