/**
 * The comparison model: what `compare` produces (Comparison, its pairs and rows), what it takes
 * (CompareOptions, LabelledResults) and the constants the verdicts rest on. Kept apart from the
 * engine so that views and helpers can read the shape without the statistics behind it.
 */
import type { ExecutionMode, HostFingerprint, Results } from '../results/model.js';
import type { ConformanceComparison } from './conformance.js';

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
