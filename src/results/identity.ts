/**
 * What a metric is, across runs and across views: its case id, its name and its dimension
 * labels (machine, test, job, side, guest...). `compare` pairs metrics by this key, and every
 * view that names, groups or keys a metric uses the same functions, so a metric has one identity
 * and one way of being written.
 */
import type { Metric } from './model.js';

/**
 * Label keys that carry a measured value rather than a dimension (`p90_ms` from older Linux
 * boot results, anything `_ms`, `_us`, `_ns`, `_pct`): a measurement is never identity, so
 * these keys are left out when metrics are paired, grouped or named.
 */
export const MEASURED_LABEL = /_(ms|us|ns|pct)$/;

/** The labels that identify a metric: its dimensions, sorted by key; undefined when none. */
export function identityLabels(labels: Readonly<Record<string, string>> | undefined): Record<string, string> | undefined {
  if (!labels) return undefined;
  const out: Record<string, string> = {};
  for (const k of Object.keys(labels).sort()) if (!MEASURED_LABEL.test(k)) out[k] = labels[k]!;
  return Object.keys(out).length ? out : undefined;
}

/** The identity labels as `k=v,k=v` (sorted; empty when none): the one way labels are written. */
export function labelText(labels: Readonly<Record<string, string>> | undefined, drop: readonly string[] = []): string {
  const l = identityLabels(labels) ?? {};
  return Object.keys(l)
    .filter((k) => !drop.includes(k))
    .map((k) => `${k}=${l[k]}`)
    .join(',');
}

/** `name{k=v,...}`: a metric within its case. */
export function metricId(m: Pick<Metric, 'name' | 'labels'>): string {
  const lab = labelText(m.labels);
  return `${m.name}${lab ? `{${lab}}` : ''}`;
}

/**
 * Stable identity of a metric across runs: `case id/name{identity labels}`.
 * The one place the pairing rule lives.
 */
export function metricKey(caseId: string, m: Pick<Metric, 'name' | 'labels'>): string {
  return `${caseId}/${metricId(m)}`;
}
