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
 */
import type { CaseResult, ExecutionMode, HostFingerprint, Metric, Results } from '../results/model.js';
import { UsageError } from '../errors.js';
import { flattenFacts } from '../results/flatten.js';
import { globToRegExp, isGlob } from '../glob.js';
import { identityLabels, metricKey } from '../results/identity.js';
import { DETECT_POWER, detectableShift, robustCv } from './power.js';
import { seededRng } from '../stats/random.js';
import { replicatesToConfirm } from './confirm.js';
import { MIN_ROUNDS, hodgesLehmann, roundMedians } from './rounds.js';
import { bootstrapChangeCI, geometricMean, holm, mannWhitney, minimumP, relativeChange } from './stats.js';
import { median } from '../stats/summary.js';
import { compareConformance, type ConformanceComparison } from './conformance.js';

export const COMPARE_SCHEMA = 'kvmbench.compare/3';
export const DEFAULT_ALPHA = 0.05;
export const DEFAULT_NOISE_BAND = 0.05;
export const DEFAULT_BOOTSTRAP = 2000;
export const DEFAULT_SEED = 20260101;
/** Level of the bootstrap interval the verdicts are checked against. */
export const CI_LEVEL = 0.95;

/**
 * Samples per side that a quick run must carry so that a 30 % shift of a metric with
 * 10 % noise (lognormal, CV ≈ 0.1) is confirmed with at least 95 % probability under
 * this test (Mann-Whitney, two-sided), Holm across 50 metrics and α = 0.05.
 * Worked out by simulation in test/unit/compare/sample-size.test.ts (which fails if it
 * is not the smallest such number) and docs/compare.md.
 */
export const MIN_SAMPLES_PER_SIDE = 11;

export const VERDICTS = ['regressed', 'improved', 'unchanged', 'inconclusive', 'too-few', 'not-comparable'] as const;
export type MetricVerdict = (typeof VERDICTS)[number];
export type HostRelation = 'same-host' | 'same-hardware' | 'different';
/** Why a row is not compared at all (verdict not-comparable); no flag overrides these. */
export type Refusal = 'unit' | 'better' | 'non-finite';
/** Guards that `--force` overrode for a row. */
export type Forced = 'accelerator' | 'execution';

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

export interface MetricSide {
  /** Finite samples (all of them unless the row is refused for non-finite ones). */
  n: number;
  median: number;
  unit: string;
  better: 'lower' | 'higher';
  accelerator: string;
  /** How the guest code ran (metric's or case's execution mode), when recorded. */
  execution?: ExecutionMode;
  /** NaN or ±Infinity samples. */
  nonFinite: number;
  /** Rounds (fresh guests) the samples came from, when the run had --rounds > 1. */
  rounds?: number;
}

export interface MetricComparison {
  key: string;
  caseId: string;
  name: string;
  /** The identity labels (measured-value labels left out: see identityLabels). */
  labels?: Record<string, string>;
  /** Unit of the base side (the new side's is in `new.unit`). */
  unit: string;
  better: 'lower' | 'higher';
  base: MetricSide;
  new: MetricSide;
  /** (new − base) / |base| of the medians; NaN when the row is not comparable. */
  change: number;
  /** 95 % bootstrap interval of `change`; NaN when a side has fewer than 2 samples. */
  ci: [number, number];
  p: number;
  pAdjusted: number;
  /**
   * Mann-Whitney on the replicates (samples, or round medians): exact (n ≤ 30 a side),
   * monte-carlo (beyond, with ties: seeded), normal (beyond, no ties); none (not tested).
   */
  test: 'exact' | 'normal' | 'monte-carlo' | 'none';
  /**
   * What the test treats as independent replicates: the samples, or the rounds (fresh guests:
   * both sides ≥ MIN_ROUNDS rounds, src/compare/rounds.ts). With rounds, `change` is the
   * Hodges–Lehmann shift of the log round medians and `ci` its Mann-Whitney-inverted interval.
   */
  replicate?: 'sample' | 'round';
  /** Both sides' samples are each a guest of its own (boot figures): sample-level testing is right for them. */
  perGuest?: boolean;
  /**
   * Windows of one job with fewer than 3 rounds a side and no --threshold for the row
   * (Metric.windows): tested and shown, but held at inconclusive; the metric's `windows.basis`.
   */
  windowsUnbounded?: string;
  /** Random splits behind a monte-carlo p-value. */
  permutations?: number;
  /** Tested rows: the noise of the samples as a coefficient of variation (robust, pooled: robustCv). */
  cv?: number;
  /**
   * Tested rows: the smallest slowdown (a fraction) this comparison would call regressed with
   * probability DETECT_POWER, given the row's samples, measured noise, band and the family (detectableShift).
   */
  detectable?: number;
  /**
   * Inconclusive rows: replicates a side (samples, or rounds when `replicate` is round) that
   * would confirm the observed change at DETECT_POWER with this noise and family (src/compare/confirm.ts).
   */
  toConfirm?: number;
  /** Noise band as a fraction. */
  threshold: number;
  verdict: MetricVerdict;
  /** For too-few: samples per side needed for any verdict with this many metrics. */
  needed?: number;
  /** Why the row is not-comparable; empty otherwise. Guards test this, never the notes. */
  refused: Refusal[];
  /** Guards overridden by --force for this row (its notes say what differs). */
  forced: Forced[];
  /** Keys of the case's VM configuration (`vm`) that differ between the two runs. */
  vmDiffers: string[];
  /** Human-readable remarks, in the order they arose; none overwrites another. */
  notes: string[];
}

