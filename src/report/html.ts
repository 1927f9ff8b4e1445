/**
 * The HTML view: one self-contained page (inline CSS and SVG, no script, no network)
 * that reads on screen and on paper. A pure function of `Results` plus the case logs
 * the caller read; every string that came from a guest, a host or a file goes
 * through escapeHtml.
 */
import { CONFORMANCE_CSS, conformanceSection } from './conformance.js';
import type { CaseResult, ExecutionMode, Metric, Results } from '../results/model.js';
import {
  EMULATED_MEANING,
  KEY_HOST_FACTS,
  accelText,
  caseAccelText,
  caseMode,
  countCases,
  exitAccounting,
  exitsPerIteration,
  headline,
  histogramFact,
  isBootCase,
  isCountMetric,
  isExitsCase,
  isPartial,
  kvmCounters,
  noAccountingText,
  notJudgedText,
  runEmulatedWarning,
  runPlatformParts,
  runVerdict,
  type HistogramView,
} from './common.js';
import { escapeHtml as e, fmtCv, fmtNum, fmtRange, labelText, ratioText, roundsText, statusWord, stripAnsi } from './format.js';
import { htmlPage } from './html-page.js';
import { flattenFacts } from '../results/flatten.js';
import { scalingSection } from './scaling-chart.js';

export interface CaseLog {
  text: string;
  /** Bytes left out at the start because the log was larger than the limit. */
  truncatedBytes: number;
  /** Set when the log could not be read: why. */
  error?: string;
}

export interface HtmlOptions {
  /** Case logs by case id (read by the caller, already truncated). */
  logs?: ReadonlyMap<string, CaseLog>;
  title?: string;
}

const PALETTE = ['#3465a4', '#f57900', '#4e9a06', '#75507b', '#c4a000', '#06989a', '#cc0000', '#8f5902', '#555753'];

/** This page's rules, after the shared BASE_CSS (./html-page.ts: layout, tables, status colours). */
const CSS = `
.verdict{display:inline-block;padding:2px 10px;border-radius:4px;color:#fff;font-weight:700;letter-spacing:.04em}
.v-pass{background:var(--pass)}.v-fail{background:var(--fail)}.v-error{background:var(--error)}.v-empty,.v-skip{background:var(--skip)}
.banner{border:2px solid var(--warn);background:#fff8d6;padding:8px 12px;margin:10px 0;font-weight:600}
.banner.emulated{border-color:var(--fail);background:#fdecea}
.x-emulated{color:var(--fail);font-weight:700}.x-tcg,.x-unknown{color:var(--warn);font-weight:600}.x-native{color:var(--pass)}
.note-emulated{border-left:4px solid var(--fail);background:#fdecea;padding:4px 10px;margin:6px 0;font-weight:600}
.case-info{margin:4px 0 10px}.case-info p{margin:4px 0}
ul.evidence,ul.checks{margin:2px 0 6px;padding-left:20px}ul.evidence li{font-size:12px;color:var(--muted)}
li.check-ok{color:var(--pass)}li.check-bad{color:var(--fail);font-weight:600}li.check-unjudged{color:var(--muted)}
.vm code{background:#f4f5f7;padding:0 4px;margin-right:4px;border-radius:3px;white-space:nowrap}
figure.hist{max-width:420px}.nowrap{white-space:nowrap}
.facts{columns:2;column-gap:24px}.facts table{break-inside:avoid}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(330px,1fr));gap:10px 18px}
figure{margin:0;break-inside:avoid;page-break-inside:avoid}figcaption{font-size:12px;color:var(--muted)}
pre.log{background:#f6f8fa;border:1px solid var(--line);padding:8px;overflow:auto;max-height:420px;white-space:pre-wrap;word-break:break-all;font:12px/1.35 ui-monospace,"DejaVu Sans Mono",monospace}
.failed{border-left:4px solid var(--fail);padding:2px 12px;margin:10px 0}.failed.error{border-left-color:var(--error)}
@media print{pre.log{max-height:none}.grid{grid-template-columns:1fr 1fr}}
`;

/** Sorted copy, finite values only (a NaN sample must not break a chart). */
function finiteSorted(v: readonly number[]): number[] {
  return v.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
}

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** Deterministic jitter so the same results give the same page. */
function jitter(i: number): number {
  const x = Math.sin(i * 12.9898 + 78.233) * 43758.5453;
  return x - Math.floor(x);
}

