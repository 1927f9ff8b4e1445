/**
 * `ab --precision`: the decision after each look at a case (src/compare/decide-rounds.ts): stop
 * when every tested row is decided, else add the rounds the undecided rows need (toConfirm,
 * needed), at least a quarter more, never past --max-rounds or the time left.
 */
import { describe, expect, it } from 'vitest';
import type { MetricComparison } from '../../../src/compare/compare.js';
import { nextRounds } from '../../../src/compare/decide-rounds.js';

const row = (key: string, verdict: MetricComparison['verdict'], extra: Partial<MetricComparison> = {}): MetricComparison =>
  ({
    key,
    verdict,
    change: 0.3,
    threshold: 0.05,
    notes: [],
    refused: [],
    forced: [],
    vmDiffers: [],
    ...extra,
  }) as MetricComparison;

const caps = { maxRounds: 20 };

describe('nextRounds', () => {
  it('stops when every tested row is decided, whatever the rows that cannot be compared', () => {
    const s = nextRounds([row('a', 'regressed'), row('b', 'unchanged'), row('c', 'not-comparable')], 7, 7000, caps);
    expect(s.more).toBe(0);
    expect(s.stopped).toMatchObject({ reason: 'decided', n: 7 });
    expect(s.stopped!.note).toBe('every tested row decided after 7 rounds (1 regressed, 0 improved, 1 unchanged)');
  });

  it('adds the rounds an inconclusive row needs to be confirmed at 90 % power', () => {
    const s = nextRounds([row('a', 'unchanged'), row('b', 'inconclusive', { toConfirm: 13 })], 7, 7000, caps);
    expect(s.more).toBe(6);
    expect(s.undecided).toEqual([{ key: 'b', verdict: 'inconclusive', need: 13 }]);
  });

  it('grows by at least a quarter, so the looks stay few, also for a change inside the band', () => {
    expect(nextRounds([row('a', 'inconclusive', { toConfirm: 8 })], 7, 0, caps).more).toBe(2);
    expect(nextRounds([row('a', 'inconclusive', { change: 0.02 })], 8, 0, caps).more).toBe(2);
    expect(nextRounds([row('a', 'too-few', { needed: 4 })], 3, 0, caps).more).toBe(1);
  });

  it('never goes past --max-rounds, and stops at it naming the undecided rows', () => {
    expect(nextRounds([row('a', 'inconclusive', { toConfirm: 19 })], 17, 0, caps).more).toBe(3);
    const s = nextRounds([row('a', 'inconclusive', { toConfirm: 30 }), row('b', 'inconclusive', { change: 0.01 })], 20, 0, caps);
    expect(s.stopped).toMatchObject({ reason: 'max-rounds', n: 20 });
    expect(s.stopped!.note).toBe(
      'cap of 20 rounds reached with 2 of 2 rows undecided (a inconclusive, needs about 30; b inconclusive)',
    );
  });

  it('stops early when no undecided row can be decided within the cap', () => {
    const s = nextRounds([row('a', 'inconclusive', { toConfirm: 400 }), row('b', 'inconclusive', { change: 0.5 })], 7, 0, caps);
    expect(s.more).toBe(0);
    expect(s.stopped!.reason).toBe('max-rounds');
    expect(s.stopped!.note).toMatch(/^stopped after 7 rounds: 2 of 2 rows undecided .*beyond the cap of 20 rounds/);
  });

  it('adds only the rounds that fit in --max-time at the pace so far, and stops when none does', () => {
    // 7 rounds in 70 s: 10 s a round; 35 s left fit 3.
    expect(nextRounds([row('a', 'inconclusive', { toConfirm: 15 })], 7, 70_000, { ...caps, maxTimeMs: 105_000 }).more).toBe(3);
    const s = nextRounds([row('a', 'inconclusive', { toConfirm: 15 })], 7, 70_000, { ...caps, maxTimeMs: 75_000 });
    expect(s.stopped).toMatchObject({ reason: 'max-time', n: 7 });
    expect(s.stopped!.note).toMatch(/^cap of 75 s reached after 7 rounds with 1 of 1 rows undecided/);
  });

  it('stops a case with nothing to compare', () => {
    expect(nextRounds([row('a', 'not-comparable')], 7, 0, caps).stopped!.reason).toBe('cut-short');
  });
});
