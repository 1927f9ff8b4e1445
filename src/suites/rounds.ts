/**
 * Rounds (`--rounds N`): a case run N times, each time in a fresh guest, recorded as one case.
 * The samples of one guest move together (where it was placed, what ran beside it), so a
 * comparison that wants to say "B is slower than A" needs several guests a side; the round is
 * that unit (src/compare/rounds.ts). The merged case keeps every round's samples in order, with
 * `metric.rounds` saying how many came from each round, and every round's outcome in `rounds`.
 */
import { metricKey } from '../results/identity.js';
import type { CaseResult, CaseRound, CaseStatus, Metric } from '../results/model.js';
import { summarize } from '../stats/summary.js';

/** Most rounds a case may run (a typo like 300 would otherwise run for hours). */
export const MAX_ROUNDS = 50;

const SEVERITY: Record<CaseStatus, number> = { skip: 0, pass: 1, fail: 2, error: 3 };

/**
 * One case result from its rounds (at least one, in the order they ran). `planned` is how many
 * were meant to run: fewer (an interrupt) is said in the reason.
 *
 * Status: the worst round's (error > fail > pass), skip only when every round skipped. Metrics:
 * by identity (name and dimension labels), in first-seen order, samples concatenated round by
 * round, summary recomputed; fields other than the samples come from the first round that has
 * the metric. Execution, VM record, guest and facts: the first round that ran.
 */
export function mergeRounds(rounds: readonly CaseResult[], planned: number): CaseResult {
  if (rounds.length === 0) throw new Error('internal error: mergeRounds needs at least one round');
  if (planned <= 1 && rounds.length === 1) return rounds[0]!;
  const ran = rounds.filter((r) => r.status !== 'skip');
  const first = ran[0] ?? rounds[0]!;
  const worst = rounds.reduce((w, r) => (SEVERITY[r.status] > SEVERITY[w.status] ? r : w), rounds[0]!);
  const status: CaseStatus = ran.length === 0 ? 'skip' : worst.status;

  const keys: string[] = [];
  const byKey = new Map<string, { metric: Metric; perRound: number[][] }>();
  rounds.forEach((r, i) => {
    for (const m of r.metrics) {
      const k = metricKey(r.id, m);
      let slot = byKey.get(k);
      if (!slot) {
        slot = { metric: m, perRound: rounds.map(() => []) };
        byKey.set(k, slot);
        keys.push(k);
      }
      // A metric met twice in one round: its samples stay together in that round.
      slot.perRound[i]!.push(...m.samples);
    }
  });
  const metrics: Metric[] = keys.map((k) => {
    const { metric, perRound } = byKey.get(k)!;
    const samples = perRound.flat();
    const sizes = perRound.map((s) => s.length);
    const method =
      `${metric.method.replace(/\s*$/, '')}${/[.!?]$/.test(metric.method.trim()) || metric.method.trim() === '' ? '' : '.'} Rounds: ${rounds.length}, each a fresh guest; samples per round ${sizes.join(', ')}.`.trim();
    return { ...metric, method, samples, summary: summarize(samples), rounds: sizes };
  });

  const reasons = rounds
    .map((r, i) => (r.reason && r.status !== 'pass' ? `round ${i + 1}: ${r.reason}` : undefined))
    .filter((x): x is string => x !== undefined);
  const allSkipSame = ran.length === 0 && new Set(rounds.map((r) => r.reason)).size === 1;
  const short = rounds.length < planned ? [`${rounds.length} of ${planned} rounds ran`] : [];
  const reason = allSkipSame ? rounds[0]!.reason : [...short, ...reasons].join('; ') || undefined;

  const roundRecords: CaseRound[] = rounds.map((r) => ({
    status: r.status,
    ...(r.reason !== undefined ? { reason: r.reason } : {}),
    ...(r.log !== undefined ? { log: r.log } : {}),
    startedAt: r.startedAt,
    durationMs: r.durationMs,
  }));
  const merged: CaseResult = {
    ...first,
    status,
    metrics,
    startedAt: rounds[0]!.startedAt,
    durationMs: Math.round(rounds.reduce((s, r) => s + r.durationMs, 0) * 1000) / 1000,
    rounds: roundRecords,
  };
  if (reason !== undefined) merged.reason = reason;
  else delete merged.reason;
  const log = rounds.find((r) => r.log)?.log;
  if (log) merged.log = log;
  return merged;
}

/** The log path of a round: the case's own for the first, `<case>.round-<k>.log` after it. */
export function roundLogPath(logPath: string, round: number): string {
  return round <= 0 ? logPath : logPath.replace(/\.log$/, `.round-${round + 1}.log`);
}