/** Strip plot: every sample as a dot, the p5–p95 band and the median. */
export function distributionSvg(m: Metric): string {
  const w = 340;
  const h = 74;
  const pad = { l: 8, r: 8, t: 8, b: 22 };
  const s = finiteSorted(m.samples);
  if (s.length === 0)
    return `<svg class="chart dist" viewBox="0 0 ${w} ${h}" role="img" aria-label="no samples"><text x="${w / 2}" y="${h / 2}" text-anchor="middle" fill="#5f6368" font-size="12">no samples</text></svg>`;
  let lo = Math.min(s[0]!, m.summary.p5);
  let hi = Math.max(s[s.length - 1]!, m.summary.p95);
  if (hi === lo) {
    const d = Math.abs(lo) * 0.05 || 1;
    lo -= d;
    hi += d;
  }
  const span = hi - lo;
  lo -= span * 0.04;
  hi += span * 0.04;
  const x = (v: number): number => pad.l + ((v - lo) / (hi - lo)) * (w - pad.l - pad.r);
  const plotH = h - pad.t - pad.b;
  const parts: string[] = [];
  parts.push(
    `<rect class="band" x="${x(m.summary.p5).toFixed(1)}" y="${pad.t}" width="${Math.max(1, x(m.summary.p95) - x(m.summary.p5)).toFixed(1)}" height="${plotH}" fill="#3465a4" fill-opacity="0.14"><title>p5–p95: ${e(fmtNum(m.summary.p5))} – ${e(fmtNum(m.summary.p95))} ${e(m.unit)}</title></rect>`,
  );
  m.samples.forEach((v, i) => {
    if (!Number.isFinite(v)) return;
    const cy = pad.t + 4 + jitter(i) * (plotH - 8);
    parts.push(
      `<circle class="sample" cx="${x(v).toFixed(1)}" cy="${cy.toFixed(1)}" r="2.4" fill="#3465a4" fill-opacity="0.65"/>`,
    );
  });
  parts.push(
    `<line class="median" x1="${x(m.summary.median).toFixed(1)}" x2="${x(m.summary.median).toFixed(1)}" y1="${pad.t - 3}" y2="${pad.t + plotH + 3}" stroke="#c5221f" stroke-width="2"><title>median ${e(fmtNum(m.summary.median))} ${e(m.unit)}</title></line>`,
  );
  parts.push(`<line x1="${pad.l}" x2="${w - pad.r}" y1="${pad.t + plotH}" y2="${pad.t + plotH}" stroke="#9aa0a6"/>`);
  const ticks = [lo + (hi - lo) * 0.04, (lo + hi) / 2, hi - (hi - lo) * 0.04];
  ticks.forEach((t, i) => {
    const anchor = i === 0 ? 'start' : i === 2 ? 'end' : 'middle';
    parts.push(
      `<text x="${x(t).toFixed(1)}" y="${h - 6}" font-size="10" fill="#5f6368" text-anchor="${anchor}">${e(fmtNum(t))}</text>`,
    );
  });
  return `<svg class="chart dist" viewBox="0 0 ${w} ${h}" role="img" aria-label="distribution of ${e(m.name)}">${parts.join('')}</svg>`;
}

interface Bar {
  label: string;
  median: number;
  p5: number;
  p95: number;
  n: number;
  color?: string;
  group?: string;
}

/** Horizontal bars (median) with p5–p95 whiskers; one axis, so one unit per chart. */
/** Medians spanning more than this factor get a log axis, or the small ones vanish. */
const LOG_SPAN = 50;

/** True when a bar chart of these bars would use a logarithmic axis. */
export function needsLogAxis(bars: readonly Bar[]): boolean {
  const pos = bars.map((b) => b.median).filter((v) => v > 0);
  return pos.length > 1 && Math.max(...pos) / Math.min(...pos) > LOG_SPAN;
}

/** Horizontal bars (median) with p5–p95 whiskers; one axis, so one unit per chart. */
export function barChartSvg(bars: readonly Bar[], unit: string, cls = 'bars'): string {
  const rowH = 20;
  const labelW = 250;
  const w = 700;
  const top = 6;
  const h = top + bars.length * rowH + 26;
  const right = w - 125;
  const log = needsLogAxis(bars);
  const parts: string[] = [];
  let x: (v: number) => number;
  let ticks: number[];
  if (log) {
    const pos = bars.flatMap((b) => [b.p5, b.median, b.p95]).filter((v) => v > 0);
    const lo = 10 ** Math.floor(Math.log10(Math.min(...pos)));
    const hi = 10 ** Math.ceil(Math.log10(Math.max(...pos)));
    const span = Math.log10(hi) - Math.log10(lo);
    x = (v: number): number => labelW + ((Math.log10(Math.max(lo, v)) - Math.log10(lo)) / span) * (right - labelW);
    ticks = [];
    for (let t = lo; t <= hi * 1.0001; t *= 10) ticks.push(t);
  } else {
    const max = niceMax(Math.max(...bars.map((b) => Math.max(b.p95, b.median)), 0));
    x = (v: number): number => labelW + (Math.max(0, v) / max) * (right - labelW);
    ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => max * f);
  }
  bars.forEach((b, i) => {
    const y = top + i * rowH;
    const color = b.color ?? PALETTE[0]!;
    parts.push(
      `<text x="${labelW - 6}" y="${y + 14}" font-size="11" text-anchor="end">${e(b.label.length > 40 ? b.label.slice(0, 39) + '…' : b.label)}<title>${e(b.label)}</title></text>`,
    );
    parts.push(
      `<rect class="bar" x="${labelW}" y="${y + 3}" width="${Math.max(1, x(b.median) - labelW).toFixed(1)}" height="${rowH - 6}" fill="${color}" fill-opacity="0.8"><title>${e(b.label)}: median ${e(fmtNum(b.median))} ${e(unit)}, p5–p95 ${e(fmtNum(b.p5))}–${e(fmtNum(b.p95))}, n=${b.n}</title></rect>`,
    );
    const yc = y + rowH / 2;
    parts.push(
      `<line class="whisker" x1="${x(b.p5).toFixed(1)}" x2="${x(b.p95).toFixed(1)}" y1="${yc}" y2="${yc}" stroke="#1d1d1f" stroke-width="1.2"/>`,
    );
    for (const v of [b.p5, b.p95])
      parts.push(
        `<line x1="${x(v).toFixed(1)}" x2="${x(v).toFixed(1)}" y1="${yc - 4}" y2="${yc + 4}" stroke="#1d1d1f" stroke-width="1.2"/>`,
      );
    parts.push(
      `<text x="${(x(Math.max(b.p95, b.median)) + 4).toFixed(1)}" y="${y + 14}" font-size="10" fill="#5f6368">${e(fmtNum(b.median))}</text>`,
    );
  });
  const axisY = top + bars.length * rowH + 4;
  parts.push(`<line x1="${labelW}" x2="${right}" y1="${axisY}" y2="${axisY}" stroke="#9aa0a6"/>`);
  for (const t of ticks) {
    parts.push(
      `<text x="${x(t).toFixed(1)}" y="${axisY + 14}" font-size="10" fill="#5f6368" text-anchor="middle">${e(fmtNum(t))}</text>`,
    );
  }
  parts.push(
    `<text x="${w - 4}" y="${axisY + 14}" font-size="10" fill="#5f6368" text-anchor="end">${e(unit)}${log ? ' (log)' : ''}</text>`,
  );
  return `<svg class="chart ${cls}${log ? ' log' : ''}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${e(cls)} chart (${e(unit)}${log ? ', log scale' : ''})">${parts.join('')}</svg>`;
}

