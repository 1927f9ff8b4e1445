/** `history trend`: per-run medians with their intervals over time, per host class, with change points. */
import { changePoints, type ChangePointOptions } from './change-points.js';
import type { HostClass } from './host-class.js';
import { seriesOf } from './series.js';
import type { MetricPoint } from './store.js';

export const TREND_SCHEMA = 'kvmbench.history-trend/1';

export interface TrendPoint {
  runId: string;
  startedAt: string;
  hostname: string;
  gitRevision?: string;
  n: number;
  median: number;
  ciLo: number;
  ciHi: number;
}

export interface TrendChange {
  /** Index into `points` of the first run of the new level. */
  index: number;
  runBefore: string;
  runAfter: string;
  /** Relative change of the mean level, (after − before) / |before|. */
  change: number;
  p: number;
  /** Whether the change is on the metric's bad side. */
  regression: boolean;
}

export interface TrendSeries {
  hostClass: HostClass;
  metricKey: string;
  unit: string;
  better: 'lower' | 'higher';
  accelerator: string;
  execution?: string;
  /** What one sample measures. */
  interval: string;
  points: TrendPoint[];
  changes: TrendChange[];
}

export interface Trend {
  schema: typeof TREND_SCHEMA;
  store: string;
  /** What each point is: the text every view prints beside the charts. */
  pointMeaning: string;
  options: ChangePointOptions;
  series: TrendSeries[];
}

export const POINT_MEANING =
  'each point is one complete run: the median of its samples, with the distribution-free 95 % interval of that median';

export function isRegression(change: number, better: 'lower' | 'higher'): boolean {
  return better === 'lower' ? change > 0 : change < 0;
}

export function buildTrend(
  points: readonly MetricPoint[],
  classes: readonly HostClass[],
  store: string,
  options: ChangePointOptions,
  last?: number,
): Trend {
  const byId = new Map(classes.map((c) => [c.id, c]));
  const series = seriesOf(points).map((s): TrendSeries => {
    const pts = (last ? s.points.slice(-last) : s.points).map((p) => ({
      runId: p.runId,
      startedAt: p.startedAt,
      hostname: p.hostname,
      gitRevision: p.gitRevision,
      n: p.n,
      median: p.median,
      ciLo: p.ciLo,
      ciHi: p.ciHi,
    }));
    const changes = changePoints(
      pts.map((p) => p.median),
      options,
    ).map((c) => ({
      index: c.index,
      runBefore: pts[c.index - 1]!.runId,
      runAfter: pts[c.index]!.runId,
      change: c.change,
      p: c.p,
      regression: isRegression(c.change, s.better),
    }));
    return {
      hostClass: byId.get(s.hostClass) ?? { id: s.hostClass },
      metricKey: s.metricKey,
      unit: s.unit,
      better: s.better,
      accelerator: s.accelerator,
      execution: s.execution,
      interval: s.interval,
      points: pts,
      changes,
    };
  });
  return { schema: TREND_SCHEMA, store, pointMeaning: POINT_MEANING, options, series };
}
