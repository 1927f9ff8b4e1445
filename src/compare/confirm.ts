/**
 * How many replicates a side an inconclusive row would need for its observed change to be
 * confirmed: the smallest n (the same on both sides) whose detectable shift at DETECT_POWER
 * (90 %), with the row's measured noise, band and family, is no larger than the change seen.
 * It searches n on `detectionPower`, the function `detectableShift` inverts, from a guess that
 * scales the row's own detectable shift (its excess over the band shrinks as 1/√n), bracketing
 * in steps of 25 % and bisecting: a handful of evaluations a row. A change inside
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

export function replicatesToConfirm(o: ConfirmOptions & { hint?: { n: number; detectable: number } }): number | undefined {
  const shift = Math.abs(o.change);
  if (!Number.isFinite(shift) || !(shift > o.noiseBand) || !(o.cv >= 0)) return undefined;
  const ok = (n: number): boolean =>
    detectionPower(
      {
        n1: n,
        n2: n,
        cv: o.cv,
        family: o.family,
        noiseBand: o.noiseBand,
        ...(o.alpha !== undefined ? { alpha: o.alpha } : {}),
        ...(o.ciLevel !== undefined ? { ciLevel: o.ciLevel } : {}),
      },
      shift,
    ) >= DETECT_POWER;
  // First guess from the row's own detectable shift: its excess over the band shrinks as 1/√n.
  const lb = Math.log1p(o.noiseBand);
  const h = o.hint;
  const guess =
    h && Number.isFinite(h.detectable) && h.detectable > o.noiseBand
      ? Math.ceil(h.n * ((Math.log1p(h.detectable) - lb) / (Math.log1p(shift) - lb)) ** 2)
      : 8;
  if (guess > 4 * MAX_REPLICATES) return undefined;
  let hi = Math.max(2, Math.min(guess, MAX_REPLICATES));
  let lo: number;
  if (ok(hi)) {
    lo = hi;
    do {
      hi = lo;
      lo = Math.max(1, Math.floor(lo / 1.25));
    } while (lo > 1 && ok(lo));
    if (lo <= 1 && ok(1)) return 1;
  } else {
    do {
      lo = hi;
      hi = Math.ceil(hi * 1.25) + 1;
      if (hi > MAX_REPLICATES) return undefined;
    } while (!ok(hi));
  }
  // ok(hi), not ok(lo): bisect to the smallest n that is.
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (ok(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}
