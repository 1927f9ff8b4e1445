import { Args, Flags } from '@oclif/core';
import { writeFile } from 'node:fs/promises';
import { BaseCommand } from '../src/cli/base-command.js';
import { makeColor } from '../src/report/color.js';
import { loadResults } from '../src/results/load.js';
import { REPORT_FORMATS, renderReport } from '../src/report/render.js';

export default class Report extends BaseCommand {
  static override summary = 'Render a results file as JUnit, HTML, Markdown, text or JSON.';
  static override description =
    'RESULTS is a results.json, a results.jsonl left by a crashed run, or a report directory holding one. ' +
    'Exit 2 if it is not a results file this version understands.';
  static override examples = [
    '<%= config.bin %> report reports/20260102T030405-abcd --format md',
    '<%= config.bin %> report reports/last/results.json --format html --output page.html',
  ];

  static override args = {
    results: Args.string({ description: 'results.json, results.jsonl or report directory', required: true }),
  };

  static override flags = {
    format: Flags.string({ char: 'f', options: [...REPORT_FORMATS], default: 'text', description: 'output format' }),
    output: Flags.string({ char: 'o', description: 'write to this file instead of standard output' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Report);
    const loaded = await loadResults(args.results);
    const format = flags.format as (typeof REPORT_FORMATS)[number];
    const color = flags.output ? makeColor(process.stdout, { ...process.env, NO_COLOR: '1' }) : makeColor();
    const out = await renderReport(loaded.results, format, loaded.dir, color);
    if (flags.output) {
      await writeFile(flags.output, out, 'utf8');
      process.stderr.write(`kvmbench: wrote ${flags.output}\n`);
    } else {
      process.stdout.write(out);
    }
  }
}
