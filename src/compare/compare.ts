/**
 * The comparison engine: pairs metrics of a base run and each new run by case, name and
 * dimension labels, tests each pair, corrects across every test of every pair (one family),
 * and gives each a verdict that agrees with its own interval.
 * `run` measures, `compare` judges (style examples: Firecracker's A/B step).
 *
 * Verdict of one metric, in order (docs/compare.md):
 *  - not-comparable: the two sides measure in different units, disagree on `better`, or hold
 *    non-finite samples: never tested, outside the correction and the geomean;
 *  - too-few: a side has fewer than 2 samples, or fewer than the test needs to reach α/m
 *    even with complete separation (m = metrics compared over all pairs);
 *  - regressed / improved: Holm-adjusted Mann-Whitney p < α AND the whole 95 % bootstrap CI
 *    of the relative change lies beyond the noise band, on the metric's bad / good side;
 *  - unchanged: the whole CI lies inside the noise band (equivalence within the band);
 *  - inconclusive: anything else (the CI reaches across a band edge, or the test does not
 *    confirm what the CI shows).
 *
 * This file holds the judging; the model is ./model.ts, the bands ./thresholds.ts, the host facts
 * ./host-facts.ts and the pairing ./pairing.ts. It re-exports all of them, so that importers keep
 * one entry point.
 */
import { seededRng } from '../stats/random.js';
import { median } from '../stats/summary.js';
import { metricKey } from '../results/identity.js';
import { DETECT_POWER, detectableShift, robustCv } from './power.js';
import { replicatesToConfirm } from './confirm.js';
import { MIN_ROUNDS, hodgesLehmann } from './rounds.js';
import { bootstrapChangeCI, geometricMean, holm, mannWhitney, minimumP } from './stats.js';
import { compareConformance } from './conformance.js';
import {
  CI_LEVEL,
  COMPARE_SCHEMA,
  DEFAULT_ALPHA,
  DEFAULT_BOOTSTRAP,
  DEFAULT_SEED,
  IncomparableError,
  type CompareOptions,
  type Comparison,
  type Geomean,
  type LabelledResults,
  type MetricComparison,
  type MetricVerdict,
  type PairComparison,
  type PowerSummary,
} from './model.js';
import { preparePair, type Prepared } from './pairing.js';

export {
  CI_LEVEL,
  COMPARE_SCHEMA,
  DEFAULT_ALPHA,
  DEFAULT_BOOTSTRAP,
  DEFAULT_NOISE_BAND,
  DEFAULT_SEED,
  IncomparableError,
  MIN_SAMPLES_PER_SIDE,
  VERDICTS,
  type CompareOptions,
  type Comparison,
  type FactRow,
  type Forced,
  type Geomean,
  type HostRelation,
  type LabelledResults,
  type MetricComparison,
  type MetricSide,
  type MetricVerdict,
  type PairComparison,
  type PowerSummary,
  type Refusal,
  type Side,
  type VmDiff,
} from './model.js';
export { explicitThreshold, parseThreshold, thresholdFor } from './thresholds.js';
export { HARDWARE_FACTS, classifyHosts, factRows } from './host-facts.js';
export { executionsClash, vmDifferences } from './pairing.js';
export { MEASURED_LABEL, identityLabels, metricKey } from '../results/identity.js';

/**
 * What a metric measures, for counting it once: an exit test publishes the same samples as
 * `<test>.latency` in ns and `<test>.ticks` in TSC ticks; both map to one measurement.
 */
export function measurementKey(m: Pick<MetricComparison, 'caseId' | 'name' | 'labels' | 'unit'>): string {
  const stem =
    m.unit === 'ns' && m.name.endsWith('.latency')
      ? m.name.slice(0, -'.latency'.length)
      : m.unit === 'tsc_ticks' && m.name.endsWith('.ticks')
        ? m.name.slice(0, -'.ticks'.length)
        : undefined;
  const key = metricKey(m.caseId, { name: stem === undefined ? m.name : `${stem}.*`, labels: m.labels });
  return stem === undefined ? `metric:${key}` : `time:${key}`;
}

