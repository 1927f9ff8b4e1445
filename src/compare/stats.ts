/**
 * The statistics behind `kvmbench compare`: Mann-Whitney U (exact for small samples: the
 * Mann-Whitney recurrence without ties, the permutation distribution conditional on the tie
 * pattern with ties; beyond, a seeded Monte Carlo permutation test when there are ties and the
 * normal approximation with continuity correction when there are none),
 * a percentile bootstrap of the relative change of medians, and Holm's step-down
 * correction across all metrics compared. Pure functions; randomness only through a
 * seeded Rng passed in.
 */
import { quantileSorted } from '../stats/summary.js';
import { normal, seededRng, type Rng } from '../stats/random.js';

export interface MannWhitneyResult {
  /** U of the first sample: pairs (a, b) with a > b, ties counting one half. */
  u: number;
  /** Two-sided p-value. */
  p: number;
  method: 'exact' | 'normal' | 'monte-carlo';
  /** Random splits drawn by the Monte Carlo test (only with method `monte-carlo`). */
  permutations?: number;
  /** z score of the normal approximation (0 for exact). */
  z: number;
  /** True if the pooled samples hold ties. */
  ties: boolean;
}

/** Largest sample size per side for which the exact null distribution is used. */
export const EXACT_MAX_N = 30;

const exactCache = new Map<string, Float64Array>();

/**
 * Null distribution of U for sizes (m, n): counts[u] = number of arrangements with U = u,
 * from the recurrence f(m, n, u) = f(m-1, n, u-n) + f(m, n-1, u) (Mann & Whitney 1947).
 * Counts are doubles: C(60, 30) ≈ 1.2e17 keeps 15+ significant digits, enough for p.
 */
export function exactUCounts(m: number, n: number): Float64Array {
  const key = `${m},${n}`;
  const hit = exactCache.get(key);
  if (hit) return hit;
  // prev[j] holds f(i-1, j, ·), built row by row over i.
  let prev: Float64Array[] = [];
  for (let j = 0; j <= n; j++) prev.push(Float64Array.of(1));
  for (let i = 1; i <= m; i++) {
    const cur: Float64Array[] = [Float64Array.of(1)];
    for (let j = 1; j <= n; j++) {
      const out = new Float64Array(i * j + 1);
      const a = prev[j]!; // f(i-1, j, u - j)
      const b = cur[j - 1]!; // f(i, j-1, u)
      for (let u = 0; u < a.length; u++) out[u + j]! += a[u]!;
      for (let u = 0; u < b.length; u++) out[u]! += b[u]!;
      cur.push(out);
    }
    prev = cur;
  }
  const res = prev[n]!;
  exactCache.set(key, res);
  return res;
}

/** Average ranks (1-based) of `values`, ties sharing their mean rank; also Σ(t³ - t) over tie groups. */
export function ranks(values: readonly number[]): { ranks: Float64Array; tieTerm: number } {
  const idx = values.map((_, i) => i).sort((i, j) => values[i]! - values[j]!);
  const r = new Float64Array(values.length);
  let tieTerm = 0;
  for (let i = 0; i < idx.length;) {
    let j = i;
    while (j + 1 < idx.length && values[idx[j + 1]!] === values[idx[i]!]) j++;
    const avg = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) r[idx[k]!] = avg;
    const t = j - i + 1;
    if (t > 1) tieTerm += t * t * t - t;
    i = j + 1;
  }
  return { ranks: r, tieTerm };
}

