/**
 * How many samples per side a clear shift needs to be confirmed by compare's test and
 * correction, found by simulation (seeded, so the figure is reproducible).
 *
 * Model: every metric has lognormal noise with coefficient of variation `cv`; one metric
 * of `metrics` is shifted by `shift` (0.3 = 30 % slower), the others are not. A trial
 * succeeds when that metric's Holm-adjusted Mann-Whitney p is below alpha and the whole
 * bootstrap CI of its change lies above the noise band, exactly as compare decides "regressed".
 */
import { seededRng, normal } from './random.js';
import { bootstrapChangeCI, holm, mannWhitney } from './stats.js';

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