/** Smallest equal n per side (at least 2, for an interval) whose best achievable exact p-value is below alpha / m. */
export function samplesNeededForAnyVerdict(metricsTested: number, alpha = DEFAULT_ALPHA): number {
  const target = alpha / Math.max(1, metricsTested);
  let n = 2;
  while (minimumP(n, n) > target && n < 1000) n++;
  return n;
}

/** Forced rows are refused unless --force: one error naming the first few. */
function guardForced(prepared: readonly Prepared[], force: boolean | undefined): void {
  if (force) return;
  for (const kind of ['accelerator', 'execution'] as const) {
    const hits = prepared.flatMap((p) => p.pair.metrics.filter((r) => r.forced.includes(kind)).map((r) => ({ p: p.pair, r })));
    if (hits.length === 0) continue;
    const { p, r } = hits[0]!;
    const what =
      kind === 'accelerator'
        ? `${r.base.accelerator} in ${p.base.label}, ${r.new.accelerator} in ${p.new.label}`
        : `${r.base.execution} execution in ${p.base.label}, ${r.new.execution} in ${p.new.label}`;
    const more = hits.length > 1 ? ` (and ${hits.length - 1} more metric${hits.length > 2 ? 's' : ''})` : '';
    const why =
      kind === 'accelerator'
        ? 'emulation and hardware figures are not comparable'
        : 'figures of different execution modes measure different things and are not comparable';
    throw new IncomparableError(`${r.key}: ${what}${more}: ${why}`);
  }
}

/** Verdict of a tested row from its Holm-adjusted p-value and its interval. */
export function judge(
  r: Pick<MetricComparison, 'pAdjusted' | 'ci' | 'threshold' | 'better'>,
  alpha: number,
): { verdict: MetricVerdict; note?: string } {
  const [lo, hi] = r.ci;
  const t = r.threshold;
  const significant = r.pAdjusted < alpha;
  const above = lo > t; // the whole interval above the band
  const below = hi < -t; // the whole interval below the band
  if (significant && (above || below)) return { verdict: above === (r.better === 'lower') ? 'regressed' : 'improved' };
  if (lo >= -t && hi <= t)
    return significant ? { verdict: 'unchanged', note: 'significant but within the noise band' } : { verdict: 'unchanged' };
  if (above || below)
    return {
      verdict: 'inconclusive',
      note: 'the interval lies beyond the noise band but the test does not confirm it after correction',
    };
  if (significant) return { verdict: 'inconclusive', note: 'significant, but the interval reaches into the noise band' };
  return { verdict: 'inconclusive' };
}

