/**
 * Conformance tests (kvm-unit-tests stanzas, kind `conformance`) over the history: one series per
 * host class, layer, accelerator and test, a verdict per run. `history trend --test NAME` shows
 * them; `history check` flags a test that passed and now fails. Verdicts, not statistics: a
 * functional test either holds on a host or it does not, so one flip is a finding.
 */
import { globToRegExp } from '../glob.js';
import type { HostClass } from './host-class.js';
import type { ConformancePoint } from './store.js';

export const CONFORMANCE_TREND_SCHEMA = 'kvmbench.history-conformance/1';

export interface ConformanceRun {
  runId: string;
  startedAt: string;
  hostname: string;
  gitRevision?: string;
  status: string;
  reason?: string;
  checksPass: number;
  checksFail: number;
  checksOther: number;
}

export interface ConformanceSeries {
  hostClass: HostClass;
  layer: number;
  accelerator: string;
  caseId: string;
  test: string;
  /** Oldest first. */
  runs: ConformanceRun[];
}

export interface ConformanceTrend {
  schema: typeof CONFORMANCE_TREND_SCHEMA;
  store: string;
  patterns: string[];
  series: ConformanceSeries[];
}

/** A test's name, its case id (`kut/apic`) or a glob over either selects it. */
export function matchesTest(p: Pick<ConformancePoint, 'test' | 'caseId'>, patterns: readonly string[]): boolean {
  return patterns.some((pat) => {
    const re = globToRegExp(pat);
    return re.test(p.test) || re.test(p.caseId);
  });
}

/** Points grouped into series, each in time order (the store returns them oldest first). */
export function conformanceSeries(points: readonly ConformancePoint[], classes: readonly HostClass[]): ConformanceSeries[] {
  const byId = new Map(classes.map((c) => [c.id, c]));
  const series = new Map<string, ConformanceSeries>();
  for (const p of points) {
    const accelerator = p.accelerator ?? 'unknown';
    const key = JSON.stringify([p.hostClass, p.layer, accelerator, p.caseId]);
    let s = series.get(key);
    if (!s) {
      s = {
        hostClass: byId.get(p.hostClass) ?? { id: p.hostClass },
        layer: p.layer,
        accelerator,
        caseId: p.caseId,
        test: p.test,
        runs: [],
      };
      series.set(key, s);
    }
    s.runs.push({
      runId: p.runId,
      startedAt: p.startedAt,
      hostname: p.hostname,
      ...(p.gitRevision ? { gitRevision: p.gitRevision } : {}),
      status: p.status,
      ...(p.reason ? { reason: p.reason } : {}),
      checksPass: p.checksPass,
      checksFail: p.checksFail,
      checksOther: p.checksOther,
    });
  }
  return [...series.values()].sort(
    (a, b) => a.caseId.localeCompare(b.caseId) || a.hostClass.id.localeCompare(b.hostClass.id) || a.layer - b.layer,
  );
}

export function buildConformanceTrend(
  points: readonly ConformancePoint[],
  classes: readonly HostClass[],
  store: string,
  patterns: readonly string[],
  last?: number,
): ConformanceTrend {
  const series = conformanceSeries(
    points.filter((p) => matchesTest(p, patterns)),
    classes,
  ).map((s) => (last ? { ...s, runs: s.runs.slice(-last) } : s));
  return { schema: CONFORMANCE_TREND_SCHEMA, store, patterns: [...patterns], series };
}

const failed = (status: string): boolean => status === 'fail' || status === 'error';

export interface ConformanceFlip {
  kind: 'regression' | 'fixed';
  hostClass: HostClass;
  layer: number;
  accelerator: string;
  caseId: string;
  test: string;
  /** The last run before the flip that ran the test (skips are not verdicts), and the run of the flip. */
  before: ConformanceRun;
  after: ConformanceRun;
  /** How far from the series' end the flip is (1 = the last run). */
  runsAgo: number;
  /** A regression whose test still fails in the series' last run that ran it: what `--fail-on-regression` counts. */
  current: boolean;
  /** Sub-checks that fail after and did not fail before (filled from the store for regressions). */
  newlyFailing?: string[];
}

export interface ConformanceCheck {
  /** Conformance series examined. */
  series: number;
  lastRuns: number;
  flips: ConformanceFlip[];
  /** Regressions still failing at the end of their series. */
  regressions: number;
}

/**
 * Flips between pass and fail among the last `lastRuns` runs of each series: pass → fail (or
 * error) is a regression, fail → pass is fixed. A skip in between is not a verdict, so
 * pass, skip, fail is a flip from the pass.
 */
export function conformanceFlips(series: readonly ConformanceSeries[], lastRuns: number): ConformanceCheck {
  const flips: ConformanceFlip[] = [];
  for (const s of series) {
    const ran = s.runs.map((r, i) => ({ r, i })).filter(({ r }) => r.status !== 'skip');
    const lastVerdict = ran.at(-1)?.r.status;
    for (let k = 1; k < ran.length; k++) {
      const before = ran[k - 1]!,
        after = ran[k]!;
      const runsAgo = s.runs.length - after.i;
      if (runsAgo > lastRuns) continue;
      const kind =
        before.r.status === 'pass' && failed(after.r.status)
          ? 'regression'
          : failed(before.r.status) && after.r.status === 'pass'
            ? 'fixed'
            : undefined;
      if (!kind) continue;
      flips.push({
        kind,
        hostClass: s.hostClass,
        layer: s.layer,
        accelerator: s.accelerator,
        caseId: s.caseId,
        test: s.test,
        before: before.r,
        after: after.r,
        runsAgo,
        current: kind === 'regression' && lastVerdict !== undefined && failed(lastVerdict),
      });
    }
  }
  flips.sort((a, b) => Number(b.current) - Number(a.current) || a.runsAgo - b.runsAgo || a.caseId.localeCompare(b.caseId));
  return { series: series.length, lastRuns, flips, regressions: flips.filter((f) => f.current).length };
}

/** Sub-checks failing in `after` that did not fail in `before` (names in the order `after` reported them). */
export function newlyFailingChecks(
  before: ReadonlyArray<{ name: string; status: string }>,
  after: ReadonlyArray<{ name: string; status: string }>,
): string[] {
  const bad = (s: string): boolean => s === 'fail' || s === 'xpass';
  const was = new Set(before.filter((c) => bad(c.status)).map((c) => c.name));
  return [...new Set(after.filter((c) => bad(c.status) && !was.has(c.name)).map((c) => c.name))];
}
