/**
 * Helpers shared by the report views. Everything here is a pure function of a
 * `Results` value, so every format tells the same story about a run.
 */
import type { CaseResult, CaseStatus, HostFingerprint, Metric, Results } from '../results/model.js';

export type Verdict = 'pass' | 'fail' | 'error' | 'empty';

export interface Counts {
  total: number;
  pass: number;
  fail: number;
  error: number;
  skip: number;
}

export function countCases(cases: readonly CaseResult[]): Counts {
  const c: Counts = { total: cases.length, pass: 0, fail: 0, error: 0, skip: 0 };
  for (const k of cases) c[k.status]++;
  return c;
}

/** error beats fail beats pass; a run with no case that ran is `empty`. */
export function runVerdict(results: Results): Verdict {
  const c = countCases(results.cases);
  if (c.error > 0) return 'error';
  if (c.fail > 0) return 'fail';
  if (c.pass > 0) return 'pass';
  return 'empty';
}

/** A line a person reads first: verdict, counts and whether the run finished. */
export function headline(results: Results): string {
  const c = countCases(results.cases);
  const v = runVerdict(results).toUpperCase();
  const state = results.run.state === 'complete' ? '' : ` — ${results.run.state.toUpperCase()} RUN (not every case ran)`;
  return `${v}: ${c.pass} passed, ${c.fail} failed, ${c.error} errored, ${c.skip} skipped of ${c.total} (suite ${results.run.suite}, ${results.run.accelerator})${state}`;
}

export function isPartial(results: Results): boolean {
  return results.run.state !== 'complete';
}

/** Cases grouped by suite, in first-seen order (a run of `quick` holds cases of several suites). */
export function casesBySuite(results: Results): Map<string, CaseResult[]> {
  const m = new Map<string, CaseResult[]>();
  for (const c of results.cases) {
    const key = c.suite || results.run.suite;
    let list = m.get(key);
    if (!list) m.set(key, (list = []));
    list.push(c);
  }
  return m;
}

/** Significant digits that keep ticks as integers and small ns values readable. */
export function fmtNum(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 1000) return Math.round(v).toLocaleString('en-US').replace(/,/g, ' ');
  if (a >= 100) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(3);
}

export function fmtPct(fraction: number, digits = 1): string {
  if (!Number.isFinite(fraction)) return String(fraction);
  const s = (fraction * 100).toFixed(digits);
  return `${fraction > 0 ? '+' : ''}${s}%`;
}

export function metricLabelText(m: Metric): string {
  const l = m.labels ?? {};
  const keys = Object.keys(l).sort();
  return keys.length === 0 ? '' : keys.map((k) => `${k}=${l[k]}`).join(',');
}

/** The host facts worth a line each in every view, in a stable order. */
export const KEY_HOST_FACTS: ReadonlyArray<keyof HostFingerprint> = [
  'hostname',
  'cpuModel',
  'cpuVendor',
  'microcode',
  'cores',
  'threads',
  'kernelRelease',
  'qemuVersion',
  'virtualized',
  'kvmUsable',
  'governor',
  'thp',
  'kvmbenchVersion',
  'gitRevision',
];

/** Flattens the fingerprint into `key → string` rows (nested records become `a.b`). */
export function flattenFacts(obj: Record<string, unknown> | undefined, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  if (!obj) return out;
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v === undefined) continue;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k2, v2] of flattenFacts(v as Record<string, unknown>, key)) out.set(k2, v2);
    } else {
      out.set(key, typeof v === 'string' ? v : JSON.stringify(v));
    }
  }
  return out;
}

export function statusWord(s: CaseStatus): string {
  return s.toUpperCase();
}

/**
 * XML 1.0 cannot carry most C0 control characters (a guest console is full of them)
 * nor lone surrogates; xmlbuilder throws on them, so views replace them first.
 */
export function xmlSafe(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(s: unknown): string {
  return xmlSafe(String(s))
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** ANSI escape sequences from a guest console would show as garbage in every view. */
export function stripAnsi(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\u001B\[[0-?]*[ -/]*[@-~]|\u001B[@-Z\\-_]/g, '');
}
