/**
 * Comparing metrics measured over several rounds (`--rounds N`: the case ran N times, each in a
 * fresh guest). Samples taken inside one guest are not independent replicates of the guest: the
 * guest's placement (host CPU, memory, caches, what else ran) moves all of them together, so a
 * test that treats each sample as a replicate calls two boots of the same thing different far
 * more often than α (pseudo-replication). With rounds, the round is the unit:
 *
 *  - each round is summarised by the median of its samples;
 *  - the two sides' round medians are compared with Welch's t-test on the log scale (the ratio of
 *    geometric means; on the linear scale, relative to the base, when a median is ≤ 0);
 *  - the interval is the same t interval, so the test rejects at level α exactly when the
 *    (1 − α) interval excludes no change: verdict and interval cannot disagree.
 *
 * Pure functions; the Student t distribution from the regularized incomplete beta function.
 */
import { median } from '../stats/summary.js';

/** Fewest rounds a side for a round-level test (two leave one degree of freedom and no usable interval). */
export const MIN_ROUNDS = 3;

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; relative error below 1e-13). */
export function logGamma(x: number): number {
  const c = [0.9999999999998099, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.6150291621406, 12.507343278686905, -0.13857109526572012, 9.984369578019572e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const z = x - 1;
  let s = c[0]!;
  for (let i = 1; i < 9; i++) s += c[i]! / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(s);
}

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  const nonZero = (v: number): number => (Math.abs(v) < tiny ? tiny : v);
  let c = 1;
  let d = 1 / nonZero(1 - ((a + b) * x) / (a + 1));
  let h = d;
  // One term of the fraction: multiplies h by the new convergent ratio and returns it.
  const term = (num: number): number => {
    d = 1 / nonZero(1 + num * d);
    c = nonZero(1 + num / c);
    h *= d * c;
    return d * c;
  };
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    term((m * (b - m) * x) / ((a + m2 - 1) * (a + m2)));
    if (Math.abs(term((-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1))) - 1) < 1e-15) break;
  }
  return h;
}

/** Regularized incomplete beta I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x));
  // The continued fraction converges fast for x < (a + 1) / (a + b + 2); use the symmetry beyond.
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(a, b, x)) / a;
  return 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** P(T > t) for Student's t with df degrees of freedom (df may be fractional, as Welch's is). */
export function tSf(t: number, df: number): number {
  if (Number.isNaN(t) || !(df > 0)) return Number.NaN;
  if (!Number.isFinite(t)) return t > 0 ? 0 : 1;
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? tail : 1 - tail;
}

/** The p-quantile of Student's t (bisection on tSf; exact to about 1e-12). */
export function tInv(p: number, df: number): number {
  if (!(p > 0 && p < 1) || !(df > 0)) return Number.NaN;
  if (p === 0.5) return 0;
  if (p < 0.5) return -tInv(1 - p, df);
  const target = 1 - p; // P(T > q) = 1 − p
  let lo = 0;
  let hi = 1;
  while (tSf(hi, df) > target) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * Math.max(1, hi); i++) {
    const mid = (lo + hi) / 2;
    if (tSf(mid, df) > target) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

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

export interface RoundTest {
  /** Rounds a side that went in. */
  n1: number;
  n2: number;
  /** Log ratio of geometric means (scale 'log'), or difference of means relative to |base mean| ('linear'). */
  scale: 'log' | 'linear';
  /** Relative change new vs base: exp(d) − 1 on the log scale, d / |base mean| on the linear one. */
  change: number;
  /** Two-sided Welch p-value. */
  p: number;
  t: number;
  /** Welch–Satterthwaite degrees of freedom. */
  df: number;
  /** Standard error of the difference on the test's scale. */
  se: number;
  /** The difference on the test's scale (new − base). */
  diff: number;
  /** Between-round noise as a coefficient of variation (pooled sd of the log medians, or relative sd). */
  cv: number;
  /** `level` interval of `change` from the same t distribution. */
  ci: [number, number];
}

function meanVar(xs: readonly number[]): { mean: number; variance: number } {
  const mean = xs.reduce((s, v) => s + v, 0) / xs.length;
  const variance = xs.length > 1 ? xs.reduce((s, v) => s + (v - mean) ** 2, 0) / (xs.length - 1) : 0;
  return { mean, variance };
}

/**
 * Welch's t-test of the round medians `a` (base) against `b` (new), with its interval. With no
 * spread at all on either side the test degenerates: equal means give p = 1, different ones p = 0
 * and a zero-width interval at the change.
 */
export function welchRounds(a: readonly number[], b: readonly number[], level = 0.95): RoundTest {
  const positive = a.every((v) => v > 0) && b.every((v) => v > 0);
  const xa = positive ? a.map(Math.log) : [...a];
  const xb = positive ? b.map(Math.log) : [...b];
  const A = meanVar(xa);
  const B = meanVar(xb);
  const va = A.variance / xa.length;
  const vb = B.variance / xb.length;
  const se = Math.sqrt(va + vb);
  const diff = B.mean - A.mean;
  const denom = (va * va) / Math.max(1, xa.length - 1) + (vb * vb) / Math.max(1, xb.length - 1);
  const df = denom > 0 ? ((va + vb) * (va + vb)) / denom : xa.length + xb.length - 2;
  const scaleOf = positive ? 1 : Math.abs(A.mean);
  const toChange = (d: number): number => (positive ? Math.expm1(d) : scaleOf > 0 ? d / scaleOf : d === 0 ? 0 : Math.sign(d) * Number.POSITIVE_INFINITY);
  const pooledSd = Math.sqrt(((xa.length - 1) * A.variance + (xb.length - 1) * B.variance) / Math.max(1, xa.length + xb.length - 2));
  const cv = positive ? Math.sqrt(Math.expm1(pooledSd * pooledSd)) : scaleOf > 0 ? pooledSd / scaleOf : Number.NaN;
  if (se === 0) {
    const c = toChange(diff);
    return { n1: a.length, n2: b.length, scale: positive ? 'log' : 'linear', change: c, p: diff === 0 ? 1 : 0, t: diff === 0 ? 0 : Math.sign(diff) * Number.POSITIVE_INFINITY, df, se, diff, cv, ci: [c, c] };
  }
  const t = diff / se;
  const p = Math.min(1, 2 * tSf(Math.abs(t), df));
  const q = tInv(1 - (1 - level) / 2, df);
  return { n1: a.length, n2: b.length, scale: positive ? 'log' : 'linear', change: toChange(diff), p, t, df, se, diff, cv, ci: [toChange(diff - q * se), toChange(diff + q * se)] };
}

/**
 * The smallest slowdown (a fraction) a round-level comparison calls *regressed* with probability
 * about `power`: the estimated log shift must clear the family's two-sided critical value and the
 * interval's lower end must clear the band. Each is a t statistic on the same estimate with the
 * same standard error, so the binding one decides, and the power quantile is added on top
 * (noncentral t approximated by a shifted central one). Infinity when the noise is not measured.
 */
export function roundDetectableShift(o: { se: number; df: number; family: number; alpha: number; noiseBand: number; ciLevel: number; power: number }): number {
  if (!(o.se >= 0) || !(o.df > 0)) return Number.POSITIVE_INFINITY;
  const tTest = tInv(1 - o.alpha / (2 * Math.max(1, o.family)), o.df);
  const tCi = tInv(1 - (1 - o.ciLevel) / 2, o.df);
  const need = Math.max(tTest * o.se, Math.log1p(o.noiseBand) + tCi * o.se);
  return Math.expm1(need + tInv(o.power, o.df) * o.se);
}
