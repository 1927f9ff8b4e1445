/**
 * How many samples per side a clear shift needs to be confirmed by compare's test and
 * correction, found by simulation (seeded, so the figure is reproducible).
 *
 * Model: every metric has lognormal noise with coefficient of variation `cv`; one metric
 * of `metrics` is shifted by `shift` (0.3 = 30 % slower), the others are not. A trial
 * succeeds when that metric's Holm-adjusted Mann-Whitney p is below alpha and the whole
 * bootstrap CI of its change lies above the noise band, exactly as compare decides "regressed".
 */
import { seededRng, normal } from '../stats/random.js';
import { median } from '../stats/summary.js';
import { bootstrapChangeCI, holm, mannWhitney, minimumP, normalSf } from './stats.js';

export interface PowerOptions {
  shift?: number;
  cv?: number;
  metrics?: number;
  alpha?: number;
  noiseBand?: number;
  trials?: number;
  seed?: string;
  /** Bootstrap resamples of the interval (compare's default: 2000). */
  bootstrap?: number;
}

export function simulatePower(n: number, o: PowerOptions = {}): number {
  const shift = o.shift ?? 0.3;
  const sigma = Math.sqrt(Math.log(1 + (o.cv ?? 0.1) ** 2));
  const metrics = o.metrics ?? 50;
  const alpha = o.alpha ?? 0.05;
  const band = o.noiseBand ?? 0.05;
  const trials = o.trials ?? 400;
  const rng = seededRng(o.seed ?? `power:${n}`);
  const ciRng = seededRng(`${o.seed ?? `power:${n}`}:ci`);
  const draw = (k: number, scale: number): number[] => Array.from({ length: k }, () => scale * Math.exp(sigma * normal(rng)));
  let hits = 0;
  for (let t = 0; t < trials; t++) {
    const ps: number[] = [];
    let shifted: [number[], number[]] = [[], []];
    for (let m = 0; m < metrics; m++) {
      const a = draw(n, 100);
      const b = draw(n, m === 0 ? 100 * (1 + shift) : 100);
      ps.push(mannWhitney(a, b).p);
      if (m === 0) shifted = [a, b];
    }
    // The interval only matters once the test has rejected; skipping it otherwise saves time.
    if (holm(ps)[0]! < alpha && bootstrapChangeCI(shifted[0], shifted[1], ciRng, o.bootstrap ?? 2000)[0] > band) hits++;
  }
  return hits / trials;
}

/** Smallest n per side reaching `power` (default 0.95) under the options. */
export function requiredSamplesPerSide(power = 0.95, o: PowerOptions = {}, maxN = 60): number {
  for (let n = 2; n <= maxN; n++) if (simulatePower(n, o) >= power) return n;
  return Number.POSITIVE_INFINITY;
}

/**
 * Probability that a metric that did not change at all is called *unchanged*: its bootstrap CI
 * lies wholly inside the noise band (compare's equivalence rule). Lognormal noise with `cv`.
 */
export function simulateEquivalence(n: number, o: Omit<PowerOptions, 'shift' | 'metrics' | 'alpha'> = {}): number {
  const sigma = Math.sqrt(Math.log(1 + (o.cv ?? 0.1) ** 2));
  const band = o.noiseBand ?? 0.05;
  const trials = o.trials ?? 400;
  const rng = seededRng(o.seed ?? `equivalence:${n}`);
  const draw = (): number[] => Array.from({ length: n }, () => 100 * Math.exp(sigma * normal(rng)));
  let hits = 0;
  for (let t = 0; t < trials; t++) {
    const [lo, hi] = bootstrapChangeCI(draw(), draw(), rng, o.bootstrap ?? 2000);
    if (lo >= -band && hi <= band) hits++;
  }
  return hits / trials;
}

/**
 * Inverse of the standard normal CDF (Acklam's rational approximation, relative error below
 * 1.2e-9 over (0, 1)).
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) return p === 0 ? Number.NEGATIVE_INFINITY : p === 1 ? Number.POSITIVE_INFINITY : Number.NaN;
  const a = [
    -3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239,
  ];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [
    -7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783,
  ];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (
      (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) /
      ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1)
    );
  }
  if (p > 1 - lo) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
  );
}

/** Power at which compare's summary states the smallest shift it could confirm. */
export const DETECT_POWER = 0.9;

export interface DetectableOptions {
  /** Samples of the base and the new side. */
  n1: number;
  n2: number;
  /** Coefficient of variation of the samples (lognormal noise). */
  cv: number;
  /** Tests in the Holm family. */
  family: number;
  alpha?: number;
  /** Noise band, a fraction. */
  noiseBand?: number;
  power?: number;
  /** Level of the interval the verdict checks (compare: 0.95). */
  ciLevel?: number;
}

