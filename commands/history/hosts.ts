import { Flags } from '@oclif/core';
import { BaseCommand } from '../../src/cli/base-command.js';
import { FILTER_FLAGS, STORE_FLAG, filterOf, storeOf } from '../../src/cli/history-flags.js';
import { writeView } from '../../src/cli/output.js';
import { makeColor } from '../../src/report/color.js';
import { UsageError } from '../../src/errors.js';
import { hosts } from '../../src/app/history.js';
import { DEFAULT_MIN_DEVIATION } from '../../src/history/fleet.js';
import {
  TREND_FORMATS,
  renderHistoryJson,
  renderHostsHtml,
  renderHostsText,
  type TrendFormat,
} from '../../src/report/history/index.js';

export default class HistoryHosts extends BaseCommand {
  static override summary =
    'The fleet matrix: hosts × metrics, each cell the median and its ratio to the fleet median, outliers marked.';
  static override description =
    "A cell is the median of the host's last N run medians. Outlier: the modified z-score of log(host / fleet median) beyond 3.5 " +
    '(median absolute deviation over the hosts, so the outlier cannot widen its own band) and at least --min-deviation from the fleet median; 3 hosts or more.';
  static override strict = false;
  static override examples = [
    '<%= config.bin %> history hosts cpuid.latency inl_from_qemu.latency',
    "<%= config.bin %> history hosts 'exits/**' --format html -o fleet.html",
  ];
  static override flags = {
    ...STORE_FLAG,
    ...FILTER_FLAGS,
    last: Flags.integer({ min: 1, default: 10, description: "each host's last N runs" }),
    'min-deviation': Flags.string({
      default: String(DEFAULT_MIN_DEVIATION * 100),
      description: 'smallest distance from the fleet median, in percent, that can be an outlier',
    }),
    format: Flags.string({ char: 'f', options: [...TREND_FORMATS], default: 'text', description: 'output format' }),
    output: Flags.string({ char: 'o', description: 'write to this file instead of standard output' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(HistoryHosts);
    const patterns = argv as string[];
    if (patterns.length === 0)
      throw new UsageError('history hosts needs at least one METRIC', 'e.g. `kvmbench history hosts cpuid.latency`');
    const dev = Number(flags['min-deviation']) / 100;
    if (!(dev >= 0)) throw new UsageError(`--min-deviation ${flags['min-deviation']}: expected a percentage`);
    const f = await hosts(storeOf(flags), patterns, filterOf(flags), flags.last, dev);
    const format = flags.format as TrendFormat;
    const color = flags.output ? makeColor(process.stdout, { ...process.env, NO_COLOR: '1' }) : makeColor();
    await writeView(
      format === 'html' ? renderHostsHtml(f) : format === 'json' ? renderHistoryJson(f) : renderHostsText(f, color),
      flags.output,
    );
  }
}
