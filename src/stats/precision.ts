/**
 * How precisely a set of samples pins its median, and the rule that stops adaptive sampling
 * (`--precision P`, `--max-samples N`, `--max-time T`). The interval is distribution-free: the
 * order statistics whose ranks a Binomial(n, ½) brackets with at least 95 % (the sign-test
 * interval of the median), so it asks nothing of the noise's shape and costs one sort.
 */
import { Type, type Static } from '@sinclair/typebox';

/** Fewer samples per metric than this and compare cannot judge it (src/compare/power.ts). */
export const MIN_ADAPTIVE_SAMPLES = 11;

/** Why a metric has the samples it has. */
export const StopReason = Type.Union([
  Type.Literal('precision'), // the 95 % interval of the median got narrow enough
  Type.Literal('max-samples'), // the cap on samples was reached first
  Type.Literal('max-time'), // the cap on time was reached first
  Type.Literal('fixed'), // no precision was asked: the suite's count or duration
  Type.Literal('cut-short'), // the guest or tool stopped before the count it was asked for
  Type.Literal('decided'), // rounds of `ab --precision`: every tested row of the case has a verdict
  Type.Literal('max-rounds'), // rounds: the cap on rounds (`--max-rounds`) was reached first
]);
export type StopReason = Static<typeof StopReason>;

export const Sampling = Type.Object({
  reason: StopReason,
  /** Samples behind the figure when sampling stopped. */
  n: Type.Integer({ minimum: 0 }),
  /** Relative half-width of the 95 % interval of the median reached (a fraction); absent below 6 samples. */
  precision: Type.Optional(Type.Number()),
  /** The precision asked (`--precision`, a fraction). */
  target: Type.Optional(Type.Number()),
  /** Wall time the sampling took, ms. */
  elapsedMs: Type.Optional(Type.Number({ minimum: 0 })),
  /** One sentence a person reads, e.g. "precision 1.8 % reached after 23 samples". */
  note: Type.String(),
});
export type Sampling = Static<typeof Sampling>;

export interface MedianInterval {
  low: number;
  high: number;
  /** Coverage of the interval (≥ 0.95, exact for the sign test). */
  level: number;
}

const rankCache = new Map<string, number>();

/** Largest 1-based rank r such that P(Bin(n, ½) < r) ≤ (1 − level)/2; 0 when none. Memoized: adaptive runs ask after every sample. */
export function lowerRank(n: number, level = 0.95): number {
  const key = `${n}:${level}`;
  const hit = rankCache.get(key);
  if (hit !== undefined) return hit;
  const tail = (1 - level) / 2;
  let logP = -n * Math.LN2; // P(X = 0), kept in logs: 2^-n underflows beyond n = 1074
  let cdf = 0;
  let r = 0;
  for (let k = 0; k < n; k++) {
    const p = Math.exp(logP);
    if (cdf + p > tail) break;
    cdf += p;
    r = k + 1;
    logP += Math.log((n - k) / (k + 1));
  }
  rankCache.set(key, r);
  return r;
}

function intervalOfSorted(sorted: readonly number[], level: number): MedianInterval | undefined {
  const n = sorted.length;
  const r = lowerRank(n, level);
  if (r < 1) return undefined;
  return { low: sorted[r - 1]!, high: sorted[n - r]!, level };
}

/** The sign-test 95 % interval of the median: x(r) … x(n+1−r); undefined below 6 samples (no such r). */
export function medianInterval(samples: readonly number[], level = 0.95): MedianInterval | undefined {
  return intervalOfSorted(
    [...samples].sort((a, b) => a - b),
    level,
  );
}

/** Half the interval's width over the median's magnitude (0.02 = ± 2 %); Infinity when it cannot be said. */
export function relativePrecision(samples: readonly number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const ci = intervalOfSorted(sorted, 0.95);
  if (!ci) return Number.POSITIVE_INFINITY;
  const n = sorted.length;
  const med = n % 2 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
  if (med === 0) return ci.high === ci.low ? 0 : Number.POSITIVE_INFINITY;
  return (ci.high - ci.low) / 2 / Math.abs(med);
}

/** What the user asked of a run's sampling (`--precision`, `--max-samples`, `--max-time`), handed to every case. */
export interface SamplingRequest {
  precision?: number;
  maxSamples?: number;
  maxTimeMs?: number;
}

/** Caps when only `--precision` is given: enough for 0.5 % on a CV of 10 %, and bounded. */
export const DEFAULT_MAX_SAMPLES = 400;

export interface StopRule {
  /** Relative half-width asked (0.03 = 3 %); absent: sample a fixed count or time. */
  precision?: number;
  /** Cap on samples (always set: the fixed count when no precision is asked). */
  maxSamples: number;
  /** Cap on the sampling's wall time, ms. */
  maxTimeMs?: number;
  /** Fewest samples before the precision is looked at. */
  minSamples?: number;
  /**
   * The floor under `minSamples` (default MIN_ADAPTIVE_SAMPLES). Rounds use MIN_INTERVAL_REPLICATES:
   * compare tests round medians from 3 a side, and 11 fresh guests a case before any look would
   * make adaptive rounds dearer than fixed ones.
   */
  floor?: number;
  /** What one replicate is called in the notes (default `samples`; `boots`, `rounds`). */
  unit?: string;
}

