/**
 * Conformance tests (kind `conformance`) compared run against run by verdict, not statistics:
 * a test that passed in the base and fails (or errors) in the new run is a regression; one that
 * failed and now passes is fixed; a flip between pass and skip is its own row (the host or the
 * tree changed what runs, which is neither); other changes are listed; unchanged tests counted.
 * Within a test, the sub-checks that went from pass to fail (or appeared failing) are named.
 */
import type { CaseResult, CaseStatus, Results } from '../results/model.js';

export const CONFORMANCE_CHANGES = [
  'regressed',
  'fixed',
  'pass-to-skip',
  'skip-to-pass',
  'other',
  'only-base',
  'only-new',
] as const;
export type ConformanceChange = (typeof CONFORMANCE_CHANGES)[number];

export interface ConformanceRow {
  caseId: string;
  change: ConformanceChange;
  base?: CaseStatus;
  new?: CaseStatus;
  /** Sub-checks that passed in the base and fail in the new run (or fail there and were not in the base). */
  newFailures: string[];
  /** Sub-checks that failed in the base and pass in the new run. */
  newPasses: string[];
  /** The new run's reason (else the base's), for the row. */
  reason?: string;
}

export interface ConformanceComparison {
  rows: ConformanceRow[];
  /** Tests present in both runs with the same status. */
  unchanged: number;
  counts: Record<ConformanceChange, number>;
  regressions: number;
}

const failing = (s: CaseStatus): boolean => s === 'fail' || s === 'error';

function isConformance(c: CaseResult): boolean {
  return c.kind === 'conformance' || c.conformance !== undefined;
}

function changeOf(a: CaseStatus, b: CaseStatus): ConformanceChange | undefined {
  if (a === b || (failing(a) && failing(b))) return undefined;
  if (a === 'pass' && failing(b)) return 'regressed';
  if (failing(a) && b === 'pass') return 'fixed';
  if (a === 'pass' && b === 'skip') return 'pass-to-skip';
  if (a === 'skip' && b === 'pass') return 'skip-to-pass';
  return 'other';
}

function subCheckDiff(a: CaseResult, b: CaseResult): { newFailures: string[]; newPasses: string[] } {
  const bad = (s: string): boolean => s === 'fail' || s === 'xpass';
  const before = new Map<string, string>();
  for (const k of a.conformance?.checks ?? []) if (!before.has(k.name)) before.set(k.name, k.status);
  const newFailures: string[] = [];
  const newPasses: string[] = [];
  const seen = new Set<string>();
  for (const k of b.conformance?.checks ?? []) {
    if (seen.has(k.name)) continue;
    seen.add(k.name);
    const was = before.get(k.name);
    if (bad(k.status) && (was === undefined || !bad(was))) newFailures.push(k.name);
    if (k.status === 'pass' && was !== undefined && bad(was)) newPasses.push(k.name);
  }
  return { newFailures, newPasses };
}

/** Undefined when neither run has a conformance case. */
export function compareConformance(base: Results, next: Results): ConformanceComparison | undefined {
  const a = new Map(base.cases.filter(isConformance).map((c) => [c.id, c]));
  const b = new Map(next.cases.filter(isConformance).map((c) => [c.id, c]));
  if (a.size === 0 && b.size === 0) return undefined;
  const rows: ConformanceRow[] = [];
  let unchanged = 0;
  for (const [id, ca] of a) {
    const cb = b.get(id);
    if (!cb) {
      rows.push({ caseId: id, change: 'only-base', base: ca.status, newFailures: [], newPasses: [] });
      continue;
    }
    const change = changeOf(ca.status, cb.status);
    if (!change) {
      unchanged++;
      continue;
    }
    const reason = cb.reason ?? ca.reason;
    rows.push({ caseId: id, change, base: ca.status, new: cb.status, ...subCheckDiff(ca, cb), ...(reason ? { reason } : {}) });
  }
  for (const [id, cb] of b)
    if (!a.has(id))
      rows.push({
        caseId: id,
        change: 'only-new',
        new: cb.status,
        newFailures: [],
        newPasses: [],
        ...(cb.reason ? { reason: cb.reason } : {}),
      });
  const order = (c: ConformanceChange): number => CONFORMANCE_CHANGES.indexOf(c);
  rows.sort((x, y) => order(x.change) - order(y.change));
  const counts = Object.fromEntries(CONFORMANCE_CHANGES.map((c) => [c, rows.filter((r) => r.change === c).length])) as Record<
    ConformanceChange,
    number
  >;
  return { rows, unchanged, counts, regressions: counts.regressed };
}