/** Standard normal upper tail P(Z > z). */
export function normalSf(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

/** Complementary error function (Numerical Recipes `erfcc`, fractional error < 1.2e-7). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/**
 * Null distribution of the first sample's rank sum given the tie pattern: every choice of n1
 * of the N pooled values is equally likely (the permutation distribution), and ranks are
 * midranks. `groups` are the sizes of the tie groups in ascending order of value (no ties:
 * all 1). Returns counts indexed by the doubled rank sum (midranks doubled are integers), so
 * counts[s] = number of n1-subsets whose doubled rank sum is s; they add up to C(N, n1).
 *
 * Dynamic programming over the groups: taking j of a group of size t with doubled midrank d
 * adds j·d in C(t, j) ways; about 10⁶ steps for n1 = n2 = 30 (a few ms).
 */
export function exactRankSumCounts(groups: readonly number[], n1: number): Float64Array {
  const N = groups.reduce((s, t) => s + t, 0);
  const smax = N * (N + 1); // doubled sum of all ranks
  const width = smax + 1;
  const dp = new Float64Array((n1 + 1) * width);
  dp[0] = 1;
  // Support of each row (lowest and highest doubled sum with a non-zero count), to skip zeros.
  const lo = new Int32Array(n1 + 1).fill(width);
  const hi = new Int32Array(n1 + 1).fill(-1);
  lo[0] = 0;
  hi[0] = 0;
  let first = 1; // 1-based rank of the group's first value
  let taken = 0; // values in the groups processed so far
  for (const t of groups) {
    const d = 2 * first + t - 1; // doubled midrank of the group
    const binom = [1];
    for (let j = 1; j <= t; j++) binom.push((binom[j - 1]! * (t - j + 1)) / j);
    // Descending k: row k is built from rows k - j, which this group has not touched yet.
    for (let k = Math.min(n1, taken + t); k >= 1; k--) {
      const row = k * width;
      for (let j = 1; j <= Math.min(t, k); j++) {
        const src = k - j;
        if (hi[src]! < 0) continue;
        const from = src * width;
        const shift = j * d;
        const c = binom[j]!;
        for (let s = lo[src]!; s <= hi[src]!; s++) dp[row + s + shift]! += c * dp[from + s]!;
        lo[k] = Math.min(lo[k]!, lo[src]! + shift);
        hi[k] = Math.max(hi[k]!, hi[src]! + shift);
      }
    }
    taken += t;
    first += t;
  }
  return dp.slice(n1 * width, n1 * width + width);
}

/** Where the Monte Carlo test stops (see monteCarloRankSumP). */
export interface MonteCarloOptions {
  /** Seeded source of the random splits; default a fixed seed, so the same data give the same p. */
  rng?: Rng;
  /** Tests in the family the p-value will be corrected over (compare: metrics compared); default 1. */
  family?: number;
  /** Significance level the p-value will be judged at; default 0.05. */
  alpha?: number;
}

/** Smaller-tail count at which the Monte Carlo test stops: p then has a relative standard error of about 1/√50 ≈ 14 %. */
export const MC_TAIL_HITS = 50;
/** Bounds on the number of random splits the Monte Carlo test draws. */
export const MC_MIN_PERMUTATIONS = 2_000;
export const MC_MAX_PERMUTATIONS = 2_000_000;

/**
 * Two-sided Monte Carlo permutation p-value of the first sample's rank sum, conditional on the
 * tie pattern: random splits of the pooled midranks into n1 and n2 values (a partial
 * Fisher-Yates shuffle of the smaller side), counting splits at or below and at or above the
 * observed sum. Sequential, so that the work follows the need for precision:
 *
 *  - stop once the smaller tail has MC_TAIL_HITS hits (Besag & Clifford 1991): p = 2·hits / L,
 *    about ±14 %; a p-value well away from zero needs a few hundred to a few thousand splits;
 *  - stop once even a generous upper bound of p, 2·(c + 1 + 3.3·√(c + 1)) / L (c hits in the smaller
 *    tail; about 99.9 % one-sided), lies below α/(2·family): p is then below the smallest Holm
 *    threshold by a margin the remaining draws cannot undo, and any more precision changes no verdict;
 *  - stop at L = 100·family/α splits (within MC_MIN_PERMUTATIONS..MC_MAX_PERMUTATIONS): a p-value
 *    near the smallest Holm threshold α/family has then about 50 expected hits, ±14 %.
 *
 * Otherwise p = 2·(c + 1)/(L + 1), the usual valid Monte Carlo p-value; capped at 1.
 */
export function monteCarloRankSumP(
  doubledRanks: ArrayLike<number>,
  n1: number,
  observedDoubled: number,
  opts: MonteCarloOptions = {},
): { p: number; permutations: number } {
  const N = doubledRanks.length;
  const n2 = N - n1;
  const rng = opts.rng ?? seededRng('mann-whitney-monte-carlo');
  const family = Math.max(1, opts.family ?? 1);
  const alpha = opts.alpha ?? 0.05;
  const maxL = Math.min(MC_MAX_PERMUTATIONS, Math.max(MC_MIN_PERMUTATIONS, Math.ceil((100 * family) / alpha)));
  const certain = alpha / (2 * family);
  // Draw the smaller side; the first side's sum is the total less the other's.
  const k = Math.min(n1, n2);
  const drawFirst = k === n1;
  const pool = Int32Array.from(doubledRanks, (v) => Math.round(v));
  let total = 0;
  for (let i = 0; i < N; i++) total += pool[i]!;
  let below = 0;
  let above = 0;
  let L = 0;
  while (L < maxL) {
    let sum = 0;
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(rng() * (N - i));
      const t = pool[i]!;
      pool[i] = pool[j]!;
      pool[j] = t;
      sum += pool[i]!;
    }
    const s1 = drawFirst ? sum : total - sum;
    if (s1 <= observedDoubled) below++;
    if (s1 >= observedDoubled) above++;
    L++;
    const c = Math.min(below, above);
    if (c >= MC_TAIL_HITS) return { p: Math.min(1, (2 * c) / L), permutations: L };
    if ((L & 1023) === 0 && (2 * (c + 1 + 3.3 * Math.sqrt(c + 1))) / L < certain) break;
  }
  const c = Math.min(below, above);
  return { p: Math.min(1, (2 * (c + 1)) / (L + 1)), permutations: L };
}

