/**
 * The one formatting core every view shares (hyperfine's exporters are the model: one module per
 * format over one core): numbers, percentages, durations, metric labels, statuses and their
 * colours, and the escaping each output medium needs. `run`'s summary, `report`, `compare` and
 * `doctor` print the same figure the same way because they all print it through here.
 * Pure functions; nothing here imports a view.
 */
import type { ChalkInstance } from 'chalk';
import type { CaseStatus, ExecutionMode, Metric } from '../results/model.js';
import { labelText, metricId } from '../results/identity.js';

export { labelText, metricId };

// ---------------------------------------------------------------------------------------------
// Numbers

/**
 * The one number format: three significant digits with an exponent from a million (`1.23e+6`:
 * columns stay narrow, and no benchmark figure is exact to seven digits), integers from 1000
 * grouped by spaces (`1 235`, ticks stay whole), one decimal from 100, two from 1, three
 * significant digits below 1 (`0.000500`).
 */
export function fmtNum(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 1e6) return v.toExponential(2);
  if (a >= 1000) return Math.round(v).toLocaleString('en-US').replace(/,/g, ' ');
  if (a >= 100) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(3);
}

/** A signed relative change: `+12.5%`, `-3.0%`. */
export function fmtPct(fraction: number, digits = 1): string {
  if (!Number.isFinite(fraction)) return String(fraction);
  const s = (fraction * 100).toFixed(digits);
  return `${fraction > 0 ? '+' : ''}${s}%`;
}

/** A coefficient of variation (a fraction) as every view writes it: `4.2%`. */
export function fmtCv(cv: number): string {
  return `${(cv * 100).toFixed(1)}%`;
}

/** A metric's spread: `p5–p95` as `12.00–15.00` (the separator is the caller's). */
export function fmtRange(lo: number, hi: number, sep = '–'): string {
  return `${fmtNum(lo)}${sep}${fmtNum(hi)}`;
}

/** Elapsed time for people: `850 ms`, `4.1 s`, `2 min 5 s`. */
export function fmtDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

// ---------------------------------------------------------------------------------------------
// Metrics

/** Why a metric has its samples, as every view writes it: `n=23, precision 1.8 % reached after 23 samples`. */
export function samplingText(m: Pick<Metric, 'summary' | 'sampling' | 'roundSampling'>): string {
  const rounds = m.roundSampling ? `; ${roundsText(m)}` : '';
  return m.sampling ? `n=${m.summary.n}, ${m.sampling.note}${rounds}` : `n=${m.summary.n}${rounds}`;
}

/** Why a metric has the rounds it has, when they were added adaptively: `rounds: precision 4.1 % reached after 9 rounds`; empty otherwise. */
export function roundsText(m: Pick<Metric, 'roundSampling'>): string {
  return m.roundSampling ? `rounds: ${m.roundSampling.note}` : '';
}

/** The short word of a metric's stopping reason for narrow columns (`precision`, `max-time`…); empty when fixed or unrecorded. */
export function samplingWord(m: Pick<Metric, 'sampling'>): string {
  return m.sampling && m.sampling.reason !== 'fixed' ? m.sampling.reason : '';
}

/** A ratio's interval: `95 % CI 0.480–0.530`; empty for metrics that are not ratios. */
export function ratioText(m: Pick<Metric, 'ratio'>): string {
  return m.ratio ? `${Math.round(m.ratio.level * 100)} % CI ${fmtRange(m.ratio.low, m.ratio.high)}` : '';
}

// ---------------------------------------------------------------------------------------------
// Statuses and colour

/** Every status a view shows: a case's, a doctor check's (`warn`) or a run's (`empty`). */
export type AnyStatus = CaseStatus | 'warn' | 'empty';

/** The colours views paint with: the statuses, plus `info` and `other` (compare's inconclusive, not comparable). */
export type Tone = AnyStatus | 'info' | 'other';

/** The word for a status, as tables show it: `PASS`, `FAIL`, `SKIP`... */
export function statusWord(s: AnyStatus): string {
  return s.toUpperCase();
}

/**
 * The one colour per status in a terminal (chalk level 0 under NO_COLOR: src/report/color.ts);
 * HTML pages use the same tones as CSS variables (./html-page.ts).
 */
export function statusColor(c: ChalkInstance, s: Tone): (t: string) => string {
  switch (s) {
    case 'pass':
      return c.green;
    case 'warn':
      return c.yellow;
    case 'fail':
      return c.red.bold;
    case 'error':
      return c.magenta.bold;
    case 'info':
      return c.cyan;
    case 'other':
      return c.magenta;
    default:
      return c.gray;
  }
}

/** `text` (default: the status word) in the status's colour. */
export function paintStatus(c: ChalkInstance, s: AnyStatus, text: string = statusWord(s)): string {
  return statusColor(c, s)(text);
}

/** Emulated and TCG figures are not hardware exits: their mode stands out. */
export function modeColor(c: ChalkInstance, m: ExecutionMode | undefined): (t: string) => string {
  if (m === 'emulated') return c.yellow.bold;
  if (m === 'tcg' || m === 'unknown') return c.yellow;
  return c.gray;
}

/** How many of each status; `total` is the length. */
export function countStatuses<S extends string>(
  items: ReadonlyArray<{ status: S }>,
  statuses: readonly S[],
): Record<S, number> & { total: number } {
  const out = { total: items.length } as Record<S, number> & { total: number };
  for (const s of statuses) (out as Record<string, number>)[s] = 0;
  for (const i of items) (out as Record<string, number>)[i.status] = ((out as Record<string, number>)[i.status] ?? 0) + 1;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Text safety per medium

/** ANSI escape sequences from a guest console would show as garbage in every view. */
export function stripAnsi(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\u001B\[[0-?]*[ -/]*[@-~]|\u001B[@-Z\\-_]/g, '');
}

/** For a terminal: control characters from a guest or a file would move the cursor or recolour it. */
export function termSafe(s: string): string {
  // eslint-disable-next-line no-control-regex
  return stripAnsi(s).replace(/[\u0000-\u0008\u000B-\u001F\u007F]/g, '?');
}

/** Multi-line text on one line (`⏎` marks the breaks), cut to `max` characters. */
export function oneLine(s: string, max: number): string {
  const t = s.replace(/\s*\n\s*/g, ' ⏎ ');
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

/**
 * XML 1.0 cannot carry most C0 control characters (a guest console is full of them)
 * nor lone surrogates; xmlbuilder throws on them, so views replace them first.
 */
export function xmlSafe(s: string): string {
  return s.replace(
    // eslint-disable-next-line no-control-regex -- the control characters XML 1.0 forbids are what is replaced
    /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g,
    '\uFFFD',
  );
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

/** Markdown table cells must not break the table: escape pipes, flatten newlines, neutralise HTML. */
export function mdCell(s: unknown): string {
  return String(s ?? '')
    .replace(/\r?\n|\r/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\|/g, '\\|')
    .replace(/`/g, '\\`');
}