/** Bar labels: the metric name, and the case where the same name occurs in several cases. */
function barLabels(list: readonly Located[]): string[] {
  const count = new Map<string, number>();
  for (const { m } of list) count.set(m.name, (count.get(m.name) ?? 0) + 1);
  return list.map(({ c, m }) => {
    const where = m.labels?.machine ?? c.machine;
    const tail = (count.get(m.name) ?? 0) > 1 ? c.id.split('/').pop()! : '';
    return [m.name, tail && `(${tail})`, where && `· ${where}`].filter(Boolean).join(' ');
  });
}

interface Stack {
  label: string;
  segments: Array<{ name: string; value: number }>;
}

/** Stacked horizontal bars: consecutive intervals of one boot, per machine/configuration. */
export function stackedBarSvg(stacks: readonly Stack[], unit: string): string {
  const names = [...new Set(stacks.flatMap((s) => s.segments.map((g) => g.name)))];
  const color = (n: string): string => PALETTE[names.indexOf(n) % PALETTE.length]!;
  const rowH = 24;
  const labelW = 240;
  const w = 700;
  const legendH = 18 * Math.ceil(names.length / 3);
  const h = 6 + stacks.length * rowH + 24 + legendH;
  const max = niceMax(Math.max(...stacks.map((s) => s.segments.reduce((a, g) => a + Math.max(0, g.value), 0)), 0));
  const x = (v: number): number => labelW + (v / max) * (w - labelW - 20);
  const parts: string[] = [];
  stacks.forEach((s, i) => {
    const y = 6 + i * rowH;
    parts.push(
      `<text x="${labelW - 6}" y="${y + 16}" font-size="11" text-anchor="end">${e(s.label.length > 38 ? s.label.slice(0, 37) + '…' : s.label)}<title>${e(s.label)}</title></text>`,
    );
    let acc = 0;
    for (const g of s.segments) {
      const v = Math.max(0, g.value);
      parts.push(
        `<rect class="segment" x="${x(acc).toFixed(1)}" y="${y + 3}" width="${Math.max(0.5, x(acc + v) - x(acc)).toFixed(1)}" height="${rowH - 6}" fill="${color(g.name)}"><title>${e(s.label)} · ${e(g.name)}: median ${e(fmtNum(g.value))} ${e(unit)}</title></rect>`,
      );
      acc += v;
    }
    parts.push(
      `<text x="${Math.min(w - 4, x(acc) + 4).toFixed(1)}" y="${y + 16}" font-size="10" fill="#5f6368">${e(fmtNum(acc))}</text>`,
    );
  });
  const axisY = 6 + stacks.length * rowH + 2;
  parts.push(`<line x1="${labelW}" x2="${w - 20}" y1="${axisY}" y2="${axisY}" stroke="#9aa0a6"/>`);
  for (const f of [0, 0.5, 1])
    parts.push(
      `<text x="${x(max * f).toFixed(1)}" y="${axisY + 13}" font-size="10" fill="#5f6368" text-anchor="${f === 1 ? 'end' : 'middle'}">${e(fmtNum(max * f))}${f === 1 ? ` ${e(unit)}` : ''}</text>`,
    );
  names.forEach((n, i) => {
    const lx = 10 + (i % 3) * 230;
    const ly = axisY + 22 + Math.floor(i / 3) * 18;
    parts.push(
      `<rect x="${lx}" y="${ly}" width="10" height="10" fill="${color(n)}"/><text x="${lx + 14}" y="${ly + 9}" font-size="11">${e(n)}</text>`,
    );
  });
  return `<svg class="chart stacked" viewBox="0 0 ${w} ${h}" role="img" aria-label="boot timeline (${e(unit)})">${parts.join('')}</svg>`;
}

interface Located {
  c: CaseResult;
  m: Metric;
}

function allMetrics(results: Results): Located[] {
  return results.cases.flatMap((c) => c.metrics.map((m) => ({ c, m })));
}

const INTERVAL_LABELS = ['interval', 'phase', 'segment', 'stage'];

function intervalLabel(m: Metric): string | undefined {
  const l = m.labels ?? {};
  for (const k of INTERVAL_LABELS) if (l[k] !== undefined) return k;
  return undefined;
}