/**
 * Two-sided Mann-Whitney U test of `a` against `b`. Exact when both sides have at most
 * EXACT_MAX_N samples: without ties from the Mann-Whitney recurrence, with ties from the
 * permutation distribution conditional on the tie pattern (exactRankSumCounts). Beyond that,
 * with ties, the same permutation distribution by seeded Monte Carlo (monteCarloRankSumP, its
 * precision set by `mc.family` and `mc.alpha`); without ties the normal approximation with a
 * continuity correction of 0.5, never below the smallest p-value any arrangement can reach
 * (minimumP), so that it cannot claim what the exact test could not. Two-sided p = 2 · the
 * smaller tail, capped at 1.
 */
export function mannWhitney(
  a: readonly number[],
  b: readonly number[],
  opts: { forceMethod?: 'exact' | 'normal' | 'monte-carlo'; mc?: MonteCarloOptions } = {},
): MannWhitneyResult {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 === 0 || n2 === 0) return { u: 0, p: 1, method: 'normal', z: 0, ties: false };
  const pooled = [...a, ...b];
  const { ranks: r, tieTerm } = ranks(pooled);
  let r1 = 0;
  for (let i = 0; i < n1; i++) r1 += r[i]!;
  const u = r1 - (n1 * (n1 + 1)) / 2;
  const ties = tieTerm > 0;
  const useExact = opts.forceMethod ? opts.forceMethod === 'exact' : n1 <= EXACT_MAX_N && n2 <= EXACT_MAX_N;
  if (opts.forceMethod === 'monte-carlo' || (!opts.forceMethod && !useExact && ties)) {
    const doubled = new Int32Array(n1 + n2);
    for (let i = 0; i < doubled.length; i++) doubled[i] = Math.round(2 * r[i]!);
    const mc = monteCarloRankSumP(doubled, n1, Math.round(2 * r1), opts.mc);
    return { u, p: mc.p, method: 'monte-carlo', permutations: mc.permutations, z: 0, ties };
  }
  if (useExact && !ties) {
    const counts = exactUCounts(n1, n2);
    let total = 0;
    for (const c of counts) total += c;
    let below = 0;
    for (let k = 0; k <= u && k < counts.length; k++) below += counts[k]!;
    let above = 0;
    for (let k = u; k < counts.length; k++) above += counts[k]!;
    const p = Math.min(1, (2 * Math.min(below, above)) / total);
    return { u, p, method: 'exact', z: 0, ties };
  }
  if (useExact) {
    const counts = exactRankSumCounts(tieGroups(pooled), n1);
    const obs = Math.round(2 * r1); // midranks are multiples of 1/2
    let total = 0;
    let below = 0;
    let above = 0;
    for (let s = 0; s < counts.length; s++) {
      const c = counts[s]!;
      total += c;
      if (s <= obs) below += c;
      if (s >= obs) above += c;
    }
    const p = Math.min(1, (2 * Math.min(below, above)) / total);
    return { u, p, method: 'exact', z: 0, ties };
  }
  const N = n1 + n2;
  const mu = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (N + 1 - tieTerm / (N * (N - 1)));
  if (variance <= 0) return { u, p: 1, method: 'normal', z: 0, ties }; // every value identical
  const d = Math.abs(u - mu);
  const z = Math.max(0, d - 0.5) / Math.sqrt(variance);
  const p = Math.max(minimumP(n1, n2), Math.min(1, 2 * normalSf(z)));
  return { u, p, method: 'normal', z: u >= mu ? z : -z, ties };
}

/** Sizes of the tie groups of `values` in ascending order of value (all 1 without ties). */
export function tieGroups(values: readonly number[]): number[] {
  const sorted = [...values].sort((x, y) => x - y);
  const out: number[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[i]) j++;
    out.push(j - i + 1);
    i = j + 1;
  }
  return out;
}