/** One VM configuration key that differs between the two runs of a case. */
export interface VmDiff {
  caseId: string;
  key: string;
  base?: string;
  new?: string;
}

export interface Geomean {
  /** Geometric mean of the cost ratio (new/base, inverted where higher is better): < 1 is better. NaN if no row went in. */
  costRatio: number;
  /** Rows that went in: tested (not too-few, not not-comparable), one per measured quantity, medians > 0. */
  rows: number;
  /** Tested rows left out because a median is ≤ 0 (a ratio of those means nothing). */
  excludedNonPositive: number;
  /** Tested rows left out because another row publishes the same measurement (`.ticks` beside `.latency`). */
  excludedDuplicate: number;
}

/**
 * What the pair could have seen: the smallest shift it would confirm at DETECT_POWER, from the
 * tested rows' own sample counts and measured noise and the size of the Holm family.
 */
export interface PowerSummary {
  /** The power the shifts are stated at (0.9). */
  power: number;
  /** Tests in the Holm family (every tested metric of every pair). */
  family: number;
  /** Tested rows of this pair with a measurable noise level (the ones summarised). */
  rows: number;
  /** Fewest and most samples a side among them (rounds, for rows tested round against round). */
  n: [number, number];
  /** What `n` counts: samples, rounds, or both when the pair mixes the two. */
  unit: 'samples' | 'rounds' | 'mixed';
  /** Median of their CVs. */
  cv: number;
  /** Median of their detectable shifts (a fraction: 0.25 = 25 % slower); NaN when no row. */
  shift: number;
  /** Smallest and largest detectable shift among them. */
  range: [number, number];
}

export interface PairComparison {
  base: Side;
  new: Side;
  hosts: { relation: HostRelation; rows: FactRow[] };
  metrics: MetricComparison[];
  onlyBase: string[];
  onlyNew: string[];
  /** VM configuration keys that differ, per case present in both runs with a `vm` record. */
  vmDiffs: VmDiff[];
  /**
   * Problems with the input that did not stop the comparison: a metric key met twice in a run,
   * samples of one guest a side tested as if independent (no --rounds).
   */
  warnings: string[];
  geomean: Geomean;
  /** The smallest shift this pair could confirm at 90 % power (see PowerSummary). */
  power: PowerSummary;
  counts: Record<MetricVerdict, number>;
  /** Conformance tests (kvm-unit-tests stanzas) by verdict, when either run has them (./conformance.ts). */
  conformance?: ConformanceComparison;
}

export interface Comparison {
  schema: typeof COMPARE_SCHEMA;
  alpha: number;
  correction: 'holm';
  test: 'mann-whitney-u';
  /** What the rows' tests treat as replicates: samples, round medians, or each its own (per row: `replicate`). */
  replicates: 'samples' | 'rounds' | 'mixed';
  seed: number;
  bootstrap: number;
  ciLevel: number;
  /** Metrics compared over all pairs (m of the too-few rule). */
  compared: number;
  /** Tests in the Holm family: every tested metric of every pair. */
  family: number;
  pairs: PairComparison[];
  /** Confirmed regressions across all pairs: metrics, and conformance tests that went from pass to fail. */
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
  /** Compare different accelerators (kvm vs tcg) or execution modes (native vs emulated) anyway. Never different units. */
  force?: boolean;
}