/** The section a chart goes in is the case's kind (`CaseResult.kind`); the chart within it, the metric's shape. */
function isExitMetric(x: Located): boolean {
  // Exit counts (exits per iteration, KVM counters) are not latencies: they get the accounting table.
  return (
    isExitsCase(x.c) &&
    !isCountMetric(x.m) &&
    intervalLabel(x.m) === undefined &&
    bootInterval(x.m) === undefined &&
    x.m.labels?.side === undefined
  );
}

function isBootMetric(x: Located): boolean {
  return isBootCase(x.c);
}

/** Groups by unit: one chart axis cannot mix ns and ticks. */
function byUnit<T extends Located>(xs: readonly T[]): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) {
    let l = m.get(x.m.unit);
    if (!l) m.set(x.m.unit, (l = []));
    l.push(x);
  }
  return m;
}

/** The metric's identity labels less `drop`, with the case's machine where the metric names none. */
function otherLabels(x: Located, drop: readonly string[]): string {
  const l = { ...(x.m.labels ?? {}) };
  if (x.c.machine && l.machine === undefined) l.machine = x.c.machine;
  return labelText(l, drop);
}

/** The execution mode as a marked word: emulated and TCG figures must not pass for hardware exits. */
function modeSpan(mode: ExecutionMode | undefined, text: string): string {
  return mode ? `<span class="x-${e(mode)}">${e(text)}</span>` : e(text);
}

/** Per exits case: execution, exits per iteration, KVM's other counters and the expectation verdict. */
function exitAccountingTable(results: Results): string {
  const cases = results.cases.filter((c) => isExitsCase(c) && c.metrics.length > 0);
  if (cases.length === 0) return '';
  const rows = cases.map((c) => {
    const epi = exitsPerIteration(c);
    const counters = kvmCounters(c)
      .map(({ counter, metric }) => `${e(counter)} ${e(fmtNum(metric.summary.median))}`)
      .join('<br>');
    const a = exitAccounting(c);
    let verdict = '';
    if (a && 'none' in a) verdict = `<span class="muted">${e(noAccountingText(a.none))}</span>`;
    else if (a && !a.judged) verdict = `<span class="muted">${e(notJudgedText(c))}</span>`;
    else if (a && a.checks.length)
      verdict = a.checks.every((k) => k.ok)
        ? '<span class="s-pass">ok</span>'
        : `<span class="s-fail">not ok (${a.checks.filter((k) => !k.ok).length} of ${a.checks.length})</span>`;
    const h = histogramFact(c);
    const hist = h ? `${e(fmtNum(h.p50))} / ${e(fmtNum(h.p99))} / ${e(fmtNum(h.p999))} ${e(h.unit)}` : '';
    return `<tr><td><a href="#case-${e(c.id)}">${e(c.id)}</a></td><td class="nowrap">${modeSpan(caseMode(c), caseAccelText(c))}</td><td class="num exits-per-iteration">${epi ? e(fmtNum(epi.summary.median)) : '–'}</td><td class="num small">${counters}</td><td class="small">${verdict}</td><td class="num small">${hist}</td></tr>`;
  });
  return (
    `<table class="exit-accounting"><thead><tr><th>case</th><th>accel · execution</th><th>exits / iteration</th><th>other KVM counters / iteration</th><th>expectation</th><th>one by one: p50 / p99 / p99.9</th></tr></thead><tbody>${rows.join('')}</tbody></table>` +
    `<p class="muted small">Exits and counters: KVM's own vCPU statistics over each test loop minus the null loop, per iteration (median of the samples). The expectations describe native execution and are judged only there.</p>`
  );
}

function exitSection(results: Results): string {
  const xs = allMetrics(results).filter(isExitMetric);
  const table = exitAccountingTable(results);
  if (xs.length === 0 && !table) return '';
  const modes = new Set(xs.map(({ c, m }) => m.execution ?? caseMode(c)));
  const charts = [...byUnit(xs)].map(([unit, list]) => {
    const labels = barLabels(list);
    const bars: Bar[] = list.map(({ m }, i) => ({
      label: labels[i]!,
      median: m.summary.median,
      p5: m.summary.p5,
      p95: m.summary.p95,
      n: m.summary.n,
    }));
    return `<figure>${barChartSvg(bars, unit, 'bars exits')}<figcaption>median per exit; whiskers p5–p95; unit ${e(unit)}${needsLogAxis(bars) ? '; logarithmic axis (medians span more than ' + LOG_SPAN + '×)' : ''}${modes.has('emulated') ? '; <b class="x-emulated">emulated: instruction-emulator costs</b>' : ''}</figcaption></figure>`;
  });
  const qualifier = modes.has('emulated')
    ? ' <span class="x-emulated">(emulated execution: KVM instruction-emulator costs, not hardware exits)</span>'
    : modes.has('tcg')
      ? ' <span class="x-tcg">(TCG: emulation costs, not hardware exits)</span>'
      : '';
  return `<section id="exits"><h2>VM-exit latencies${qualifier}</h2>${table}${charts.join('')}</section>`;
}

/**
 * Histogram of individually timed iterations: the guest's log bins on a log axis (bar area is the
 * count; a bin with any count is at least 1 px tall so outliers show), with p50, p99 and p99.9.
 */
