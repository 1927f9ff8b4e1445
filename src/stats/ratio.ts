/**
 * A 95 % interval for a ratio of two sample sets' medians (the I/O and network guest/host
 * ratios): a percentile bootstrap that resamples each side independently, B times, and takes
 * the 2.5th and 97.5th percentiles of median(guest*) / median(host*). Chosen over Fieller's
 * method because Fieller needs means and a normal model, and these figures are medians of
 * skewed interval samples. Seeded, so the same samples give the same interval.
 */
import { Type, type Static } from '@sinclair/typebox';
import { median, quantileSorted } from './summary.js';

export const RatioInterval = Type.Object({
  /** The ratio itself: median of the numerator's samples over the denominator's. */
  estimate: Type.Number(),
  low: Type.Number(),
  high: Type.Number(),
  level: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 }),
  /** How the interval was found, one sentence. */
  method: Type.String(),
  /** Samples on each side. */
  n: Type.Object({ numerator: Type.Integer({ minimum: 0 }), denominator: Type.Integer({ minimum: 0 }) }),
});
export type RatioInterval = Static<typeof RatioInterval>;

/** mulberry32: small, seedable; statistics import nothing of compare's PRNG. */
function rng32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function resampledMedian(xs: readonly number[], rnd: () => number, buf: number[]): number {
  const n = xs.length;
  for (let i = 0; i < n; i++) buf[i] = xs[Math.floor(rnd() * n)]!;
  buf.sort((a, b) => a - b);
  return n % 2 ? buf[(n - 1) / 2]! : (buf[n / 2 - 1]! + buf[n / 2]!) / 2;
}

/**
 * Bootstrap interval of median(num)/median(den). Undefined when a side is empty or the
 * denominator's median is not positive. With one sample a side the interval is the point.
 */
export function ratioOfMediansInterval(
  num: readonly number[],
  den: readonly number[],
  o: { level?: number; resamples?: number; seed?: number } = {},
): RatioInterval | undefined {
  if (num.length === 0 || den.length === 0) return undefined;
  const level = o.level ?? 0.95;
  const B = o.resamples ?? 2000;
  const dm = median(den);
  if (!(dm > 0)) return undefined;
  const estimate = median(num) / dm;
  const rnd = rng32(o.seed ?? 0x5eed);
  const bn: number[] = new Array(num.length),
    bd: number[] = new Array(den.length);
  const draws: number[] = [];
  for (let b = 0; b < B; b++) {
    const d = resampledMedian(den, rnd, bd);
    if (d > 0) draws.push(resampledMedian(num, rnd, bn) / d);
  }
  draws.sort((a, b) => a - b);
  const tail = (1 - level) / 2;
  return {
    estimate,
    low: quantileSorted(draws, tail),
    high: quantileSorted(draws, 1 - tail),
    level,
    method: `percentile bootstrap of the ratio of medians, ${B} resamples of each side independently`,
    n: { numerator: num.length, denominator: den.length },
  };
}
