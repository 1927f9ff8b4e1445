/**
 * Interleaved A/B runs (`kvmbench ab`): two variants of one suite, run case by case in a
 * seeded, balanced order on one host, so that drift over the run (thermal state, other load,
 * a cache warming up) lands on both variants alike instead of on the one that ran second.
 *
 * The unit of interleaving is the case: for each case of the suite, in suite order, A's run of
 * it and B's run of it follow each other, and which of the two goes first is drawn from a
 * seeded shuffle in which A leads exactly half the cases (one more for either when the count is
 * odd). docs/compare.md ("Interleaved A/B on one host") says why cases and not samples.
 */
import { seededRng } from '../stats/random.js';

/** Default `--seed` of `kvmbench ab` (recorded in ab.json and in the comparison). */
export const DEFAULT_AB_SEED = 20260101;

/**
 * Default `--rounds` of `kvmbench ab`: each case runs in seven fresh guests a variant, so that
 * compare tests guest against guest (src/compare/rounds.ts) rather than the samples of one guest
 * each, which are not independent and made identical variants differ (docs/compare.md). Seven is
 * the fewest with which the exact test can confirm a change in a family of up to 85 metrics
 * (2 / C(14, 7) < 0.05 / 85), enough for the exits suite; fewer rounds leave big families "too few".
 */
export const DEFAULT_AB_ROUNDS = 7;

export type AbLabel = 'A' | 'B';

/** One step of an interleaved run: which arm (0 = A, 1 = B) runs which round of which case (index into the case list). */
export interface AbStep {
  arm: 0 | 1;
  index: number;
  round: number;
}

/**
 * Which variant runs first for each of `cases` cases: a seeded shuffle of ⌈k/2⌉ of one label and
 * ⌊k/2⌋ of the other (which label gets the odd one out is drawn too), so A leads as often as B.
 */
export function abFirsts(cases: number, seed: number | string = DEFAULT_AB_SEED): AbLabel[] {
  const rng = seededRng(`ab:${seed}`);
  const extra: AbLabel = rng() < 0.5 ? 'A' : 'B';
  const other: AbLabel = extra === 'A' ? 'B' : 'A';
  const firsts: AbLabel[] = Array.from({ length: cases }, (_, i) => (i % 2 === 0 ? extra : other));
  for (let i = firsts.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [firsts[i], firsts[j]] = [firsts[j]!, firsts[i]!];
  }
  return firsts;
}

/**
 * Steps for the given firsts: per case, in suite order, its rounds, each round both variants back
 * to back. The drawn first variant leads the case's odd rounds and the other its even ones
 * (A B, B A, A B, ...), so a drift within a case lands on both alike.
 */
export function abSteps(firsts: readonly AbLabel[], rounds = 1): AbStep[] {
  return firsts.flatMap((first, index): AbStep[] =>
    Array.from({ length: rounds }, (_, round): AbStep[] => abRound(first, index, round)).flat(),
  );
}

/** Round `round` of case `index` whose first round `first` led: both variants, the lead alternating round by round (also for rounds `ab --precision` adds). */
export function abRound(first: AbLabel, index: number, round: number): AbStep[] {
  const lead: 0 | 1 = (first === 'A') === (round % 2 === 0) ? 0 : 1;
  return [
    { arm: lead, index, round },
    { arm: lead === 0 ? 1 : 0, index, round },
  ];
}

/** The run order of `cases` cases: both variants of each case back to back, the first as `abFirsts` draws it. */
export function abOrder(cases: number, seed: number | string = DEFAULT_AB_SEED, rounds = 1): AbStep[] {
  return abSteps(abFirsts(cases, seed), rounds);
}

/**
 * `--a-args "-icount shift=7"` → `['-icount', 'shift=7']`: split on whitespace, nothing else.
 * No shell is involved, so quotes and `$` are passed to QEMU as they are.
 */
export function splitQemuArgs(s: string | undefined): string[] {
  return (s ?? '').split(/\s+/).filter((w) => w !== '');
}