export function histogramSvg(h: HistogramView): string {
  const w = 340;
  const ht = 120;
  const pad = { l: 8, r: 8, t: 26, b: 22 };
  const lo = Math.min(...h.bins.map((b) => b.lo));
  const hi = Math.max(...h.bins.map((b) => b.hi));
  const span = Math.log(hi / lo) || 1;
  const x = (v: number): number => pad.l + (Math.log(Math.min(hi, Math.max(lo, v)) / lo) / span) * (w - pad.l - pad.r);
  const plotH = ht - pad.t - pad.b;
  const max = Math.max(1, ...h.bins.map((b) => b.count));
  const base = pad.t + plotH;
  const parts: string[] = [];
  for (const b of h.bins) {
    const bh = b.count > 0 ? Math.max(1, (b.count / max) * plotH) : 0;
    parts.push(
      `<rect class="bin" x="${x(b.lo).toFixed(1)}" y="${(base - bh).toFixed(1)}" width="${Math.max(0.8, x(b.hi) - x(b.lo) - 0.6).toFixed(1)}" height="${bh.toFixed(1)}" fill="#3465a4" fill-opacity="0.75"><title>${e(fmtNum(b.lo))}–${e(fmtNum(b.hi))} ${e(h.unit)}: ${b.count}</title></rect>`,
    );
  }
  const pcts: Array<[string, number, number | undefined, string]> = [
    ['p50', h.p50, h.p50Ns, '#1e7e34'],
    ['p99', h.p99, h.p99Ns, '#f57900'],
    ['p99.9', h.p999, h.p999Ns, '#c5221f'],
  ];
  // Percentiles as dashed lines, named in a legend row above the plot (labels at the lines would collide).
  pcts.forEach(([name, v, ns, color], i) => {
    const px = x(v);
    parts.push(
      `<line class="pct" x1="${px.toFixed(1)}" x2="${px.toFixed(1)}" y1="${pad.t - 6}" y2="${base}" stroke="${color}" stroke-width="1.5" stroke-dasharray="3 2"><title>${name} ${e(fmtNum(v))} ${e(h.unit)}${ns !== undefined ? ` (${e(fmtNum(ns))} ns)` : ''}</title></line>`,
    );
    parts.push(
      `<text class="pct-label" x="${pad.l + i * 110}" y="14" font-size="10" fill="${color}">- - ${name} ${e(fmtNum(v))}</text>`,
    );
  });
  parts.push(`<line x1="${pad.l}" x2="${w - pad.r}" y1="${base}" y2="${base}" stroke="#9aa0a6"/>`);
  parts.push(`<text x="${pad.l}" y="${ht - 6}" font-size="10" fill="#5f6368">${e(fmtNum(lo))}</text>`);
  parts.push(
    `<text x="${w - pad.r}" y="${ht - 6}" font-size="10" fill="#5f6368" text-anchor="end">${e(fmtNum(hi))} ${e(h.unit)} (log)</text>`,
  );
  return `<svg class="chart hist" viewBox="0 0 ${w} ${ht}" role="img" aria-label="histogram of ${h.n} individually timed iterations (${e(h.unit)}, log axis)">${parts.join('')}</svg>`;
}

/**
 * A boot interval is a metric that says where it starts and ends: labels `from`/`to`, or a
 * name `boot.<from>_to_<to>`, or a single `interval`/`phase`/`segment`/`stage` label (then its
 * segments are taken as consecutive in recorded order).
 */
export function bootInterval(m: Metric): { from: string; to: string } | undefined {
  const l = m.labels ?? {};
  if (l.from !== undefined && l.to !== undefined) return { from: l.from, to: l.to };
  const mm = /^boot[._](.+?)_to_(.+)$/.exec(m.name);
  if (mm) return { from: mm[1]!, to: mm[2]! };
  return undefined;
}

/**
 * Orders one boot's intervals into a chain from the earliest mark: at each mark take the
 * shortest interval leaving it, so a total (spawn → exit) is not stacked on its own parts
 * (spawn → entry → exit). Intervals off the chain are returned as `rest`.
 */
export function chainIntervals<T extends { from: string; to: string; value: number }>(
  items: readonly T[],
): { chain: T[]; rest: T[] } {
  const tos = new Set(items.map((i) => i.to));
  const starts = items.filter((i) => !tos.has(i.from)).map((i) => i.from);
  let cur = starts[0] ?? items[0]?.from;
  const chain: T[] = [];
  const used = new Set<T>();
  while (cur !== undefined) {
    const next = items.filter((i) => i.from === cur && !used.has(i)).sort((a, b) => a.value - b.value)[0];
    if (!next) break;
    chain.push(next);
    used.add(next);
    cur = next.to;
  }
  return { chain, rest: items.filter((i) => !used.has(i)) };
}