export interface LabelledResults {
  label: string;
  results: Results;
}

/** Thrown when the runs must not be compared; the command maps it to exit 2. */
export class IncomparableError extends Error {}

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

/** `name=pct` → [name, fraction]; pct may carry a `%`. */
export function parseThreshold(s: string): [string, number] {
  const m = /^(.+)=\s*([0-9]*\.?[0-9]+)\s*%?$/.exec(s);
  if (!m) throw new UsageError(`--threshold ${s}: expected NAME=PCT, e.g. cpuid.latency=10`);
  const pct = Number(m[2]);
  if (!(pct >= 0 && pct < 1000)) throw new UsageError(`--threshold ${s}: percentage out of range`);
  return [m[1]!.trim(), pct / 100];
}

/**
 * Later patterns win, so a specific override can follow a broad one. A pattern is a metric name,
 * a full key, or a glob (src/glob.ts: `*` stops at `/`, `**` crosses it) matched against either.
 */
export function thresholdFor(key: string, name: string, opts: CompareOptions): number {
  return explicitThreshold(key, name, opts) ?? opts.noiseBand ?? DEFAULT_NOISE_BAND;
}

/** The facts that make two machines the same hardware (hostname aside). */
export const HARDWARE_FACTS = [
  'cpuModel',
  'cpuVendor',
  'cpuFamily',
  'cpuModelNumber',
  'cpuStepping',
  'cores',
  'threads',
  'memTotalKiB',
] as const;

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
  return {
    label: x.label,
    runId: r.run.id,
    suite: r.run.suite,
    accelerator: r.run.accelerator,
    state: r.run.state,
    host: r.host,
  };
}

interface Located {
  c: CaseResult;
  m: Metric;
}

/** Metrics by key; a key met twice keeps its first metric and is reported in `duplicates`. */
function indexMetrics(r: Results): { byKey: Map<string, Located>; duplicates: string[] } {
  const byKey = new Map<string, Located>();
  const duplicates: string[] = [];
  for (const c of r.cases) {
    if (c.status === 'skip') continue;
    for (const m of c.metrics) {
      const key = metricKey(c.id, m);
      if (byKey.has(key)) duplicates.push(key);
      else byKey.set(key, { c, m });
    }
  }
  return { byKey, duplicates };
}

/** Smallest equal n per side (at least 2, for an interval) whose best achievable exact p-value is below alpha / m. */
export function samplesNeededForAnyVerdict(metricsTested: number, alpha = DEFAULT_ALPHA): number {
  const target = alpha / Math.max(1, metricsTested);
  let n = 2;
  while (minimumP(n, n) > target && n < 1000) n++;
  return n;
}

function acceleratorsClash(a: string, b: string): boolean {
  return (a === 'kvm' && b === 'tcg') || (a === 'tcg' && b === 'kvm');
}

const KNOWN_EXECUTION = new Set<string>(['native', 'emulated', 'tcg']);

/** Both modes measured and different (native against emulated...); unknown or absent never clashes. */
export function executionsClash(a: ExecutionMode | undefined, b: ExecutionMode | undefined): boolean {
  return a !== undefined && b !== undefined && KNOWN_EXECUTION.has(a) && KNOWN_EXECUTION.has(b) && a !== b;
}

/** VM configuration keys that differ between two runs of a case; nothing when either has no record. */
export function vmDifferences(a: CaseResult, b: CaseResult): VmDiff[] {
  if (!a.vm || !b.vm) return [];
  const keys = [...new Set([...Object.keys(a.vm), ...Object.keys(b.vm)])].sort();
  return keys.filter((k) => a.vm![k] !== b.vm![k]).map((k) => ({ caseId: a.id, key: k, base: a.vm![k], new: b.vm![k] }));
}

