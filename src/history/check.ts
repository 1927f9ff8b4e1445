/**
 * `history check`: change-point detection over every metric of every host class (or one), and
 * the change points that fall in the last N runs of their series: candidates for a person to
 * triage and for `kvmbench ab` to confirm on one host; history flags, A/B confirms.
 */
import { changePoints, type ChangePointOptions } from './change-points.js';
import type { HostClass } from './host-class.js';
import { seriesOf } from './series.js';
import type { MetricPoint } from './store.js';
import type { ConformanceCheck } from './conformance.js';
import { isRegression } from './trend.js';

export const CHECK_SCHEMA = 'kvmbench.history-check/1';

export interface CheckRunRef {
  runId: string;
  startedAt: string;
  hostname: string;
  gitRevision?: string;
  median: number;
}

export interface CheckFinding {
  hostClass: HostClass;
  metricKey: string;
  caseId: string;
  suite: string;
  unit: string;
  better: 'lower' | 'higher';
  accelerator: string;
  execution?: string;
  /** Position of the first run at the new level, counted from the series' first run (0-based). */
  index: number;
  /** Runs in the series, and how far from its end the change is (1 = the last run). */
  seriesLength: number;
  runsAgo: number;
  /** The last run before the change and the first after it. */
  before: CheckRunRef;
  after: CheckRunRef;
  /** Mean levels either side (between the neighbouring change points) and their relative change. */
  levelBefore: number;
  levelAfter: number;
  change: number;
  p: number;
  regression: boolean;
  /** The `kvmbench ab` command that would confirm it on one host. */
  confirm: string;
}

export interface CheckReport {
  schema: typeof CHECK_SCHEMA;
  store: string;
  /** Series examined, and those with fewer runs than a split needs (2 × minSegment). */
  series: number;
  tooShort: number;
  lastRuns: number;
  options: ChangePointOptions;
  findings: CheckFinding[];
  regressions: number;
  /** Conformance tests' pass → fail flips (src/history/conformance.ts), when the store holds any. */
  conformance?: ConformanceCheck;
}

function ref(p: MetricPoint): CheckRunRef {
  return { runId: p.runId, startedAt: p.startedAt, hostname: p.hostname, gitRevision: p.gitRevision, median: p.median };
}

/** Words as a shell reads them: single-quoted unless plainly safe. */
function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The confirmation: the suite's case alone, seven fresh guests a variant, A/B interleaved on
 * one host of the class. What differs between the two runs (a git revision, a build) is the
 * user's to put into A and B; the placeholders say so.
 */
export function confirmCommand(suite: string, caseId: string): string {
  return `kvmbench ab ${shellWord(suite)} --only ${shellWord(caseId)} --rounds 7 --a-qemu QEMU_BEFORE --b-qemu QEMU_AFTER --fail-on-regression`;
}

export function runCheck(
  points: readonly MetricPoint[],
  classes: readonly HostClass[],
  store: string,
  options: ChangePointOptions,
  lastRuns: number,
): CheckReport {
  const byId = new Map(classes.map((c) => [c.id, c]));
  const all = seriesOf(points);
  const findings: CheckFinding[] = [];
  let tooShort = 0;
  for (const s of all) {
    if (s.points.length < 2 * options.minSegment) {
      tooShort++;
      continue;
    }
    const values = s.points.map((p) => p.median);
    for (const c of changePoints(values, options)) {
      const runsAgo = s.points.length - c.index;
      if (runsAgo > lastRuns) continue;
      findings.push({
        hostClass: byId.get(s.hostClass) ?? { id: s.hostClass },
        metricKey: s.metricKey,
        caseId: s.caseId,
        suite: s.suite,
        unit: s.unit,
        better: s.better,
        accelerator: s.accelerator,
        execution: s.execution,
        index: c.index,
        seriesLength: s.points.length,
        runsAgo,
        before: ref(s.points[c.index - 1]!),
        after: ref(s.points[c.index]!),
        levelBefore: c.meanBefore,
        levelAfter: c.meanAfter,
        change: c.change,
        p: c.p,
        regression: isRegression(c.change, s.better),
        confirm: confirmCommand(s.suite, s.caseId),
      });
    }
  }
  findings.sort((a, b) => Number(b.regression) - Number(a.regression) || Math.abs(b.change) - Math.abs(a.change));
  return {
    schema: CHECK_SCHEMA,
    store,
    series: all.length,
    tooShort,
    lastRuns,
    options,
    findings,
    regressions: findings.filter((f) => f.regression).length,
  };
}
