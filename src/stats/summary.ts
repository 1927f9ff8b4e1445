/**
 * Descriptive statistics of samples. `Summary` is defined here, with TypeBox, and the results
 * model (src/results/model.ts) takes it for every metric's `summary`: statistics do not depend
 * on the results model.
 */
import { Type, type Static } from '@sinclair/typebox';

export const Summary = Type.Object({
  n: Type.Integer({ minimum: 0 }),
  median: Type.Number(),
  mean: Type.Number(),
  stdev: Type.Number(),
  min: Type.Number(),
  max: Type.Number(),
  p5: Type.Number(),
  p95: Type.Number(),
  /** Coefficient of variation, stdev / mean (a fraction, not a percentage). */
  cv: Type.Number(),
});
export type Summary = Static<typeof Summary>;

/** Linear-interpolated quantile (type 7, as R's default and numpy's `linear`) of sorted data. */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  if (sorted.length === 1) return sorted[0]!;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function median(values: readonly number[]): number {
  return quantileSorted(
    [...values].sort((a, b) => a - b),
    0.5,
  );
}

/**
 * Descriptive statistics of one metric's samples. stdev is the sample standard
 * deviation (n-1); cv is stdev/mean as a fraction. Empty input gives n=0 and NaN
 * fields, which JSON writers must turn into null-free zeros or drop: we use 0.
 */
export function summarize(samples: readonly number[]): Summary {
  const n = samples.length;
  if (n === 0) return { n: 0, median: 0, mean: 0, stdev: 0, min: 0, max: 0, p5: 0, p95: 0, cv: 0 };
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = sorted.reduce((s, v) => s + v, 0) / n;
  const variance = n > 1 ? sorted.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1) : 0;
  const stdev = Math.sqrt(variance);
  return {
    n,
    median: quantileSorted(sorted, 0.5),
    mean,
    stdev,
    min: sorted[0]!,
    max: sorted[n - 1]!,
    p5: quantileSorted(sorted, 0.05),
    p95: quantileSorted(sorted, 0.95),
    cv: mean !== 0 ? stdev / Math.abs(mean) : 0,
  };
}