function bootSection(results: Results): string {
  const xs = allMetrics(results).filter((x) => isBootMetric(x) && x.m.labels?.side === undefined);
  if (xs.length === 0) return '';
  const out: string[] = [];
  const others: Located[] = [];
  // One stack per case (a case is one boot configuration: machine, guest, firmware...).
  const perCase = new Map<string, Array<Located & { from: string; to: string; value: number }>>();
  const segmentLabelled = new Map<string, Located[]>();
  for (const x of xs) {
    const iv = bootInterval(x.m);
    const ik = intervalLabel(x.m);
    if (iv) {
      let l = perCase.get(x.c.id);
      if (!l) perCase.set(x.c.id, (l = []));
      l.push({ ...x, ...iv, value: x.m.summary.median });
    } else if (ik) {
      let l = segmentLabelled.get(x.c.id);
      if (!l) segmentLabelled.set(x.c.id, (l = []));
      l.push(x);
    } else others.push(x);
  }
  const stacksByUnit = new Map<string, Stack[]>();
  const addStack = (unit: string, st: Stack): void => {
    let l = stacksByUnit.get(unit);
    if (!l) stacksByUnit.set(unit, (l = []));
    l.push(st);
  };
  const stackLabel = (x: Located): string => `${x.m.labels?.machine ?? x.c.machine ?? ''} · ${x.c.id}`.replace(/^ · /, '');
  for (const items of perCase.values()) {
    for (const [unit, list] of byUnit(items)) {
      const { chain, rest } = chainIntervals(list);
      if (chain.length > 1)
        addStack(`${unit}|${chain[0]!.c.suite}`, {
          label: stackLabel(chain[0]!),
          segments: chain.map((i) => ({ name: `${i.from} → ${i.to}`, value: i.value })),
        });
      else others.push(...chain);
      others.push(...rest);
    }
  }
  for (const items of segmentLabelled.values()) {
    for (const [unit, list] of byUnit(items)) {
      addStack(`${unit}|${list[0]!.c.suite}`, {
        label: stackLabel(list[0]!),
        segments: list.map((x) => ({ name: x.m.labels![intervalLabel(x.m)!]!, value: x.m.summary.median })),
      });
    }
  }
  // One chart per unit and suite: micro boots (ms) and Linux boots (s) on one axis would hide the former.
  for (const [key, stacks] of stacksByUnit) {
    const [unit, suite] = key.split('|') as [string, string];
    out.push(
      `<figure>${stackedBarSvg(stacks, unit)}<figcaption>${e(suite)}: median of each consecutive boot interval, per machine type / case (${e(unit)})</figcaption></figure>`,
    );
  }
  for (const [unit, list] of byUnit(others)) {
    const labels = barLabels(list);
    const bars: Bar[] = list.map(({ m }, i) => ({
      label: labels[i]!,
      median: m.summary.median,
      p5: m.summary.p5,
      p95: m.summary.p95,
      n: m.summary.n,
    }));
    out.push(
      `<figure>${barChartSvg(bars, unit, 'bars boot')}<figcaption>boot totals and other boot metrics (median, whiskers p5–p95, ${e(unit)})</figcaption></figure>`,
    );
  }
  return `<section id="boot"><h2>Boot timeline</h2>${out.join('')}</section>`;
}

function ioSection(results: Results): string {
  const xs = allMetrics(results).filter((x) => x.m.labels?.side !== undefined);
  if (xs.length === 0) return '';
  const sides = [...new Set(xs.map((x) => x.m.labels!.side!))].sort();
  const out: string[] = [];
  for (const [unit, list] of byUnit(xs)) {
    const rows = new Map<string, Located[]>();
    for (const x of list) {
      // `io.randread.guest` and `io.randread.host` are one row: drop the side from the name.
      const side = x.m.labels!.side!;
      const name =
        x.m.name.endsWith(`.${side}`) || x.m.name.endsWith(`_${side}`) ? x.m.name.slice(0, -side.length - 1) : x.m.name;
      const lab = otherLabels(x, ['side']);
      const key = lab ? `${name} {${lab}}` : name;
      let r = rows.get(key);
      if (!r) rows.set(key, (r = []));
      r.push(x);
    }
    const bars: Bar[] = [];
    for (const [key, r] of rows) {
      for (const x of r.sort((a, b) => sides.indexOf(a.m.labels!.side!) - sides.indexOf(b.m.labels!.side!))) {
        const side = x.m.labels!.side!;
        bars.push({
          label: `${side}: ${key}`,
          median: x.m.summary.median,
          p5: x.m.summary.p5,
          p95: x.m.summary.p95,
          n: x.m.summary.n,
          color: PALETTE[sides.indexOf(side) % PALETTE.length],
        });
      }
    }
    const legend = sides.map((s, i) => `<span style="color:${PALETTE[i % PALETTE.length]}">■</span> ${e(s)}`).join(' &nbsp; ');
    out.push(
      `<figure>${barChartSvg(bars, unit, 'bars io')}<figcaption>${legend} — median, whiskers p5–p95, unit ${e(unit)}</figcaption></figure>`,
    );
  }
  return `<section id="io"><h2>I/O: guest vs host</h2>${out.join('')}</section>`;
}

function statusCell(c: CaseResult): string {
  return `<span class="s-${c.status}">${e(statusWord(c.status))}</span>`;
}

function logBlock(id: string, log: CaseLog | undefined, path: string | undefined): string {
  if (!path) return '<p class="muted small">no log recorded</p>';
  if (!log) return `<p class="muted small">log: <code>${e(path)}</code> (not read)</p>`;
  if (log.error) return `<p class="muted small">log <code>${e(path)}</code> could not be read: ${e(log.error)}</p>`;
  const note = log.truncatedBytes > 0 ? ` — first ${log.truncatedBytes} bytes left out, last part shown` : '';
  return `<details><summary>log <code>${e(path)}</code>${e(note)}</summary><pre class="log" id="log-${e(id)}">${e(stripAnsi(log.text))}</pre></details>`;
}

