/**
 * Adding rounds to a case until its round medians are known well enough (`run --rounds N
 * --precision P`). N is the fewest rounds; after each round from N on, the 95 % sign-test
 * interval of the median of the round medians of the case's headline metric is looked at, with
 * the same rule as samples (src/stats/precision.ts shouldStop) but from MIN_INTERVAL_REPLICATES
 * rounds on, and capped by `--max-rounds` and by `--max-time` for the case as a whole (all its
 * rounds, boots included). Pure functions: the runner asks, and attaches the record.
 */
import type { CaseResult, Metric } from '../results/model.js';
import { median } from '../stats/summary.js';
import { MIN_INTERVAL_REPLICATES, shouldStop, type Sampling } from '../stats/precision.js';
import { MAX_ROUNDS } from './rounds.js';

/** Default `--max-rounds` (ab's seven rounds, nearly three times over). */
export const DEFAULT_MAX_ROUNDS = 20;

export interface RoundsRule {
  precision: number;
  /** The rounds asked (`--rounds N`): the fewest. */
  minRounds: number;
  maxRounds: number;
  /** Wall time for the case as a whole, ms. */
  maxTimeMs?: number;
}

/** The metric rounds are judged on: the case's headline, else its first metric with samples. */
export function headlineMetric(result: CaseResult): Metric | undefined {
  return result.metrics.find((m) => m.headline && m.samples.length > 0) ?? result.metrics.find((m) => m.samples.length > 0);
}

/** The median of each round of `m` that has samples (its `rounds` sizes; the whole as one round without them). */
export function roundMediansOf(m: Metric): number[] {
  const sizes = m.rounds ?? [m.samples.length];
  const out: number[] = [];
  let at = 0;
  for (const n of sizes) {
    const xs = m.samples.slice(at, at + n).filter(Number.isFinite);
    at += n;
    if (xs.length) out.push(median(xs));
  }
  return out;
}

/**
 * After `rounds` rounds of a case (merged as `result`): undefined to run one more, else why it
 * stops. A case whose last round did not pass stops where it is (cut-short): more rounds would
 * repeat the failure, and what it measured is kept.
 */
export function roundsStop(result: CaseResult, rounds: number, elapsedMs: number, rule: RoundsRule): Sampling | undefined {
  const m = headlineMetric(result);
  const medians = m ? roundMediansOf(m) : [];
  const last = result.rounds?.[result.rounds.length - 1]?.status ?? result.status;
  const cap = Math.min(rule.maxRounds, MAX_ROUNDS);
  if (last !== 'pass' || !m)
    return {
      reason: 'cut-short',
      n: rounds,
      target: rule.precision,
      elapsedMs,
      note: `rounds stopped after ${rounds}: ${!m ? 'the case has no samples to judge' : `round ${rounds} ended ${last}`}`,
    };
  const s = shouldStop(medians, elapsedMs, {
    precision: rule.precision,
    maxSamples: cap,
    ...(rule.maxTimeMs !== undefined ? { maxTimeMs: rule.maxTimeMs } : {}),
    minSamples: rule.minRounds,
    floor: MIN_INTERVAL_REPLICATES,
    unit: 'rounds',
  });
  if (!s) return undefined;
  const note = `${s.note} (round medians of ${m.name})`;
  return s.reason === 'max-samples' ? { ...s, reason: 'max-rounds', n: rounds, note } : { ...s, n: rounds, note };
}