function geomeanOf(rows: readonly MetricComparison[]): Geomean {
  const tested = rows.filter((r) => r.verdict !== 'too-few' && r.verdict !== 'not-comparable');
  // One row per measurement; ns before tsc_ticks so the ns one is kept.
  const ordered = [...tested].sort((x, y) => Number(y.unit === 'ns') - Number(x.unit === 'ns'));
  const seen = new Set<string>();
  const unique = ordered.filter((r) => {
    const k = measurementKey(r);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  const positive = unique.filter((r) => r.base.median > 0 && r.new.median > 0);
  const ratios = positive.map((r) => (r.better === 'lower' ? r.new.median / r.base.median : r.base.median / r.new.median));
  return {
    costRatio: geometricMean(ratios),
    rows: positive.length,
    excludedNonPositive: unique.length - positive.length,
    excludedDuplicate: tested.length - unique.length,
  };
}

function powerOf(rows: readonly MetricComparison[], family: number): PowerSummary {
  const withShift = rows.filter((r) => r.detectable !== undefined && r.cv !== undefined);
  const shifts = withShift.map((r) => r.detectable!);
  const byRound = withShift.filter((r) => r.replicate === 'round');
  const ns = withShift.flatMap((r) => (r.replicate === 'round' ? [r.base.rounds!, r.new.rounds!] : [r.base.n, r.new.n]));
  return {
    power: DETECT_POWER,
    family,
    rows: withShift.length,
    n: ns.length ? [Math.min(...ns), Math.max(...ns)] : [0, 0],
    unit: byRound.length === 0 ? 'samples' : byRound.length === withShift.length ? 'rounds' : 'mixed',
    cv: withShift.length ? median(withShift.map((r) => r.cv!)) : Number.NaN,
    shift: shifts.length ? median(shifts) : Number.NaN,
    range: shifts.length ? [Math.min(...shifts), Math.max(...shifts)] : [Number.NaN, Number.NaN],
  };
}

/**
 * Compares the first run against each of the others. One family for the correction: every
 * metric tested in any pair, so several NEW runs do not multiply the false-positive rate.
 */
export function compareRuns(runs: readonly LabelledResults[], opts: CompareOptions = {}): Comparison {
  if (runs.length < 2) throw new IncomparableError('compare needs at least two runs: BASE and NEW');
  const alpha = opts.alpha ?? DEFAULT_ALPHA;
  const seed = opts.seed ?? DEFAULT_SEED;
  const bootstrap = opts.bootstrap ?? DEFAULT_BOOTSTRAP;
  const [base, ...others] = runs;
  const prepared = others.map((o) => preparePair(base!, o, opts));
  guardForced(prepared, opts.force);
  prepared.forEach((p, i) => {
    const conformance = compareConformance(base!.results, others[i]!.results);
    if (conformance) p.pair.conformance = conformance;
  });

  const all = prepared.flatMap((p) => p.rows).filter((x) => x.row.verdict !== 'not-comparable');
  const compared = all.length;
  const needed = samplesNeededForAnyVerdict(compared, alpha);
  const tested: MetricComparison[] = [];
  const samplesOf = new Map<MetricComparison, [number[], number[]]>();
  for (const { row, a: sa, b: sb, ra, rb } of all) {
    // Guest against guest: the round medians are the replicates (src/compare/rounds.ts).
    const byRound = ra !== undefined && rb !== undefined;
    const [a, b] = byRound ? [ra, rb] : [sa, sb];
    row.replicate = byRound ? 'round' : 'sample';
    let ci = a.length >= 2 && b.length >= 2;
    if (byRound) {
      const hl = hodgesLehmann(a, b, CI_LEVEL);
      row.change = hl.change;
      row.ci = hl.ci;
      ci = Number.isFinite(hl.ci[0]);
      if (!ci)
        row.notes.push(`interval undefined: ${a.length} vs ${b.length} rounds cannot reach ${Math.round(CI_LEVEL * 100)} %`);
    } else if (ci) row.ci = bootstrapChangeCI(a, b, seededRng(`${seed}:${row.key}`), bootstrap, CI_LEVEL);
    else row.notes.push('interval undefined below 2 samples a side');
    if (!ci || minimumP(a.length, b.length) > alpha / Math.max(1, compared)) {
      row.verdict = 'too-few';
      row.needed = needed;
      continue;
    }
    // Beyond the exact limit with ties: Monte Carlo, seeded per metric like the bootstrap, precise where the family's thresholds need it.
    const t = mannWhitney(a, b, { mc: { rng: seededRng(`${seed}:mc:${row.key}`), family: compared, alpha } });
    row.p = t.p;
    row.test = t.method;
    if (t.permutations !== undefined) row.permutations = t.permutations;
    tested.push(row);
    samplesOf.set(row, [a, b]);
  }
  const adj = holm(tested.map((r) => r.p));
  tested.forEach((r, i) => {
    r.pAdjusted = adj[i]!;
    const j = judge(r, alpha);
    // Drift between identical runs not known: a difference of these two runs is not a change of what they measure.
    r.verdict = r.windowsUnbounded && j.verdict !== 'inconclusive' ? 'inconclusive' : j.verdict;
    if (j.note) r.notes.push(j.note);
  });
  // What each tested row could have confirmed, with the family as it came out.
  for (const r of tested) {
    const [a, b] = samplesOf.get(r)!;
    const cv = robustCv(a, b);
    if (!Number.isFinite(cv)) continue;
    r.cv = cv;
    r.detectable = detectableShift({
      n1: a.length,
      n2: b.length,
      cv,
      family: tested.length,
      alpha,
      noiseBand: r.threshold,
      ciLevel: CI_LEVEL,
    });
    if (r.verdict === 'inconclusive' && !r.windowsUnbounded) {
      const n = replicatesToConfirm({
        change: r.change,
        cv,
        family: tested.length,
        alpha,
        noiseBand: r.threshold,
        ciLevel: CI_LEVEL,
        hint: { n: Math.min(a.length, b.length), detectable: r.detectable },
      });
      const unit = r.replicate === 'round' ? 'rounds' : 'samples';
      if (n !== undefined) {
        r.toConfirm = n;
        r.notes.push(
          `about ${n} ${unit} a side (now ${a.length} and ${b.length}) would confirm a change of ${(r.change * 100).toFixed(1)} % at ${Math.round(DETECT_POWER * 100)} % power${unit === 'samples' ? ' (or --precision to sample until the interval is narrow)' : ''}`,
        );
      } else if (Math.abs(r.change) <= r.threshold) {
        r.notes.push(
          `the change seen (${(r.change * 100).toFixed(1)} %) is inside the noise band: more ${unit} can make it unchanged, never regressed`,
        );
      }
    }
  }
  for (const { pair } of prepared) {
    if (
      pair.metrics.some(
        (r) => r.replicate === 'sample' && !r.perGuest && r.base.rounds === undefined && r.new.rounds === undefined,
      )
    ) {
      pair.warnings.push(
        `${pair.base.label} and ${pair.new.label} ran each case in one guest: its samples are tested as if independent, which leaves out how much guests differ from each other; ` +
          `for a verdict guest against guest, run both with --rounds ${MIN_ROUNDS} or more (kvmbench ab does by default)`,
      );
    }
    const held = pair.metrics.filter((r) => r.windowsUnbounded !== undefined);
    if (held.length) {
      pair.warnings.push(
        `${held.length} row${held.length > 1 ? 's are' : ' is'} windows of one job (fio or iperf3 intervals) with fewer than ${MIN_ROUNDS} rounds a side: ` +
          `their samples show how these two runs differ, not how far identical runs drift (${held[0]!.windowsUnbounded}), so they stay inconclusive; ` +
          `for verdicts run both with --rounds ${Math.max(MIN_ROUNDS, needed)} or more (${compared} rows compared), or give --threshold ROW=PCT with the drift you know for a row`,
      );
    }
    for (const r of pair.metrics) pair.counts[r.verdict]++;
    pair.geomean = geomeanOf(pair.metrics);
    pair.power = powerOf(pair.metrics, tested.length);
  }
  const pairs = prepared.map((p) => p.pair);
  const byRound = tested.filter((r) => r.replicate === 'round').length;
  return {
    schema: COMPARE_SCHEMA,
    alpha,
    correction: 'holm',
    test: 'mann-whitney-u',
    replicates: byRound === 0 ? 'samples' : byRound === tested.length ? 'rounds' : 'mixed',
    seed,
    bootstrap,
    ciLevel: CI_LEVEL,
    compared,
    family: tested.length,
    pairs,
    regressions: pairs.reduce((s, p) => s + p.counts.regressed + (p.conformance?.regressions ?? 0), 0),
  };
}

/** One pair on its own (its family is its own metrics). */
export function comparePair(baseIn: LabelledResults, nextIn: LabelledResults, opts: CompareOptions = {}): PairComparison {
  return compareRuns([baseIn, nextIn], opts).pairs[0]!;
}