function metricsTable(c: CaseResult): string {
  if (c.metrics.length === 0) return '';
  const rows = c.metrics.map((m) => {
    const s = m.summary;
    const lab = labelText(m.labels);
    return `<tr><td><b>${e(m.name)}</b>${lab ? `<br><span class="muted small">${e(lab)}</span>` : ''}</td><td class="num">${e(fmtNum(s.median))}</td><td class="num">${e(fmtRange(s.p5, s.p95, ' – '))}</td><td class="num">${e(fmtCv(s.cv))}</td><td class="num">${s.n}</td><td>${e(m.unit)}</td><td class="small">${e(m.interval)}${m.ratio ? `<br>${e(ratioText(m))} <span class="muted">(${e(m.ratio.method)})</span>` : ''}${m.sampling ? `<br><span class="sampling">${e(m.sampling.note)}</span>` : ''}${m.roundSampling ? `<br><span class="sampling">${e(roundsText(m))}</span>` : ''}${m.method ? `<br><span class="muted">${e(m.method)}</span>` : ''}</td></tr>`;
  });
  return `<table class="metrics"><thead><tr><th>metric</th><th>median</th><th>p5 – p95</th><th>cv</th><th>n</th><th>unit</th><th>interval / method</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/**
 * What shaped a case's figures: its execution mode with the evidence (emulated marked so it
 * cannot be missed), the VM configuration, and for exits cases KVM's exit count, the expectation
 * checks and the histogram of individually timed iterations.
 */
function caseInfo(c: CaseResult): string {
  const out: string[] = [];
  const mode = caseMode(c);
  if (mode) {
    out.push(
      `<p class="execution">execution ${modeSpan(mode, mode)}${c.accelerator ? ` · accelerator ${e(c.accelerator)}` : ''}</p>`,
    );
    if (mode === 'emulated') {
      const first = c.execution?.evidence[0];
      out.push(`<p class="note-emulated">Emulated: ${e(EMULATED_MEANING)}.${first ? ` Evidence: ${e(first)}` : ''}</p>`);
    }
    const ev = c.execution?.evidence ?? [];
    if (ev.length) out.push(`<ul class="evidence">${ev.map((l) => `<li>${e(l)}</li>`).join('')}</ul>`);
  }
  const vm = Object.keys(c.vm ?? {}).sort();
  if (vm.length) out.push(`<p class="vm small">VM: ${vm.map((k) => `<code>${e(k)}=${e(c.vm![k])}</code>`).join(' ')}</p>`);
  if (isExitsCase(c) && c.status !== 'skip') {
    const epi = exitsPerIteration(c);
    const a = exitAccounting(c);
    out.push(
      `<p>exits per iteration <b class="exits-per-iteration">${epi ? e(fmtNum(epi.summary.median)) : '–'}</b>${epi ? ` <span class="muted small">(median of ${epi.summary.n}, KVM's count)</span>` : ''}${a && 'declared' in a && a.declared ? ` · declared for native execution: <code>${e(a.declared)}</code>` : ''}</p>`,
    );
    if (a && 'none' in a) out.push(`<p class="muted small">${e(noAccountingText(a.none))}</p>`);
    else if (a) {
      if (!a.judged) out.push(`<p class="muted not-judged">${e(notJudgedText(c))}</p>`);
      const cls = (ok: boolean): string => (!a.judged ? 'check-unjudged' : ok ? 'check-ok' : 'check-bad');
      if (a.checks.length)
        out.push(
          `<ul class="checks">${a.checks.map((k) => `<li class="${cls(k.ok)}">${k.ok ? '✓ ok' : '✗ not ok'}: ${e(k.text)}</li>`).join('')}</ul>`,
        );
    }
    const irq = c.facts?.interruptsDelivered;
    if (typeof irq === 'string') out.push(`<p class="small">interrupts delivered: ${e(irq)}</p>`);
  }
  const h = histogramFact(c);
  if (h) {
    const at = (v: number, ns: number | undefined): string =>
      `${e(fmtNum(v))} ${e(h.unit)}${ns !== undefined ? ` (${e(fmtNum(ns))} ns)` : ''}`;
    out.push(
      `<figure class="hist">${histogramSvg(h)}<figcaption>${h.n} iterations timed one by one (the cost of timing one empty call, ${e(fmtNum(h.overheadTicks))} ticks, subtracted): ` +
        `p50 ${at(h.p50, h.p50Ns)} · p99 ${at(h.p99, h.p99Ns)} · p99.9 ${at(h.p999, h.p999Ns)}</figcaption></figure>`,
    );
  }
  return out.length ? `<div class="case-info" id="info-${e(c.id)}">${out.join('')}</div>` : '';
}

export function renderHtml(results: Results, opts: HtmlOptions = {}): string {
  const verdict = runVerdict(results);
  const counts = countCases(results.cases);
  const r = results.run;
  const title = opts.title ?? `kvmbench ${r.suite} — ${r.id}`;
  const parts: string[] = [];
  parts.push(`<header><h1>${e(title)}</h1>`);
  parts.push(`<p><span class="verdict v-${verdict}" id="verdict">${e(statusWord(verdict))}</span> ${e(headline(results))}</p>`);
  if (isPartial(results)) {
    parts.push(
      `<div class="banner" id="partial">This run is ${e(r.state.toUpperCase())}: it did not finish, so cases may be missing and figures are incomplete.</div>`,
    );
  }
  const emulated = runEmulatedWarning(results);
  if (emulated) parts.push(`<div class="banner emulated" id="emulated">Emulated execution: ${e(emulated)}</div>`);
  if (r.accelerator === 'tcg' || r.accelerator === 'mixed') {
    parts.push(
      `<div class="banner">Accelerator <b>${e(r.accelerator)}</b>: TCG figures are emulation, not hardware VM exits.</div>`,
    );
  }
  const runAccel = r.execution ? modeSpan(r.execution.mode, accelText(r.accelerator, r.execution.mode)) : e(r.accelerator);
  parts.push(
    `<p class="muted small">run <code>${e(r.id)}</code> · started ${e(r.start)}${r.end ? ` · ended ${e(r.end)}` : ''} · accelerator ${runAccel}${r.acceleratorRequested ? ` (asked: ${e(r.acceleratorRequested)})` : ''} · ${r.quick ? 'quick' : 'full'} · kvmbench ${e(r.kvmbenchVersion)}${r.gitRevision ? ` (${e(r.gitRevision)})` : ''}</p>`,
  );
  if (runPlatformParts(results).length || r.cpuNote) {
    const platform = [
      r.cpu ? `-cpu <code>${e(r.cpu)}</code>` : '',
      r.execution ? `execution ${modeSpan(r.execution.mode, r.execution.mode)}` : '',
      results.host.kvmFlavor ? `KVM flavour <b>${e(results.host.kvmFlavor)}</b>` : '',
    ].filter(Boolean);
    parts.push(
      `<p class="small" id="platform">${platform.join(' · ')}${r.cpuNote ? `<br><span class="muted">cpu note: ${e(r.cpuNote)}</span>` : ''}</p>`,
    );
    if (r.execution?.evidence.length)
      parts.push(
        `<details class="run-execution"><summary>how the run's execution mode was decided</summary><ul class="evidence">${r.execution.evidence.map((l) => `<li>${e(l)}</li>`).join('')}</ul></details>`,
      );
  }
  if (r.warnings?.length) parts.push(`<ul class="warnings">${r.warnings.map((w) => `<li>${e(w)}</li>`).join('')}</ul>`);
  // Key facts in view; the long tail (module parameters, mitigations...) one click away.
  const facts = [...flattenFacts(results.host as Record<string, unknown>)];
  const isKey = (k: string): boolean => (KEY_HOST_FACTS as readonly string[]).includes(k);
  const row = ([k, v]: [string, string]): string => `<tr><th>${e(k)}</th><td>${e(v)}</td></tr>`;
  const rest = facts.filter(([k]) => !isKey(k));
  parts.push(
    `<h2>Host fingerprint</h2><table class="host"><tbody>${facts
      .filter(([k]) => isKey(k))
      .map(row)
      .join('')}</tbody></table>`,
  );
  if (rest.length)
    parts.push(
      `<details class="host-all"><summary>all other host facts (${rest.length})</summary><table class="host"><tbody>${rest.map(row).join('')}</tbody></table></details>`,
    );
  parts.push('</header>');

  parts.push(
    `<section id="cases"><h2>Cases (${counts.total})</h2><table><thead><tr><th>case</th><th>status</th><th>accel · execution</th><th>machine</th><th>time</th><th>metrics</th><th>reason</th></tr></thead><tbody>`,
  );
  for (const c of results.cases) {
    parts.push(
      `<tr><td><a href="#case-${e(c.id)}">${e(c.id)}</a></td><td>${statusCell(c)}</td><td class="nowrap">${modeSpan(caseMode(c), caseAccelText(c))}</td><td>${e(c.machine ?? '')}</td><td class="num">${(c.durationMs / 1000).toFixed(2)} s</td><td class="num">${c.metrics.length}</td><td class="small">${e(c.reason ?? '')}</td></tr>`,
    );
  }
  parts.push('</tbody></table></section>');

  const failed = results.cases.filter((c) => c.status === 'fail' || c.status === 'error');
  if (failed.length) {
    parts.push(`<section id="failed"><h2>Failed and errored cases (${failed.length})</h2>`);
    for (const c of failed) {
      parts.push(
        `<div class="failed ${c.status}"><h3>${statusCell(c)} ${e(c.id)}</h3><p>${e(c.reason ?? 'no reason recorded')}</p>${logBlock(c.id, opts.logs?.get(c.id), c.log)}</div>`,
      );
    }
    parts.push('</section>');
  }

  parts.push(
    conformanceSection(results),
    exitSection(results),
    scalingSection(results),
    bootSection(results),
    ioSection(results),
  );

  const withMetrics = results.cases.filter((c) => c.metrics.length > 0 || c.status === 'skip');
  if (withMetrics.length) {
    parts.push(
      '<section id="metrics"><h2>Metrics: every sample</h2><p class="muted small">Dots are samples, the shaded band is p5–p95, the red line is the median.</p>',
    );
    for (const c of withMetrics) {
      parts.push(
        `<h3 id="case-${e(c.id)}">${e(c.id)} ${statusCell(c)}${c.title ? ` <span class="muted">${e(c.title)}</span>` : ''}</h3>`,
      );
      if (c.status === 'skip') {
        parts.push(`<p class="muted">skipped: ${e(c.reason ?? 'no reason recorded')}</p>`, caseInfo(c));
        continue;
      }
      parts.push(caseInfo(c), metricsTable(c));
      parts.push('<div class="grid">');
      for (const m of c.metrics) {
        // Labels are in the table above; the caption stays one line.
        parts.push(
          `<figure>${distributionSvg(m)}<figcaption>${e(m.name)} · median ${e(fmtNum(m.summary.median))} ${e(m.unit)} · n=${m.summary.n} · ${modeSpan(m.execution, accelText(m.accelerator, m.execution))}</figcaption></figure>`,
        );
      }
      parts.push('</div>');
    }
    parts.push('</section>');
  }
  parts.push(
    `<footer class="muted small"><p>Generated by kvmbench ${e(r.kvmbenchVersion)} from results schema ${e(results.schema)}. Self-contained: no scripts, no network.</p></footer>`,
  );
  return htmlPage({ title, css: CSS + CONFORMANCE_CSS, body: parts.join('\n') });
}
