/**
 * `kvmbench ab --precision`: after each look at a case (its rounds so far, both variants), whether
 * to add rounds and how many. A case is done when every tested row of it is decided (regressed,
 * improved or unchanged; not inconclusive or too few); else the rounds a side each undecided row
 * needs (an inconclusive row's `toConfirm`, from its measured noise at 90 % power, src/compare/confirm.ts;
 * a too-few row's `needed`) set the next total, grown by at least a quarter so that the looks stay
 * few (each look is another chance for a chance verdict: docs/compare.md). Caps: `--max-rounds`,
 * and `--max-time` for the case as a whole, which no added round may overrun at the pace so far.
 * Pure.
 */
import type { Sampling } from '../stats/precision.js';
import type { MetricComparison } from './model.js';

/** Each look adds at least this fraction of the rounds so far. */
export const MIN_GROWTH = 0.25;

export interface RoundsCaps {
  maxRounds: number;
  /** Wall time for the case's rounds as a whole (both variants), ms. */
  maxTimeMs?: number;
}

/** A row of the case that has no verdict yet, and why. */
export interface UndecidedRow {
  key: string;
  verdict: 'inconclusive' | 'too-few';
  /** Rounds a side that would decide it (Infinity: none within reach; undefined: not known, e.g. a change inside the band). */
  need?: number;
}

export interface RoundsStep {
  /** Rounds to add (0: stop). */
  more: number;
  /** Why it stopped, when it did: the record every metric of the case carries (`roundSampling`). */
  stopped?: Sampling;
  undecided: UndecidedRow[];
}

const secs = (ms: number): string => `${ms >= 10_000 ? Math.round(ms / 1000) : (ms / 1000).toFixed(1)} s`;

function undecidedRows(rows: readonly MetricComparison[]): UndecidedRow[] {
  return rows.flatMap((r): UndecidedRow[] => {
    if (r.verdict === 'too-few')
      return [{ key: r.key, verdict: 'too-few', ...(r.needed !== undefined ? { need: r.needed } : {}) }];
    if (r.verdict !== 'inconclusive') return [];
    if (r.toConfirm !== undefined) return [{ key: r.key, verdict: 'inconclusive', need: r.toConfirm }];
    // No toConfirm: a change inside the band (more rounds can make it unchanged), or one beyond any count.
    return [{ key: r.key, verdict: 'inconclusive', ...(Math.abs(r.change) > r.threshold ? { need: Infinity } : {}) }];
  });
}

function names(u: readonly UndecidedRow[]): string {
  const shown = u
    .slice(0, 3)
    .map((x) => `${x.key} ${x.verdict}${x.need !== undefined && Number.isFinite(x.need) ? `, needs about ${x.need}` : ''}`);
  return shown.join('; ') + (u.length > 3 ? `; and ${u.length - 3} more` : '');
}

/** After `rounds` rounds a variant of a case whose comparison rows are `rows`: add rounds, or stop and say why. */
export function nextRounds(rows: readonly MetricComparison[], rounds: number, elapsedMs: number, caps: RoundsCaps): RoundsStep {
  const tested = rows.filter((r) => r.verdict !== 'not-comparable');
  const undecided = undecidedRows(tested);
  const stop = (reason: Sampling['reason'], note: string): RoundsStep => ({
    more: 0,
    stopped: { reason, n: rounds, elapsedMs, note },
    undecided,
  });
  if (tested.length === 0) return stop('cut-short', `rounds stopped after ${rounds}: no row of the case could be compared`);
  if (undecided.length === 0) {
    const count = (v: string) => tested.filter((r) => r.verdict === v).length;
    return stop(
      'decided',
      `every tested row decided after ${rounds} rounds (${count('regressed')} regressed, ${count('improved')} improved, ${count('unchanged')} unchanged)`,
    );
  }
  const left = `${undecided.length} of ${tested.length} rows undecided (${names(undecided)})`;
  if (rounds >= caps.maxRounds) return stop('max-rounds', `cap of ${caps.maxRounds} rounds reached with ${left}`);
  const pace = elapsedMs / Math.max(1, rounds);
  const fit =
    caps.maxTimeMs === undefined ? Number.POSITIVE_INFINITY : Math.floor((caps.maxTimeMs - elapsedMs) / Math.max(pace, 1));
  if (fit < 1) return stop('max-time', `cap of ${secs(caps.maxTimeMs!)} reached after ${rounds} rounds with ${left}`);
  if (undecided.every((u) => u.need !== undefined && u.need > caps.maxRounds))
    return stop(
      'max-rounds',
      `stopped after ${rounds} rounds: ${left}, beyond the cap of ${caps.maxRounds} rounds at the noise measured`,
    );
  const wanted = Math.max(
    rounds + 1,
    Math.ceil(rounds * (1 + MIN_GROWTH)),
    ...undecided.map((u) => (u.need !== undefined && u.need <= caps.maxRounds ? u.need : 0)),
  );
  // rounds < maxRounds and wanted > rounds, so at least one round is added; no more than fit in the time left.
  return { more: Math.min(Math.min(wanted, caps.maxRounds) - rounds, fit), undecided };
}
