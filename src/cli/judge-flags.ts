/**
 * The flags that set how `kvmbench compare` and `kvmbench ab` judge runs (noise bands, the
 * significance level, exit 4), and their checked translation into compare options.
 */
import { Flags } from '@oclif/core';
import { parseThreshold, type CompareOptions } from '../compare/index.js';
import { UsageError } from '../errors.js';

export const JUDGE_FLAGS = {
  threshold: Flags.string({
    multiple: true,
    description: 'noise band for metrics matching NAME (metric name, full key, or glob: * stops at /, ** crosses it): NAME=PCT',
  }),
  'noise-band': Flags.string({ default: '5', description: 'default noise band in percent' }),
  alpha: Flags.string({ default: '0.05', description: 'significance level after Holm correction' }),
  'fail-on-regression': Flags.boolean({
    default: false,
    description: 'exit 4 when any metric is confirmed regressed: corrected p < alpha and the whole CI beyond its band',
  }),
};

/** `--noise-band`, `--alpha`, `--threshold` as compare options; UsageError (exit 2) when malformed. */
export function judgeOptions(flags: {
  threshold?: string[];
  'noise-band': string;
  alpha: string;
}): Pick<CompareOptions, 'alpha' | 'noiseBand' | 'thresholds'> {
  const noiseBand = Number(flags['noise-band']) / 100;
  const alpha = Number(flags.alpha);
  if (!(noiseBand >= 0)) throw new UsageError(`--noise-band ${flags['noise-band']}: expected a percentage`);
  if (!(alpha > 0 && alpha < 1)) throw new UsageError(`--alpha ${flags.alpha}: expected a number between 0 and 1`);
  return { alpha, noiseBand, thresholds: (flags.threshold ?? []).map(parseThreshold) };
}
