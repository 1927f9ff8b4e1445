/**
 * Segments of a continuous job (fio in the I/O case, iperf3 and ping in the network case): a job
 * measured in windows takes more of them by running again, and each run costs a start (a boot, a
 * connection), so under `--precision` the next run is sized by projection and bounded by the caps.
 * Pure functions.
 */
import { projectedSamples, relativePrecision, shouldStop, type Sampling, type StopRule } from '../stats/precision.js';

/** Fewest windows a further segment adds: a start (a boot, a connection) is too dear for fewer. */
export const MIN_SEGMENT_WINDOWS = 8;

/**
 * After a job's segments so far: stop (shouldStop's record, or the time cap when no further
 * segment fits in what is left of it), or the runtime of the next segment, sized by the
 * projection to the precision asked and bounded by the cap on samples and by `budgetSec`, the
 * runtime the time cap leaves this job (each segment also has its ramp, which gives no windows).
 */
export function nextSegment(
  windows: readonly number[],
  spentMs: number,
  rule: StopRule,
  o: { intervalMs: number; budgetSec?: number },
): { stop: Sampling } | { runtimeSec: number } {
  const stop = shouldStop(windows, spentMs, rule);
  if (stop) return { stop };
  const n = windows.length;
  const target = rule.precision ?? 0;
  const wanted = Math.min(rule.maxSamples - n, Math.max(projectedSamples(windows, target) - n, MIN_SEGMENT_WINDOWS));
  // A run's first and last windows are partial and dropped (fio, iperf3's ramp): one more.
  const runtimeSec = Math.ceil(((wanted + 1) * o.intervalMs) / 1000);
  if (o.budgetSec === undefined) return { runtimeSec };
  const fits = Math.floor(o.budgetSec);
  if (fits * 1000 < 2 * o.intervalMs || fits < 1) {
    const p = relativePrecision(windows);
    return {
      stop: {
        reason: 'max-time',
        n,
        elapsedMs: spentMs,
        ...(Number.isFinite(p) ? { precision: p } : {}),
        target,
        note: `cap of ${Math.round((rule.maxTimeMs ?? 0) / 1000)} s left no room for another segment at ${pctText(p)} after ${n} samples (asked ${pctText(target)})`,
      },
    };
  }
  return { runtimeSec: Math.min(runtimeSec, fits) };
}

const pctText = (f: number): string => (Number.isFinite(f) ? `${(f * 100).toFixed(1)} %` : 'no interval yet');

/**
 * The record of a figure of a job sampled with its headline's windows (the guest throughput):
 * the same reason, its own count and precision.
 */
export function followSampling(stop: Sampling, xs: readonly number[], headline: readonly number[]): Sampling {
  if (xs === headline) return { ...stop, n: xs.length };
  const p = relativePrecision(xs);
  return {
    reason: stop.reason,
    n: xs.length,
    ...(Number.isFinite(p) ? { precision: p } : {}),
    ...(stop.target !== undefined ? { target: stop.target } : {}),
    ...(stop.elapsedMs !== undefined ? { elapsedMs: stop.elapsedMs } : {}),
    note: `${xs.length} windows at ${pctText(p)}, taken with the job's guest windows: ${stop.note}`,
  };
}
