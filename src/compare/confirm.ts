/**
 * How many replicates a side an inconclusive row would need for its observed change to be
 * confirmed: the smallest n (the same on both sides) whose detectable shift at DETECT_POWER
 * (90 %), with the row's measured noise, band and family, is no larger than the change seen.
 * It searches n (doubling, then bisection) on `detectionPower`, the function `detectableShift`
 * inverts, so each n costs one evaluation. A change inside
 * the noise band can never be called regressed or improved, whatever n: undefined.
 */
import { DETECT_POWER, detectionPower } from './power.js';

/** Beyond this the answer is "more than anyone will run": reported as undefined. */
export const MAX_REPLICATES = 100_000;

export interface ConfirmOptions {
  /** The observed relative change of the medians (0.3 = 30 % slower for a lower-is-better metric). */
  change: number;
  cv: number;
  family: number;
  alpha?: number;
  noiseBand: number;
  ciLevel?: number;
}

export function replicatesToConfirm(o: ConfirmOptions): number | undefined {
  const shift = Math.abs(o.change);
  if (!Number.isFinite(shift) || !(shift > o.noiseBand) || !(o.cv >= 0)) return undefined;
  const ok = (n: number): boolean => detectionPower({ n1: n, n2: n, cv: o.cv, family: o.family, noiseBand: o.noiseBand, ...(o.alpha !== undefined ? { alpha: o.alpha } : {}), ...(o.ciLevel !== undefined ? { ciLevel: o.ciLevel } : {}) }, shift) >= DETECT_POWER;
  let hi = 4;
  while (!ok(hi)) {
    hi *= 2;
    if (hi > MAX_REPLICATES) return undefined;
  }
  let lo = hi / 2;
  if (ok(lo)) return lo;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (ok(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}
