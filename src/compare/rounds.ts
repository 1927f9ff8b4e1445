/**
 * Comparing metrics measured over several rounds (`--rounds N`: the case ran N times, each in a
 * fresh guest). Samples taken inside one guest are not independent replicates of the guest: the
 * guest's placement (host CPU, memory, caches, what else ran) moves all of them together, so a
 * test that treats each sample as a replicate calls two guests of the same thing different far
 * more often than α (pseudo-replication). With rounds, the round is the unit:
 *
 *  - each round is summarised by the median of its samples;
 *  - the two sides' round medians go through the same Mann-Whitney test as samples do (exact for
 *    small counts): no assumption about how guests differ, which matters because they can differ
 *    in modes (under TCG `inl_from_qemu` took about 55 or about 95 ns a guest, nothing between);
 *  - the change is the Hodges–Lehmann shift of the log round medians (the median of all pairwise
 *    log ratios) and its interval is the Mann-Whitney-inverted one, so the interval excludes no
 *    change exactly when the exact test rejects at 1 − level.
 *
 * Pure functions.
 */
import { median } from '../stats/summary.js';
import { exactUCounts } from './stats.js';

/** Fewest rounds a side for a round-level test. */
export const MIN_ROUNDS = 3;

/** Splits `samples` into the runs of consecutive samples that `sizes` gives (one per round). */
export function splitRounds(samples: readonly number[], sizes: readonly number[]): number[][] {
  const out: number[][] = [];
  let at = 0;
  for (const n of sizes) {
    out.push(samples.slice(at, at + n));
    at += n;
  }
  return out;
}

/** The median of each round that holds at least one finite sample. */
export function roundMedians(samples: readonly number[], sizes: readonly number[]): number[] {
  return splitRounds(samples, sizes)
    .map((r) => r.filter(Number.isFinite))
    .filter((r) => r.length > 0)
    .map((r) => median(r));
}

export interface ShiftEstimate {
  /** Relative change new vs base: exp(shift) − 1 on the log scale, shift / |base median| on the linear one. */
  change: number;
  /** The interval of `change`; NaN where the exact test cannot reach 1 − level with these counts. */
  ci: [number, number];
  scale: 'log' | 'linear';
}

/**
 * Hodges–Lehmann shift of `b` against `a` with the interval from inverting the exact Mann-Whitney
 * test: the pairwise differences d = f(b_j) − f(a_i) sorted, the interval [d₍ₖ₎, d₍ₘₙ₊₁₋ₖ₎] with
 * k the largest count such that P(U < k) ≤ (1 − level) / 2 under the null (Bauer 1972). f is the
 * logarithm when every value is positive, else the identity (the change then relative to |median a|).
 */
export function hodgesLehmann(a: readonly number[], b: readonly number[], level = 0.95): ShiftEstimate {
  const positive = a.every((v) => v > 0) && b.every((v) => v > 0);
  const f = positive ? Math.log : (v: number) => v;
  const diffs: number[] = [];
  for (const y of b) for (const x of a) diffs.push(f(y) - f(x));
  diffs.sort((p, q) => p - q);
  const scale = positive ? 1 : Math.abs(median(a));
  const toChange = (d: number): number =>
    positive ? Math.expm1(d) : scale > 0 ? d / scale : d === 0 ? 0 : Math.sign(d) * Number.POSITIVE_INFINITY;
  const shift = median(diffs);
  // k: the number of smallest (and largest) differences the interval leaves out, plus one.
  const counts = exactUCounts(a.length, b.length);
  let total = 0;
  for (const c of counts) total += c;
  const tail = ((1 - level) / 2) * total;
  let below = 0;
  let k = 0;
  while (k < counts.length && below + counts[k]! <= tail) below += counts[k++]!;
  const ci: [number, number] = k >= 1 ? [toChange(diffs[k - 1]!), toChange(diffs[diffs.length - k]!)] : [Number.NaN, Number.NaN];
  return { change: toChange(shift), ci, scale: positive ? 'log' : 'linear' };
}