function metricSide(l: Located): { side: MetricSide; finite: number[]; roundMedians?: number[] } {
  const finite = l.m.samples.filter(Number.isFinite);
  const rm =
    l.m.rounds && l.m.rounds.reduce((s, n) => s + n, 0) === l.m.samples.length
      ? roundMedians(l.m.samples, l.m.rounds)
      : undefined;
  return {
    finite,
    ...(rm ? { roundMedians: rm } : {}),
    side: {
      ...(rm ? { rounds: rm.length } : {}),
      n: finite.length,
      median: median(finite),
      unit: l.m.unit,
      better: l.m.better,
      accelerator: l.m.accelerator,
      execution: l.m.execution ?? l.c.execution?.mode,
      nonFinite: l.m.samples.length - finite.length,
    },
  };
}

interface Prepared {
  pair: PairComparison;
  rows: Array<{ row: MetricComparison; a: number[]; b: number[]; ra?: number[]; rb?: number[] }>;
}

/** Pairs the metrics of two runs and fills everything that needs no test. */
function preparePair(baseIn: LabelledResults, nextIn: LabelledResults, opts: CompareOptions): Prepared {
  const base = side(baseIn);
  const next = side(nextIn);
  const layerA = baseIn.results.run.layer ?? 1,
    layerB = nextIn.results.run.layer ?? 1;
  // Not even --force: a layer-2 figure includes the outer hypervisor's share of every exit, so a
  // difference says nothing about either run. `run --nested --beside` sets the layers side by side.
  if (layerA !== layerB) {
    throw new IncomparableError(
      `${base.label} ran its guests at layer ${layerA} and ${next.label} at layer ${layerB} (nested): figures of different layers are not comparable; \`kvmbench run exits --nested --beside\` measures both and gives their ratio`,
    );
  }
  if (!opts.force && acceleratorsClash(base.accelerator, next.accelerator)) {
    throw new IncomparableError(
      `${base.label} ran on ${base.accelerator} and ${next.label} on ${next.accelerator}: emulation and hardware figures are not comparable`,
    );
  }
  const { byKey: ia, duplicates: da } = indexMetrics(baseIn.results);
  const { byKey: ib, duplicates: db } = indexMetrics(nextIn.results);
  const warnings = [
    ...[...new Set(da)].map((k) => `${base.label} has more than one metric ${k}: the first is compared`),
    ...[...new Set(db)].map((k) => `${next.label} has more than one metric ${k}: the first is compared`),
  ];
  const both = [...ia.keys()].filter((k) => ib.has(k));
  const onlyBase = [...ia.keys()].filter((k) => !ib.has(k));
  const onlyNew = [...ib.keys()].filter((k) => !ia.has(k));

  const vmDiffs: VmDiff[] = [];
  const vmByCase = new Map<string, string[]>();
  const rows: Prepared['rows'] = [];
  for (const key of both) {
    const a = ia.get(key)!;
    const b = ib.get(key)!;
    if (!vmByCase.has(a.c.id)) {
      const d = vmDifferences(a.c, b.c);
      vmDiffs.push(...d);
      vmByCase.set(
        a.c.id,
        d.map((x) => x.key),
      );
    }
    const sa = metricSide(a);
    const sb = metricSide(b);
    const row: MetricComparison = {
      key,
      caseId: a.c.id,
      name: a.m.name,
      labels: identityLabels(a.m.labels),
      unit: a.m.unit,
      better: a.m.better,
      base: sa.side,
      new: sb.side,
      change: relativeChange(sa.side.median, sb.side.median),
      ci: [Number.NaN, Number.NaN],
      p: 1,
      pAdjusted: 1,
      test: 'none',
      threshold: thresholdFor(key, a.m.name, opts),
      verdict: 'unchanged',
      refused: [],
      forced: [],
      vmDiffers: vmByCase.get(a.c.id)!,
      notes: [],
    };
    if (a.m.unit !== b.m.unit) {
      row.refused.push('unit');
      row.notes.push(`unit differs: ${a.m.unit} vs ${b.m.unit}`);
    }
    if (a.m.better !== b.m.better) {
      row.refused.push('better');
      row.notes.push(`better differs: ${a.m.better} vs ${b.m.better}`);
    }
    if (sa.side.nonFinite || sb.side.nonFinite) {
      row.refused.push('non-finite');
      const which = [
        sa.side.nonFinite ? `${base.label} has ${sa.side.nonFinite}` : '',
        sb.side.nonFinite ? `${next.label} has ${sb.side.nonFinite}` : '',
      ]
        .filter(Boolean)
        .join(', ');
      row.notes.push(`non-finite samples (NaN or ±Infinity): ${which}`);
    }
    if (acceleratorsClash(a.m.accelerator, b.m.accelerator)) {
      row.forced.push('accelerator');
      row.notes.push(`accelerators differ: ${a.m.accelerator} vs ${b.m.accelerator}`);
    }
    if (executionsClash(sa.side.execution, sb.side.execution)) {
      row.forced.push('execution');
      row.notes.push(`execution differs: ${sa.side.execution} vs ${sb.side.execution}`);
    }
    if (row.vmDiffers.length) row.notes.push(`VM configuration differs: ${row.vmDiffers.join(', ')}`);
    if (row.refused.length) {
      row.verdict = 'not-comparable';
      row.change = Number.NaN; // a ratio across units, directions or NaN says nothing
    }
    const ra = sa.roundMedians;
    const rb = sb.roundMedians;
    // Samples that are each a guest of their own (boots) are replicates already: pooled over rounds, tested as samples.
    const perGuest = a.m.perGuest === true && b.m.perGuest === true;
    if (perGuest) row.perGuest = true;
    if (!perGuest && ra && rb && ra.length >= MIN_ROUNDS && rb.length >= MIN_ROUNDS)
      rows.push({ row, a: sa.finite, b: sb.finite, ra, rb });
    else {
      if (!perGuest && ((ra?.length ?? 1) > 1 || (rb?.length ?? 1) > 1)) {
        row.notes.push(
          `rounds ${ra?.length ?? 1} vs ${rb?.length ?? 1}: fewer than ${MIN_ROUNDS} a side, so samples are tested as if independent`,
        );
      }
      applyWindowsBand(row, a.m, b.m, key, opts);
      rows.push({ row, a: sa.finite, b: sb.finite });
    }
  }
  const pair: PairComparison = {
    base,
    new: next,
    hosts: { relation: classifyHosts(base.host, next.host), rows: factRows(base.host, next.host) },
    metrics: rows.map((r) => r.row),
    onlyBase,
    onlyNew,
    vmDiffs,
    warnings,
    geomean: { costRatio: Number.NaN, rows: 0, excludedNonPositive: 0, excludedDuplicate: 0 },
    power: {
      power: DETECT_POWER,
      family: 0,
      rows: 0,
      n: [0, 0],
      unit: 'samples',
      cv: Number.NaN,
      shift: Number.NaN,
      range: [Number.NaN, Number.NaN],
    },
    counts: Object.fromEntries(VERDICTS.map((v) => [v, 0])) as Record<MetricVerdict, number>,
  };
  return { pair, rows };
}

