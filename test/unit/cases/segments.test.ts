/**
 * Adaptive I/O (`run io --precision P`): after each segment, a job stops for a recorded reason or
 * gets a further segment sized by the projection to P and bounded by the caps (src/cases/io.ts).
 */
import { describe, expect, it } from 'vitest';
import { MIN_SEGMENT_WINDOWS, nextSegment } from '../../../src/cases/segments.js';
import { normal, seededRng } from '../../../src/stats/random.js';
import { projectedSamples, relativePrecision } from '../../../src/stats/precision.js';

const windows = (n: number, cv: number, seed = 'io-seg'): number[] => {
  const rng = seededRng(seed);
  return Array.from({ length: n }, () => 1000 * Math.exp(cv * normal(rng)));
};

describe('the next I/O segment', () => {
  it('stops once the windows pin the median within the precision asked', () => {
    const xs = windows(40, 0.02);
    expect(relativePrecision(xs)).toBeLessThan(0.03);
    const step = nextSegment(xs, 5_000, { precision: 0.03, maxSamples: 400 }, { intervalMs: 125 });
    expect('stop' in step && step.stop.reason).toBe('precision');
  });

  it('sizes a further segment by the projection: noisier windows get a longer one, never under the minimum', () => {
    const rule = { precision: 0.03, maxSamples: 400 };
    const calm = windows(15, 0.08);
    const wild = windows(15, 0.3);
    const a = nextSegment(calm, 5_000, rule, { intervalMs: 125 });
    const b = nextSegment(wild, 5_000, rule, { intervalMs: 125 });
    if ('stop' in a || 'stop' in b) throw new Error('expected segments');
    expect(b.runtimeSec).toBeGreaterThan(a.runtimeSec);
    expect(a.runtimeSec * 8).toBeGreaterThanOrEqual(MIN_SEGMENT_WINDOWS + 1);
    // The projection: about n·(p/target)² windows in all.
    const want = Math.min(400, projectedSamples(wild, 0.03)) - wild.length;
    expect(b.runtimeSec).toBe(Math.ceil(((want + 1) * 125) / 1000));
  });

  it('keeps within the cap on samples and the time the cap leaves, and stops when no segment fits', () => {
    const wild = windows(15, 0.3);
    const capped = nextSegment(wild, 5_000, { precision: 0.01, maxSamples: 31 }, { intervalMs: 125 });
    expect(capped).toEqual({ runtimeSec: Math.ceil((17 * 125) / 1000) });
    const tight = nextSegment(
      wild,
      5_000,
      { precision: 0.01, maxSamples: 400, maxTimeMs: 60_000 },
      { intervalMs: 125, budgetSec: 4.7 },
    );
    expect(tight).toEqual({ runtimeSec: 4 });
    const none = nextSegment(
      wild,
      55_000,
      { precision: 0.01, maxSamples: 400, maxTimeMs: 60_000 },
      { intervalMs: 125, budgetSec: 0.4 },
    );
    expect('stop' in none && none.stop.reason).toBe('max-time');
    if ('stop' in none)
      expect(none.stop.note).toMatch(
        /cap of 60 s left no room for another segment at \d+\.\d % after 15 samples \(asked 1\.0 %\)/,
      );
    const spent = nextSegment(
      wild,
      61_000,
      { precision: 0.01, maxSamples: 400, maxTimeMs: 60_000 },
      { intervalMs: 125, budgetSec: 10 },
    );
    expect('stop' in spent && spent.stop.reason).toBe('max-time');
    const full = nextSegment(windows(400, 0.3), 1_000, { precision: 0.001, maxSamples: 400 }, { intervalMs: 125 });
    expect('stop' in full && full.stop.reason).toBe('max-samples');
  });
});
