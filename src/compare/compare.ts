/**
 * The comparison engine: pairs metrics of a base run and a new run by case, name and
 * labels, tests each pair, corrects across all of them, and gives each a verdict.
 * `run` measures, `compare` judges (style examples: Firecracker's A/B step).
 *
 * Verdict of one metric, in order:
 *  - too-few: a side has fewer samples than the test needs to reach significance at
 *    α/m even with complete separation (m = metrics tested): no verdict is possible;
 *  - regressed / improved: Holm-adjusted Mann-Whitney p < α AND the relative change of
 *    medians lies beyond the noise band (default 5 %), in the metric's bad/good direction;
 *  - unchanged (`~`): anything else.
 */
import type { HostFingerprint, Metric, Results } from '../results/model.js';
import { UsageError } from '../cli/errors.js';
import { flattenFacts } from '../report/common.js';
import { seededRng } from './random.js';
import { bootstrapChangeCI, geometricMean, holm, mannWhitney, minimumP, relativeChange } from './stats.js';
import { median } from '../stats/summary.js';

export const COMPARE_SCHEMA = 'kvmbench.compare/1';
export const DEFAULT_ALPHA = 0.05;
export const DEFAULT_NOISE_BAND = 0.05;
export const DEFAULT_BOOTSTRAP = 2000;
export const DEFAULT_SEED = 20260101;

/**
 * Samples per side that a quick run must carry so that a 30 % shift of a metric with
 * 10 % noise (lognormal, CV ≈ 0.1) is confirmed with at least 95 % probability under
 * this test (Mann-Whitney, two-sided), Holm across 50 metrics and α = 0.05.
 * Worked out by simulation in test/unit/compare/sample-size.test.ts (which fails if it
 * is not the smallest such number) and docs/compare.md.
 */
export const MIN_SAMPLES_PER_SIDE = 11;

export type MetricVerdict = 'improved' | 'regressed' | 'unchanged' | 'too-few';
export type HostRelation = 'same-host' | 'same-hardware' | 'different';

export interface Side {
  label: string;
  runId: string;
  suite: string;
  accelerator: string;
  state: string;
  host: HostFingerprint;
}

export interface FactRow {
  key: string;
  base?: string;
  new?: string;
  differs: boolean;
}

export interface MetricComparison {
  key: string;
  caseId: string;
  name: string;
  labels?: Record<string, string>;
  unit: string;
  better: 'lower' | 'higher';
  base: { n: number; median: number; accelerator: string };
  new: { n: number; median: number; accelerator: string };
  /** (new − base) / |base| of the medians. */
  change: number;
  /** 95 % bootstrap interval of `change`. */
  ci: [number, number];
  p: number;
  pAdjusted: number;
  test: 'exact' | 'normal' | 'none';
  /** Noise band as a fraction. */
  threshold: number;
  verdict: MetricVerdict;
  /** For too-few: samples per side needed for any verdict with this many metrics. */
  needed?: number;
  note?: string;
}

export interface PairComparison {
  base: Side;
  new: Side;
  hosts: { relation: HostRelation; rows: FactRow[] };
  metrics: MetricComparison[];
  onlyBase: string[];
  onlyNew: string[];
  /** Geometric mean over compared metrics of the cost ratio (new/base, inverted where higher is better): < 1 is better. */
  geomeanCostRatio: number;
  counts: Record<MetricVerdict, number>;
}

export interface Comparison {
  schema: typeof COMPARE_SCHEMA;
  alpha: number;
  correction: 'holm';
  test: 'mann-whitney-u';
  seed: number;
  bootstrap: number;
  pairs: PairComparison[];
  /** Confirmed regressions across all pairs. */
  regressions: number;
}

export interface CompareOptions {
  alpha?: number;
  /** Default noise band, a fraction (0.05 = 5 %). */
  noiseBand?: number;
  /** Per-metric bands: pattern (metric name, full key, or glob with `*`) → fraction. */
  thresholds?: ReadonlyArray<[string, number]>;
  seed?: number;
  bootstrap?: number;
  /** Compare kvm with tcg anyway. */
  force?: boolean;
}

export interface LabelledResults {
  label: string;
  results: Results;
}

/** Thrown when the runs must not be compared; the command maps it to exit 2. */
export class IncomparableError extends Error {}