/** Fewest values with a sign-test 95 % interval of the median (P(Bin(6, ½) = 0) = 1.6 % ≤ 2.5 %). */
export const MIN_INTERVAL_REPLICATES = 6;

const pct = (f: number): string => (Number.isFinite(f) ? `${(f * 100).toFixed(1)} %` : 'no interval yet');
const secs = (ms: number): string => `${ms >= 10_000 ? Math.round(ms / 1000) : (ms / 1000).toFixed(1)} s`;

/**
 * Whether to stop after the samples so far, and why. Looked at after every sample; the
 * precision only from `minSamples` on (at least 11), so an early lucky run of close values
 * cannot stop it. Caps win over everything: they are promises about cost.
 */
export function shouldStop(samples: readonly number[], elapsedMs: number, rule: StopRule): Sampling | undefined {
  const n = samples.length;
  const floor = Math.max(rule.floor ?? MIN_ADAPTIVE_SAMPLES, MIN_INTERVAL_REPLICATES);
  const min = Math.max(rule.minSamples ?? floor, floor);
  const unit = rule.unit ?? 'samples';
  const precision = relativePrecision(samples);
  const base = {
    n,
    elapsedMs,
    ...(Number.isFinite(precision) ? { precision } : {}),
    ...(rule.precision !== undefined ? { target: rule.precision } : {}),
  };
  if (rule.precision === undefined) {
    if (n >= rule.maxSamples)
      return { ...base, reason: 'fixed', note: `fixed count of ${n} ${unit} (no --precision asked): ${pct(precision)}` };
    return undefined;
  }
  if (n >= min && precision <= rule.precision)
    return { ...base, reason: 'precision', note: `precision ${pct(precision)} reached after ${n} ${unit}` };
  if (n >= rule.maxSamples)
    return {
      ...base,
      reason: 'max-samples',
      note: `cap of ${rule.maxSamples} ${unit} reached at ${pct(precision)} (asked ${pct(rule.precision)})`,
    };
  if (rule.maxTimeMs !== undefined && elapsedMs >= rule.maxTimeMs && n >= 1)
    return {
      ...base,
      reason: 'max-time',
      note: `cap of ${secs(rule.maxTimeMs)} reached at ${pct(precision)} after ${n} ${unit} (asked ${pct(rule.precision)})`,
    };
  return undefined;
}

/**
 * Samples a series would need to reach `target`, projected from its interval now: the sign-test
 * interval's half-width shrinks about as 1/√n, so n·(precision/target)², with 10 % to spare.
 * It sizes the next batch where a batch is costly (an I/O segment costs a boot); whether to stop
 * is always shouldStop's decision, on the samples themselves.
 */
export function projectedSamples(samples: readonly number[], target: number): number {
  const n = samples.length;
  const p = relativePrecision(samples);
  if (!Number.isFinite(p)) return Math.max(2 * n, MIN_ADAPTIVE_SAMPLES);
  return Math.max(n, Math.ceil(n * (p / target) ** 2 * 1.1));
}

/** The record of samples that were not sampled adaptively (a fixed count or duration, or cut short). */
export function fixedSampling(
  samples: readonly number[],
  o: { expected?: number; elapsedMs?: number; why?: string; cutShort?: boolean } = {},
): Sampling {
  const n = samples.length;
  const precision = relativePrecision(samples);
  const p = Number.isFinite(precision) ? { precision } : {};
  const t = o.elapsedMs !== undefined ? { elapsedMs: o.elapsedMs } : {};
  if (o.cutShort || (o.expected !== undefined && n < o.expected))
    return {
      reason: 'cut-short',
      n,
      ...p,
      ...t,
      note: `cut short: ${n}${o.expected !== undefined ? ` of ${o.expected}` : ''} samples arrived${o.why ? ` (${o.why})` : ''}: ${pct(precision)}`,
    };
  return {
    reason: 'fixed',
    n,
    ...p,
    ...t,
    note: `fixed ${o.why ?? `count of ${n} samples`} (no --precision asked): ${pct(precision)}`,
  };
}

/** `3%`, `0.03` or `3` (read as per cent) → 0.03; throws a sentence on anything else. */
export function parsePrecision(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(text);
  if (!m) throw new Error(`--precision '${text}' is not a percentage such as 2% or 0.5%`);
  const v = Number(m[1]);
  const f = m[2] === '%' || v >= 1 ? v / 100 : v;
  if (!(f > 0) || f >= 1) throw new Error(`--precision '${text}' must be above 0 % and below 100 %`);
  return f;
}

/** `20s`, `2m`, `1500ms` or plain seconds → ms; throws a sentence on anything else. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min)?\s*$/.exec(text);
  if (!m) throw new Error(`'${text}' is not a duration such as 20s, 2m or 1500ms`);
  const v = Number(m[1]);
  const ms = m[2] === 'ms' ? v : m[2] === 'm' || m[2] === 'min' ? v * 60_000 : v * 1000;
  if (!(ms > 0)) throw new Error(`'${text}' must be a positive duration`);
  return ms;
}
