/**
 * How many samples per side a clear shift needs to be confirmed by compare's test and
 * correction, found by simulation (seeded, so the figure is reproducible).
 *
 * Model: every metric has lognormal noise with coefficient of variation `cv`; one metric
 * of `metrics` is shifted by `shift` (0.3 = 30 % slower), the others are not. A trial
 * succeeds when that metric's Holm-adjusted Mann-Whitney p is below alpha and its change
 * exceeds the noise band, exactly as comparePair decides "regressed".
 */
import { seededRng, normal } from './random.js';
import { holm, mannWhitney, relativeChange } from './stats.js';
import { median } from '../stats/summary.js';

export interface PowerOptions {
  shift?: number;
  cv?: number;
  metrics?: number;
  alpha?: number;
  noiseBand?: number;
  trials?: number;
  seed?: string;
}

export function simulatePower(n: number, o: PowerOptions = {}): number {
  const shift = o.shift ?? 0.3;
  const sigma = Math.sqrt(Math.log(1 + (o.cv ?? 0.1) ** 2));
  const metrics = o.metrics ?? 50;
  const alpha = o.alpha ?? 0.05;
  const band = o.noiseBand ?? 0.05;
  const trials = o.trials ?? 400;
  const rng = seededRng(o.seed ?? `power:${n}`);
  const draw = (k: number, scale: number): number[] => Array.from({ length: k }, () => scale * Math.exp(sigma * normal(rng)));
  let hits = 0;
  for (let t = 0; t < trials; t++) {
    const ps: number[] = [];
    let change = 0;
    for (let m = 0; m < metrics; m++) {
      const a = draw(n, 100);
      const b = draw(n, m === 0 ? 100 * (1 + shift) : 100);
      ps.push(mannWhitney(a, b).p);
      if (m === 0) change = relativeChange(median(a), median(b));
    }
    if (holm(ps)[0]! < alpha && change > band) hits++;
  }
  return hits / trials;
}

/** Smallest n per side reaching `power` (default 0.95) under the options. */
export function requiredSamplesPerSide(power = 0.95, o: PowerOptions = {}, maxN = 60): number {
  for (let n = 2; n <= maxN; n++) if (simulatePower(n, o) >= power) return n;
  return Number.POSITIVE_INFINITY;
}
