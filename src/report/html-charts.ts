/**
 * The HTML report's SVG chart primitives: strip plot of samples, bars with whiskers (log axis when
 * medians span too far), stacked boot intervals and the one-by-one histogram. Pure markup from
 * numbers and labels; they know no sections and no page, so any HTML view can draw with them.
 */
import type { Metric } from '../results/model.js';
import type { HistogramView } from './common.js';
import { escapeHtml as e, fmtNum } from './format.js';

export const PALETTE = ['#3465a4', '#f57900', '#4e9a06', '#75507b', '#c4a000', '#06989a', '#cc0000', '#8f5902', '#555753'];

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

export interface Bar {
  label: string;
  median: number;
  p5: number;
  p95: number;
  n: number;
  color?: string;
  group?: string;
}

/** Medians spanning more than this factor get a log axis, or the small ones vanish. */
export const LOG_SPAN = 50;

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

export interface Stack {
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
