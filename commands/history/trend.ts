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
import { UsageError } from '../../src/errors.js';
import { conformanceTrend, trend } from '../../src/app/history.js';
import {
  TREND_FORMATS,
  renderConformanceTrendHtml,
  renderConformanceTrendText,
  renderHistoryJson,
  renderTrendHtml,
  renderTrendText,
  type TrendFormat,
} from '../../src/report/history/index.js';

export default class HistoryTrend extends BaseCommand {
  static override summary =
    'Per-run medians with their intervals over time, per host class, with change points: text, JSON or an HTML page.';
  static override description =
    'METRIC is a metric name (cpuid.latency), a full key (exits/cpuid/cpuid.latency{machine=q35}) or a glob over keys (exits/**). ' +
    'One series per host class, metric, accelerator and execution mode; only complete runs. The HTML page is self-contained ' +
    "(inline SVG: the band of each run's 95 % interval of the median, the direction of better, change points marked).";
  static override strict = false;
  static override examples = [
    '<%= config.bin %> history trend cpuid.latency',
    "<%= config.bin %> history trend 'exits/**' --format html -o trend.html",
    '<%= config.bin %> history trend --test apic --test "vmx*"   # conformance tests: verdicts run after run',
  ];
  static override flags = {
    ...STORE_FLAG,
    ...FILTER_FLAGS,
    ...CHANGE_POINT_FLAGS,
    last: Flags.integer({ min: 2, description: 'only the last N runs of each series' }),
    test: Flags.string({
      description:
        'a conformance test (run kut stanza: apic, kut/apic or a glob) instead of METRIC: its verdict and sub-checks run after run, per host class and layer (repeatable)',
      multiple: true,
    }),
    format: Flags.string({ char: 'f', options: [...TREND_FORMATS], default: 'text', description: 'output format' }),
    output: Flags.string({ char: 'o', description: 'write to this file instead of standard output' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(HistoryTrend);
    const patterns = argv as string[];
    const format = flags.format as TrendFormat;
    if (flags.test?.length) {
      if (patterns.length) throw new UsageError('give METRIC patterns or --test, not both');
      const t = await conformanceTrend(storeOf(flags), flags.test, filterOf(flags), flags.last);
      const color = flags.output ? makeColor(process.stdout, { ...process.env, NO_COLOR: '1' }) : makeColor();
      await writeView(
        format === 'html'
          ? renderConformanceTrendHtml(t)
          : format === 'json'
            ? renderHistoryJson(t)
            : renderConformanceTrendText(t, color),
        flags.output,
      );
      return;
    }
    if (patterns.length === 0)
      throw new UsageError(
        'history trend needs at least one METRIC',
        'e.g. `kvmbench history trend cpuid.latency` or `kvmbench history trend "exits/**"`',
      );
    const t = await trend(storeOf(flags), patterns, filterOf(flags), changePointOptions(flags), flags.last);
    const color = flags.output ? makeColor(process.stdout, { ...process.env, NO_COLOR: '1' }) : makeColor();
    await writeView(
      format === 'html' ? renderTrendHtml(t) : format === 'json' ? renderHistoryJson(t) : renderTrendText(t, color),
      flags.output,
    );
  }
}
