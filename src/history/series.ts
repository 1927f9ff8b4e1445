/**
 * Points grouped into series: one per host class and metric, split further by what makes
 * figures incomparable even within a class (unit, accelerator, execution mode), in time order.
 */
import { globToRegExp } from '../glob.js';
import type { MetricPoint } from './store.js';

export interface Series {
  /** `hostClass metricKey [accelerator/execution unit]`: unique per series. */
  id: string;
  hostClass: string;
  metricKey: string;
  caseId: string;
  name: string;
  unit: string;
  better: 'lower' | 'higher';
  accelerator: string;
  execution?: string;
  interval: string;
  suite: string;
  points: MetricPoint[];
}

export function seriesOf(points: readonly MetricPoint[]): Series[] {
  const by = new Map<string, Series>();
  for (const p of points) {
    const id = `${p.hostClass} ${p.metricKey} [${p.accelerator}${p.execution ? `/${p.execution}` : ''} ${p.unit} ${p.better}]`;
    let s = by.get(id);
    if (!s) {
      s = {
        id,
        hostClass: p.hostClass,
        metricKey: p.metricKey,
        caseId: p.caseId,
        name: p.name,
        unit: p.unit,
        better: p.better,
        accelerator: p.accelerator,
        execution: p.execution,
        interval: p.interval,
        suite: p.suite,
        points: [],
      };
      by.set(id, s);
    }
    s.points.push(p);
  }
  return [...by.values()].sort(
    (a, b) => a.hostClass.localeCompare(b.hostClass) || a.metricKey.localeCompare(b.metricKey) || a.id.localeCompare(b.id),
  );
}

/**
 * The metric keys a user's patterns select: a full key (`exits/cpuid/cpuid.latency{machine=q35}`),
 * a glob over keys (`exits/**`), or a metric name (`cpuid.latency`, every case and label set).
 */
export function selectKeys(keys: readonly string[], patterns: readonly string[]): string[] {
  const res = patterns.map((p) => globToRegExp(p));
  return keys.filter((k) => {
    const name = k.slice(k.indexOf('/', k.indexOf('/') + 1) + 1).replace(/\{.*$/, '');
    return res.some((re) => re.test(k) || re.test(name));
  });
}
