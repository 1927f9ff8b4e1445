import { Args, Flags } from '@oclif/core';
import { writeFile } from 'node:fs/promises';
import { BaseCommand } from '../src/cli/base-command.js';
import { makeColor } from '../src/report/color.js';
import { ExitCode, KvmbenchError, UsageError } from '../src/errors.js';
import { JUDGE_FLAGS, judgeOptions } from '../src/cli/judge-flags.js';
import { DEFAULT_SEED, IncomparableError, compareRuns } from '../src/compare/index.js';
import { COMPARE_FORMATS, renderComparison, type CompareFormat } from '../src/report/compare/index.js';
import { loadResults } from '../src/results/load.js';
import { againstHistory } from '../src/app/history.js';
import { STORE_FLAG, storeOf } from '../src/cli/history-flags.js';

export default class Compare extends BaseCommand {
  static override summary = 'Compare runs: per-metric verdicts with a significance test, exit 4 on a confirmed regression.';
  static override description =
    'BASE and NEW (and MORE...) are results files or report directories; each later run is compared with BASE. ' +
    'Per metric: medians, relative change with a 95 % bootstrap CI, Mann-Whitney U, Holm correction across the metrics ' +
    'of all pairs, and a noise band; regressed/improved need the whole CI beyond the band, unchanged the whole CI inside it, ' +
    'anything else is inconclusive. Comparing kvm with tcg results, or native with emulated execution, exits 2 unless --force; ' +
    'metrics whose units differ are never compared. See docs/compare.md.';
  static override strict = false;
  static override examples = [
    '<%= config.bin %> compare reports/base reports/new',
    '<%= config.bin %> compare base/results.json new/results.json --fail-on-regression --threshold "boot.*=10"',
    '<%= config.bin %> compare reports/new --against-history 10 --fail-on-regression   # base: the last 10 stored runs of this host class',
  ];

  static override args = {
    base: Args.string({ description: 'baseline results.json or report directory', required: true }),
    new: Args.string({
      description: 'results to judge against BASE (with --against-history, BASE is the run to judge and there is no NEW)',
    }),
  };

  static override flags = {
    format: Flags.string({ char: 'f', options: [...COMPARE_FORMATS], default: 'text', description: 'output format' }),
    output: Flags.string({ char: 'o', description: 'write to this file instead of standard output' }),
    ...JUDGE_FLAGS,
    force: Flags.boolean({
      default: false,
      description:
        'compare different accelerators (kvm vs tcg) or execution modes (native vs emulated) anyway, with a note per row; never different units',
    }),
    'against-history': Flags.integer({
      min: 1,
      description:
        'judge the one run given against the last N complete runs of its host class in the history store (their raw samples, each run a round)',
    }),
    ...STORE_FLAG,
    seed: Flags.integer({
      default: DEFAULT_SEED,
      description: 'seed of the bootstrap resampling (and of the Monte Carlo p-values beyond the exact test)',
    }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Compare);
    const paths = argv as string[];
    const judge = judgeOptions(flags);
    const runs = [];
    if (flags['against-history'] !== undefined) {
      if (paths.length !== 1)
        throw new UsageError(
          'compare --against-history takes one run: the one to judge',
          'e.g. `kvmbench compare reports/new --against-history 10`',
        );
      const h = await againstHistory(storeOf(flags), paths[0]!, flags['against-history']);
      runs.push(
        { label: `history (${h.runIds.length} runs of ${h.store})`, results: h.baseline },
        { label: paths[0]!, results: h.next },
      );
    } else {
      if (paths.length < 2) throw new UsageError('compare needs BASE and NEW');
      for (const p of paths) runs.push({ label: p, results: (await loadResults(p)).results });
    }
    let cmp;
    try {
      cmp = compareRuns(runs, { ...judge, force: flags.force, seed: flags.seed });
    } catch (err) {
      if (err instanceof IncomparableError) throw new UsageError(err.message, 'pass --force to compare them anyway');
      throw err;
    }
    const color = flags.output ? makeColor(process.stdout, { ...process.env, NO_COLOR: '1' }) : makeColor();
    const out = renderComparison(cmp, flags.format as CompareFormat, color);
    if (flags.output) {
      await writeFile(flags.output, out, 'utf8');
      process.stderr.write(`kvmbench: wrote ${flags.output}\n`);
    } else {
      process.stdout.write(out);
    }
    if (flags['fail-on-regression'] && cmp.regressions > 0) {
      throw new KvmbenchError(`${cmp.regressions} confirmed regression${cmp.regressions > 1 ? 's' : ''}`, {
        exitCode: ExitCode.REGRESSION,
      });
    }
  }
}