/** Stable identity of a metric across runs: case id, metric name and its labels. */
export function metricKey(caseId: string, m: Pick<Metric, 'name' | 'labels'>): string {
  const l = m.labels ?? {};
  const lab = Object.keys(l)
    .sort()
    .map((k) => `${k}=${l[k]}`)
    .join(',');
  return `${caseId}/${m.name}${lab ? `{${lab}}` : ''}`;
}

/** `name=pct` → [name, fraction]; pct may carry a `%`. */
export function parseThreshold(s: string): [string, number] {
  const m = /^(.+)=\s*([0-9]*\.?[0-9]+)\s*%?$/.exec(s);
  if (!m) throw new UsageError(`--threshold ${s}: expected NAME=PCT, e.g. cpuid.latency=10`);
  const pct = Number(m[2]);
  if (!(pct >= 0 && pct < 1000)) throw new UsageError(`--threshold ${s}: percentage out of range`);
  return [m[1]!.trim(), pct / 100];
}

function globToRegExp(glob: string): RegExp {
  return new RegExp('^' + glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*') + '$');
}

/** Later patterns win, so a specific override can follow a broad one. */
export function thresholdFor(key: string, name: string, opts: CompareOptions): number {
  let band = opts.noiseBand ?? DEFAULT_NOISE_BAND;
  for (const [pat, v] of opts.thresholds ?? []) {
    if (pat === name || pat === key || (pat.includes('*') && (globToRegExp(pat).test(key) || globToRegExp(pat).test(name)))) band = v;
  }
  return band;
}

/** The facts that make two machines the same hardware (hostname aside). */
export const HARDWARE_FACTS = ['cpuModel', 'cpuVendor', 'cpuFamily', 'cpuModelNumber', 'cpuStepping', 'cores', 'threads', 'memTotalKiB'] as const;

export function classifyHosts(a: HostFingerprint, b: HostFingerprint): HostRelation {
  if (!a.cpuModel || !b.cpuModel) return 'different';
  for (const k of HARDWARE_FACTS) {
    if (a[k] !== undefined && b[k] !== undefined && a[k] !== b[k]) return 'different';
  }
  if (a.hostname && a.hostname === b.hostname) return 'same-host';
  return 'same-hardware';
}

export function factRows(a: HostFingerprint, b: HostFingerprint): FactRow[] {
  const fa = flattenFacts(a as Record<string, unknown>);
  const fb = flattenFacts(b as Record<string, unknown>);
  const keys = [...new Set([...fa.keys(), ...fb.keys()])];
  return keys.map((key) => ({ key, base: fa.get(key), new: fb.get(key), differs: fa.get(key) !== fb.get(key) }));
}

function side(x: LabelledResults): Side {
  const r = x.results;
  return { label: x.label, runId: r.run.id, suite: r.run.suite, accelerator: r.run.accelerator, state: r.run.state, host: r.host };
}

interface Located {
  caseId: string;
  m: Metric;
}

function indexMetrics(r: Results): Map<string, Located> {
  const out = new Map<string, Located>();
  for (const c of r.cases) {
    if (c.status === 'skip') continue;
    for (const m of c.metrics) out.set(metricKey(c.id, m), { caseId: c.id, m });
  }
  return out;
}

/** Smallest equal n per side whose best achievable exact p-value is below alpha / m. */
export function samplesNeededForAnyVerdict(metricsTested: number, alpha = DEFAULT_ALPHA): number {
  const target = alpha / Math.max(1, metricsTested);
  let n = 2;
  while (minimumP(n, n) > target && n < 1000) n++;
  return n;
}

function acceleratorsClash(a: string, b: string): boolean {
  return (a === 'kvm' && b === 'tcg') || (a === 'tcg' && b === 'kvm');
}

export function comparePair(baseIn: LabelledResults, nextIn: LabelledResults, opts: CompareOptions = {}): PairComparison {
  const alpha = opts.alpha ?? DEFAULT_ALPHA;
  const seed = opts.seed ?? DEFAULT_SEED;
  const bootstrap = opts.bootstrap ?? DEFAULT_BOOTSTRAP;
  const base = side(baseIn);
  const next = side(nextIn);
  if (!opts.force && acceleratorsClash(base.accelerator, next.accelerator)) {
    throw new IncomparableError(`${base.label} ran on ${base.accelerator} and ${next.label} on ${next.accelerator}: emulation and hardware figures are not comparable`);
  }
  const ia = indexMetrics(baseIn.results);
  const ib = indexMetrics(nextIn.results);
  const both = [...ia.keys()].filter((k) => ib.has(k));
  const onlyBase = [...ia.keys()].filter((k) => !ib.has(k));
  const onlyNew = [...ib.keys()].filter((k) => !ia.has(k));

  const needed = samplesNeededForAnyVerdict(both.length, alpha);
  const rows: MetricComparison[] = [];
  for (const key of both) {
    const a = ia.get(key)!;
    const b = ib.get(key)!;
    const sa = a.m.samples.filter(Number.isFinite);
    const sb = b.m.samples.filter(Number.isFinite);
    const ma = median(sa);
    const mb = median(sb);
    const row: MetricComparison = {
      key,
      caseId: a.caseId,
      name: a.m.name,
      labels: a.m.labels,
      unit: a.m.unit,
      better: a.m.better,
      base: { n: sa.length, median: ma, accelerator: a.m.accelerator },
      new: { n: sb.length, median: mb, accelerator: b.m.accelerator },
      change: relativeChange(ma, mb),
      ci: [Number.NaN, Number.NaN],
      p: 1,
      pAdjusted: 1,
      test: 'none',
      threshold: thresholdFor(key, a.m.name, opts),
      verdict: 'unchanged',
    };
    if (a.m.unit !== b.m.unit) row.note = `unit differs: ${a.m.unit} vs ${b.m.unit}`;
    if (acceleratorsClash(a.m.accelerator, b.m.accelerator)) row.note = `accelerators differ: ${a.m.accelerator} vs ${b.m.accelerator}`;
    if (minimumP(sa.length, sb.length) > alpha / Math.max(1, both.length)) {
      row.verdict = 'too-few';
      row.needed = needed;
      if (sa.length > 0 && sb.length > 0) row.ci = bootstrapChangeCI(sa, sb, seededRng(`${seed}:${key}`), bootstrap);
    } else {
      const t = mannWhitney(sa, sb);
      row.p = t.p;
      row.test = t.method;
      row.ci = bootstrapChangeCI(sa, sb, seededRng(`${seed}:${key}`), bootstrap);
    }
    rows.push(row);
  }
  // Holm over every metric that was tested: the family is all metrics compared in this pair.
  const tested = rows.filter((r) => r.verdict !== 'too-few');
  const adj = holm(tested.map((r) => r.p));
  tested.forEach((r, i) => {
    r.pAdjusted = adj[i]!;
    if (r.note?.startsWith('unit differs')) return; // medians in different units say nothing
    const worse = r.better === 'lower' ? r.change > 0 : r.change < 0;
    if (r.pAdjusted < alpha && Math.abs(r.change) > r.threshold) r.verdict = worse ? 'regressed' : 'improved';
    else if (r.pAdjusted < alpha) r.note = r.note ?? 'significant but within the noise band';
  });
  const counts: Record<MetricVerdict, number> = { improved: 0, regressed: 0, unchanged: 0, 'too-few': 0 };
  for (const r of rows) counts[r.verdict]++;
  const ratios = rows
    .filter((r) => r.base.median > 0 && r.new.median > 0)
    .map((r) => (r.better === 'lower' ? r.new.median / r.base.median : r.base.median / r.new.median));
  return {
    base,
    new: next,
    hosts: { relation: classifyHosts(base.host, next.host), rows: factRows(base.host, next.host) },
    metrics: rows,
    onlyBase,
    onlyNew,
    geomeanCostRatio: geometricMean(ratios),
    counts,
  };
}

/** Compares the first run against each of the others. */
export function compareRuns(runs: readonly LabelledResults[], opts: CompareOptions = {}): Comparison {
  if (runs.length < 2) throw new IncomparableError('compare needs at least two runs: BASE and NEW');
  const [base, ...others] = runs;
  const pairs = others.map((o) => comparePair(base!, o, opts));
  return {
    schema: COMPARE_SCHEMA,
    alpha: opts.alpha ?? DEFAULT_ALPHA,
    correction: 'holm',
    test: 'mann-whitney-u',
    seed: opts.seed ?? DEFAULT_SEED,
    bootstrap: opts.bootstrap ?? DEFAULT_BOOTSTRAP,
    pairs,
    regressions: pairs.reduce((s, p) => s + p.counts.regressed, 0),
  };
}