/** Smallest two-sided exact p-value the test can reach with m and n samples (complete separation). */
export function minimumP(m: number, n: number): number {
  // 2 / C(m+n, m), computed as a running product to stay finite.
  let c = 1;
  for (let i = 1; i <= m; i++) c = (c * (n + i)) / i;
  return Math.min(1, 2 / c);
}

/** Holm's step-down adjusted p-values (monotone, capped at 1), in input order. */
export function holm(pvalues: readonly number[]): number[] {
  const m = pvalues.length;
  const order = pvalues.map((_, i) => i).sort((i, j) => pvalues[i]! - pvalues[j]!);
  const adj = new Array<number>(m);
  let running = 0;
  order.forEach((idx, k) => {
    running = Math.max(running, Math.min(1, (m - k) * pvalues[idx]!));
    adj[idx] = running;
  });
  return adj;
}

/** Gamma(a) variate for a ≥ 1 (Marsaglia & Tsang 2000). */
function gammaVariate(a: number, rng: Rng): number {
  const d = a - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normal(rng);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng();
    if (u < 1 - 0.0331 * x * x * x * x) return d * v;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

function betaVariate(a: number, b: number, rng: Rng): number {
  const x = gammaVariate(a, rng);
  return x / (x + gammaVariate(b, rng));
}

/**
 * Median of one bootstrap resample of sorted data in O(1). A resample draws n indices
 * floor(n·U) from iid uniforms U; floor is monotone, so the resample's j-th smallest index
 * is floor(n·U₍ⱼ₎), and the uniform order statistic U₍ⱼ₎ ~ Beta(j, n−j+1); the next one is
 * U₍ⱼ₎ + (1 − U₍ⱼ₎)·Beta(1, n−j). Same distribution as resampling and sorting, without
 * touching n values (test/unit/compare/stats.test.ts checks it against brute force).
 */
export function resampleMedian(sorted: readonly number[], rng: Rng): number {
  const n = sorted.length;
  if (n === 1) return sorted[0]!;
  const pos = (n - 1) / 2; // type-7 median: positions lo and hi (0-based) of the sorted resample
  const lo = Math.floor(pos);
  const uLo = betaVariate(lo + 1, n - lo, rng);
  const iLo = Math.min(n - 1, Math.floor(n * uLo));
  if (lo === pos) return sorted[iLo]!;
  const uHi = uLo + (1 - uLo) * (1 - Math.pow(rng(), 1 / (n - lo - 1)));
  const iHi = Math.min(n - 1, Math.floor(n * uHi));
  return (sorted[iLo]! + sorted[iHi]!) / 2;
}

/** The same by brute force (resample, sort), kept to check resampleMedian against. */
export function resampleMedianBruteForce(sorted: readonly number[], rng: Rng): number {
  const n = sorted.length;
  const r = Array.from({ length: n }, () => sorted[Math.floor(rng() * n)]!).sort((a, b) => a - b);
  return quantileSorted(r, 0.5);
}

/** Relative change of medians, (new − base) / |base|. */
export function relativeChange(base: number, next: number): number {
  if (base === next) return 0;
  if (base === 0) return next > 0 ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  return (next - base) / Math.abs(base);
}

/**
 * 95 % (by default) percentile-bootstrap interval of the relative change of medians:
 * both sides resampled independently, `iterations` times.
 */
export function bootstrapChangeCI(
  base: readonly number[],
  next: readonly number[],
  rng: Rng,
  iterations = 2000,
  level = 0.95,
): [number, number] {
  if (base.length === 0 || next.length === 0) return [Number.NaN, Number.NaN];
  const sa = [...base].sort((x, y) => x - y);
  const sb = [...next].sort((x, y) => x - y);
  const changes = new Float64Array(iterations);
  for (let i = 0; i < iterations; i++) changes[i] = relativeChange(resampleMedian(sa, rng), resampleMedian(sb, rng));
  changes.sort();
  const tail = (1 - level) / 2;
  const arr = Array.from(changes);
  return [quantileSorted(arr, tail), quantileSorted(arr, 1 - tail)];
}

export function geometricMean(values: readonly number[]): number {
  const ok = values.filter((v) => v > 0 && Number.isFinite(v));
  if (ok.length === 0) return Number.NaN;
  return Math.exp(ok.reduce((s, v) => s + Math.log(v), 0) / ok.length);
}
