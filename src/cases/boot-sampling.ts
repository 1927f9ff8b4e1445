/**
 * How many boots a boot case takes: the suite's `repeat`, or with `--precision` (ctx.sampling)
 * boots until the 95 % interval of the headline's median is within the precision, the same stop
 * rule the exits cases use (src/stats/precision.ts shouldStop), with the suite's `repeat` as the
 * fewest boots and `--max-samples`/`--max-time` (and the case's deadline) as caps.
 */
import { DEFAULT_MAX_SAMPLES, fixedSampling, shouldStop, type Sampling, type StopRule } from '../stats/precision.js';
import type { CaseContext } from './types.js';

export interface BootPlan {
  /** The stop rule when adaptive; undefined: a fixed count of `boots`. */
  rule?: StopRule;
  /** Boots planned (fixed) or the most that may be taken (adaptive). */
  boots: number;
  /** Wall time at the first timed boot (Date.now()). */
  startedAt: number;
}

/**
 * `reserveMs`: what the case keeps before its deadline for one more boot and its teardown, so a
 * time cap never turns into a deadline error.
 */
export function planBoots(repeat: number, ctx: CaseContext, reserveMs: number): BootPlan {
  const startedAt = Date.now();
  const want = ctx.sampling;
  const fixed = Math.max(1, repeat);
  if (want?.precision === undefined) return { boots: fixed, startedAt };
  const room = Math.max(1000, ctx.deadlineAt - startedAt - reserveMs);
  const maxSamples = Math.max(want.maxSamples ?? DEFAULT_MAX_SAMPLES, fixed);
  return {
    boots: maxSamples,
    startedAt,
    rule: {
      precision: want.precision,
      maxSamples,
      maxTimeMs: Math.min(want.maxTimeMs ?? Number.POSITIVE_INFINITY, room),
      minSamples: fixed,
      unit: 'boots',
    },
  };
}

/** After a boot: the stop decision of an adaptive plan (undefined: boot again, or a fixed plan). */
export function bootStop(plan: BootPlan, headline: readonly number[]): Sampling | undefined {
  return plan.rule ? shouldStop(headline, Date.now() - plan.startedAt, plan.rule) : undefined;
}

/** The record every metric of a boot case carries once its boots are over. */
export function bootSampling(plan: BootPlan, headline: readonly number[], stop: Sampling | undefined, why?: string): Sampling {
  const elapsedMs = Date.now() - plan.startedAt;
  if (stop && !why) return stop;
  if (plan.rule && !why)
    return shouldStop(headline, elapsedMs, { ...plan.rule, maxSamples: headline.length }) ?? fixedSampling(headline);
  return fixedSampling(headline, {
    elapsedMs,
    ...(plan.rule ? { cutShort: true } : { expected: plan.boots }),
    why: why ?? `count of ${plan.boots} boots`,
  });
}
