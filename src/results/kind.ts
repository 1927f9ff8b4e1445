/**
 * A case's kind (`CaseResult.kind`): the runner records the kind of the executor that ran it.
 * Results written before the field existed lack it; for those, the kind is the case's suite when
 * that suite is one of the kinds kvmbench had then (its shipped suites are named after the one
 * kind they run). Anything else stays undefined: views then treat the case as generic rather than
 * guess from names.
 */
import type { CaseResult, Results } from './model.js';

/**
 * The kinds that existed before `kind` was recorded. Frozen on purpose: a kind added later is
 * always recorded, so it never needs inferring.
 */
export const LEGACY_KINDS: readonly string[] = ['exits', 'boot-micro', 'boot-linux', 'io', 'raw', 'doctor'];

/** The case's recorded kind, else the one inferred for older results, else undefined. */
export function caseKind(c: Pick<CaseResult, 'kind' | 'suite'>): string | undefined {
  return c.kind ?? (LEGACY_KINDS.includes(c.suite) ? c.suite : undefined);
}

/** Fills in `kind` where it can be inferred (loaded older results); modifies and returns `results`. */
export function withCaseKinds(results: Results): Results {
  for (const c of results.cases) {
    if (c.kind !== undefined) continue;
    const k = caseKind(c);
    if (k !== undefined) c.kind = k;
  }
  return results;
}