/** Student t quantile by the Cornish-Fisher expansion in 1/df (within 1 % of the exact value from df = 3). */
export function tQuantile(p: number, df: number): number {
  const z = normalQuantile(p);
  if (!Number.isFinite(df) || df <= 0) return z;
  const g1 = (z ** 3 + z) / 4;
  const g2 = (5 * z ** 5 + 16 * z ** 3 + 3 * z) / 96;
  const g3 = (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / 384;
  return z + g1 / df + g2 / df ** 2 + g3 / df ** 3;
}

/** P(Z₁ > a, Z₂ > b) for standard normals with correlation rho (Simpson's rule over Z₁). */
export function bothAbove(a: number, b: number, rho: number): number {
  const lo = Math.max(a, -8);
  const hi = 8;
  if (lo >= hi) return 0;
  const k = 120;
  const h = (hi - lo) / k;
  const r = Math.sqrt(1 - rho * rho);
  let s = 0;
  for (let i = 0; i <= k; i++) {
    const x = lo + i * h;
    const w = i === 0 || i === k ? 1 : i % 2 ? 4 : 2;
    s += w * Math.exp((-x * x) / 2) * normalSf((b - rho * x) / r);
  }
  return (s * h) / 3 / Math.sqrt(2 * Math.PI);
}

/**
 * The smallest slowdown (as a fraction: 0.25 = 25 % slower) that compare calls *regressed*
 * with probability `power`, for a metric with lognormal noise of coefficient of variation `cv`,
 * in closed form up to one integral. On the log scale the noise has σ = √ln(1 + cv²) and the
 * shift is δ = ln(1 + s); both halves of the verdict must hold:
 *
 *  - the test: Mann-Whitney rejects at the first Holm step, α/family, two-sided. Its efficiency
 *    against the t-test on normal data is 3/π, so it behaves like an estimate of δ with standard
 *    error s_T = σ · √(π/3 · (1/n₁ + 1/n₂)) that must exceed t(1 − α/2m; n₁+n₂−2) · s_T;
 *  - the interval: the lower end of the 95 % interval of the change of medians lies above the
 *    band. A sample median has variance (π/2) · σ²/n, so the difference of medians has standard
 *    error s_C = σ · √(π/2 · (1/n₁ + 1/n₂)) and must exceed ln(1 + band) + t(0.975; n−1) · s_C.
 *
 * The two estimates are correlated (ρ = √(2/3), the square root of the median's efficiency
 * relative to the rank estimate), and the answer is the δ at which both hold with probability
 * `power` (bivariate normal, solved by bisection). The t quantiles stand in for the small-sample
 * behaviour of the exact test and the percentile bootstrap. Infinity when even complete
 * separation cannot reach α/family (too few samples for any verdict). The same shift downwards,
 * 1/(1 + s) − 1, is the smallest improvement confirmed.
 *
 * Checked against simulatePower (docs/compare.md, test/unit/compare/power-line.test.ts): for 8
 * to 50 samples a side, 1 to 500 metrics and CVs of 2 to 30 %, the simulated 90 % point lies
 * within 1.7 points of the shift given here; it is optimistic where few samples meet a big
 * family (11 samples, 200 metrics: 28.9 % stated, 30.6 % simulated, power 0.81 at the stated
 * shift) and below the shipped sample count (6 samples: 39.6 % against 43.9 %).
 */
export function detectableShift(o: DetectableOptions): number {
  const p = detectionModel(o);
  if (typeof p === 'number') return p;
  const power = o.power ?? DETECT_POWER;
  let lo = 0;
  let hi = p.upper;
  for (let i = 0; i < 40; i++) {
    const mid = (lo + hi) / 2;
    if (p.power(mid) >= power) hi = mid;
    else lo = mid;
  }
  return Math.expm1(hi);
}

/**
 * The probability that compare confirms a slowdown of `shift` (a fraction) under the model of
 * detectableShift: the function detectableShift inverts, exported so a sample-size search
 * (src/compare/confirm.ts) evaluates it once per n instead of bisecting at every n.
 */
export function detectionPower(o: DetectableOptions, shift: number): number {
  const p = detectionModel(o);
  if (typeof p === 'number') return shift >= p ? 1 : 0;
  return p.power(Math.log1p(shift));
}

/** The model behind both: a power function of the log shift, or a fixed answer (Infinity, the band). */
function detectionModel(o: DetectableOptions): number | { power: (d: number) => number; upper: number } {
  const alpha = o.alpha ?? 0.05;
  const family = Math.max(1, o.family);
  const band = o.noiseBand ?? 0.05;
  const ci = o.ciLevel ?? 0.95;
  if (!(o.n1 >= 2 && o.n2 >= 2) || minimumP(o.n1, o.n2) >= alpha / family || !(o.cv >= 0)) return Number.POSITIVE_INFINITY;
  const sigma = Math.sqrt(Math.log1p(o.cv * o.cv));
  const lb = Math.log1p(band);
  if (sigma === 0) return band;
  const inv = 1 / o.n1 + 1 / o.n2;
  const sT = sigma * Math.sqrt((Math.PI / 3) * inv);
  const sC = sigma * Math.sqrt((Math.PI / 2) * inv);
  const zT = tQuantile(1 - alpha / (2 * family), o.n1 + o.n2 - 2);
  const zC = tQuantile(1 - (1 - ci) / 2, Math.min(o.n1, o.n2) - 1);
  const rho = Math.sqrt(2 / 3);
  return { power: (d: number): number => bothAbove(zT - d / sT, zC + (lb - d) / sC, rho), upper: lb + 12 * (sT + sC) };
}

/**
 * Coefficient of variation of a metric's noise, robust to outliers and blind to the shift
 * between the sides: each side's log-samples centred on their own median, the pooled median
 * absolute deviation × 1.4826 as σ, and cv = √(exp(σ²) − 1). With a sample ≤ 0 (net costs can
 * be) the same on the linear scale relative to the pooled median's magnitude. NaN when there is
 * nothing to measure.
 */
export function robustCv(a: readonly number[], b: readonly number[]): number {
  const sides = [a, b].filter((s) => s.length > 0);
  if (sides.length === 0) return Number.NaN;
  const positive = sides.every((s) => s.every((v) => v > 0));
  const deviations: number[] = [];
  let scale = 0;
  for (const s of sides) {
    const xs = positive ? s.map(Math.log) : [...s];
    const m = median(xs);
    for (const x of xs) deviations.push(Math.abs(x - m));
    scale += Math.abs(median(s)) / sides.length;
  }
  const mad = 1.4826 * median(deviations);
  if (positive) return Math.sqrt(Math.expm1(mad * mad));
  return scale > 0 ? mad / scale : Number.NaN;
}