/**
 * Windows of one job, one run a side (Metric.windows): the samples pin down these two runs, not
 * how far identical runs drift, so the row is held at inconclusive, unless the user gives a
 * --threshold for it: their word for the drift, taken as the row's band.
 */
function applyWindowsBand(row: MetricComparison, a: Metric, b: Metric, key: string, opts: CompareOptions): void {
  const w = a.windows ?? b.windows;
  if (!w) return;
  const own = explicitThreshold(key, row.name, opts);
  if (own !== undefined) {
    row.notes.push(
      `windows of one job, fewer than ${MIN_ROUNDS} rounds a side: judged against the --threshold given for it (±${pctText(own)}), taken as the drift between identical runs`,
    );
    return;
  }
  row.windowsUnbounded = w.basis;
  row.notes.push(
    `windows of one job, fewer than ${MIN_ROUNDS} rounds a side: held at inconclusive (the pair's warnings say why)`,
  );
}

const pctText = (f: number): string => `${+(f * 100).toFixed(1)} %`;

/** The --threshold the user gave for this row, if any (the last matching pattern, as in thresholdFor). */
export function explicitThreshold(key: string, name: string, opts: CompareOptions): number | undefined {
  let band: number | undefined;
  for (const [pat, v] of opts.thresholds ?? []) {
    if (pat === name || pat === key || (isGlob(pat) && (globToRegExp(pat).test(key) || globToRegExp(pat).test(name)))) band = v;
  }
  return band;
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
