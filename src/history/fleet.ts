/**
 * `history hosts`: the fleet matrix, hosts × metrics. A cell is the median of the host's last
 * run-level medians and its ratio to the fleet median (the median of the hosts' cells). The
 * outlier rule is robust, so the outlier itself cannot hide in the spread it inflates: the
 * modified z-score of the log ratio (Iglewicz and Hoaglin: 0.6745 · (x − median) / MAD) beyond
 * 3.5, and the host at least `minDeviation` (10 %) away from the fleet median, so a fleet whose
 * hosts agree to 0.1 % does not flag a host 0.5 % off. Needs 3 hosts or more.
 */
import { median } from '../stats/summary.js';
import type { MetricPoint } from './store.js';

export const HOSTS_SCHEMA = 'kvmbench.history-hosts/1';
export const OUTLIER_Z = 3.5;
export const DEFAULT_MIN_DEVIATION = 0.1;
export const MIN_FLEET_HOSTS = 3;

export interface FleetColumn {
  /** `metricKey [accelerator unit]`. */
  id: string;
  metricKey: string;
  unit: string;
  better: 'lower' | 'higher';
  accelerator: string;
  fleetMedian: number;
  hosts: number;
}

export interface FleetCell {
  /** Runs of this host behind the cell. */
  runs: number;
  median: number;
  ratio: number;
  z: number;
  outlier: boolean;
  /** On the metric's bad side of the fleet median. */
  worse: boolean;
}

export interface FleetRow {
  hostname: string;
  hostClasses: string[];
  /** One per column, in column order; undefined where the host has no such metric. */
  cells: Array<FleetCell | undefined>;
  outliers: number;
}

export interface FleetReport {
  schema: typeof HOSTS_SCHEMA;
  store: string;
  rule: string;
  lastRuns: number;
  columns: FleetColumn[];
  hosts: FleetRow[];
}

export function fleetRule(minDeviation: number): string {
  return `outlier: modified z-score of log(host median / fleet median) beyond ${OUTLIER_Z} (0.6745 · deviation / MAD over the hosts) and at least ${Math.round(minDeviation * 100)} % from the fleet median; needs ${MIN_FLEET_HOSTS} hosts or more`;
}

export function buildFleet(
  points: readonly MetricPoint[],
  store: string,
  opts: { lastRuns: number; minDeviation?: number },
): FleetReport {
  const minDeviation = opts.minDeviation ?? DEFAULT_MIN_DEVIATION;
  // column → host → medians in time order
  const cols = new Map<string, { meta: Omit<FleetColumn, 'fleetMedian' | 'hosts'>; byHost: Map<string, number[]> }>();
  const classes = new Map<string, Set<string>>();
  for (const p of points) {
    const id = `${p.metricKey} [${p.accelerator} ${p.unit}]`;
    let c = cols.get(id);
    if (!c)
      cols.set(
        id,
        (c = {
          meta: { id, metricKey: p.metricKey, unit: p.unit, better: p.better, accelerator: p.accelerator },
          byHost: new Map(),
        }),
      );
    const list = c.byHost.get(p.hostname) ?? [];
    list.push(p.median);
    c.byHost.set(p.hostname, list);
    const cl = classes.get(p.hostname) ?? new Set<string>();
    cl.add(p.hostClass);
    classes.set(p.hostname, cl);
  }
  const hostnames = [...classes.keys()].sort();
  const columns: FleetColumn[] = [];
  const cellsByHost = new Map<string, Array<FleetCell | undefined>>(hostnames.map((h) => [h, []]));
  for (const c of [...cols.values()].sort((a, b) => a.meta.id.localeCompare(b.meta.id))) {
    const hostMedians = new Map<string, { median: number; runs: number }>();
    for (const [h, vals] of c.byHost) {
      const recent = vals.slice(-opts.lastRuns);
      hostMedians.set(h, { median: median(recent), runs: recent.length });
    }
    const fleetMedian = median([...hostMedians.values()].map((v) => v.median));
    const logs = [...hostMedians.values()].map((v) => Math.log(v.median / fleetMedian));
    const center = median(logs);
    const mad = median(logs.map((l) => Math.abs(l - center)));
    columns.push({ ...c.meta, fleetMedian, hosts: hostMedians.size });
    for (const h of hostnames) {
      const v = hostMedians.get(h);
      if (!v) {
        cellsByHost.get(h)!.push(undefined);
        continue;
      }
      const ratio = v.median / fleetMedian;
      const dev = Math.log(ratio) - center;
      const z = mad > 0 ? (0.6745 * dev) / mad : dev === 0 ? 0 : Math.sign(dev) * Infinity;
      const outlier = hostMedians.size >= MIN_FLEET_HOSTS && Math.abs(z) > OUTLIER_Z && Math.abs(ratio - 1) >= minDeviation;
      const worse = c.meta.better === 'lower' ? ratio > 1 : ratio < 1;
      cellsByHost.get(h)!.push({ runs: v.runs, median: v.median, ratio, z, outlier, worse });
    }
  }
  const hosts = hostnames.map((h) => {
    const cells = cellsByHost.get(h)!;
    return { hostname: h, hostClasses: [...classes.get(h)!].sort(), cells, outliers: cells.filter((c) => c?.outlier).length };
  });
  return { schema: HOSTS_SCHEMA, store, rule: fleetRule(minDeviation), lastRuns: opts.lastRuns, columns, hosts };
}
