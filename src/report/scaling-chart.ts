/**
 * Figures against vCPUs in the HTML view: every series of metrics that differ only in their
 * `vcpus` label (the exit-scaling case, boot cases with a vCPU sweep) as a line of medians with
 * p5–p95 whiskers, vCPUs on a log2 axis. Per-vCPU figures of a parallel run (`vcpu=K`) stay in
 * the case's table; the chart draws their mean (`vcpu=all`). A pure function of the results.
 */
import type { CaseResult, Metric, Results } from '../results/model.js';
import { escapeHtml as e, fmtNum, labelText } from './format.js';

const PALETTE = ['#3465a4', '#f57900', '#4e9a06', '#75507b', '#c4a000', '#06989a', '#cc0000', '#8f5902'];

export interface ScalingPoint {
  vcpus: number;
  median: number;
  p5: number;
  p95: number;
  n: number;
}
export interface ScalingSeries {
  caseId: string;
  name: string;
  unit: string;
  labels: string;
  points: ScalingPoint[];
  parallel: boolean;
}

/** The series of a run: one per case, metric name and labels other than `vcpus`, with two or more vCPU counts. */
export function scalingSeries(results: Pick<Results, 'cases'>): ScalingSeries[] {
  const byKey = new Map<string, ScalingSeries>();
  for (const c of results.cases as CaseResult[]) {
    // A case with parallel figures is charted by their mean over the vCPUs alone (not its baselines).
    const parallel = c.metrics.some((m) => m.labels?.vcpu === 'all');
    for (const m of c.metrics as Metric[]) {
      const v = Number(m.labels?.vcpus);
      if (!Number.isInteger(v) || v < 1) continue;
      if (parallel ? m.labels?.vcpu !== 'all' : m.labels?.vcpu !== undefined) continue;
      if (!Number.isFinite(m.summary.median)) continue;
      const labels = labelText(m.labels, ['vcpus', 'vcpu']);
      const key = `${c.id}\u0000${m.name}\u0000${m.unit}\u0000${labels}`;
      let s = byKey.get(key);
      if (!s) byKey.set(key, (s = { caseId: c.id, name: m.name, unit: m.unit, labels, points: [], parallel }));
      s.points.push({ vcpus: v, median: m.summary.median, p5: m.summary.p5, p95: m.summary.p95, n: m.summary.n });
    }
  }
  return [...byKey.values()]
    .filter((s) => new Set(s.points.map((p) => p.vcpus)).size >= 2)
    .map((s) => ({ ...s, points: s.points.sort((a, b) => a.vcpus - b.vcpus) }));
}

/** One chart: the series of one case and unit, medians joined by lines. */
export function scalingSvg(series: readonly ScalingSeries[]): string {
  const w = 420,
    h = 220,
    left = 58,
    right = 12,
    top = 12,
    bottom = 34;
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p.vcpus)))].sort((a, b) => a - b);
  const lx = (v: number): number => Math.log2(v);
  const x0 = lx(xs[0]!),
    x1 = lx(xs.at(-1)!);
  const X = (v: number): number => left + (x1 > x0 ? ((lx(v) - x0) / (x1 - x0)) * (w - left - right) : (w - left - right) / 2);
  // Scaled to the medians: one long p95 whisker must not flatten every line (whiskers are clipped).
  const ymax = 1.3 * Math.max(...series.flatMap((s) => s.points.map((p) => p.median))) || 1;
  const Y = (v: number): number => top + (1 - Math.min(Math.max(v, 0), ymax) / ymax) * (h - top - bottom);
  const unit = series[0]?.unit ?? '';
  const parts: string[] = [];
  parts.push(
    `<line x1="${left}" y1="${Y(0)}" x2="${w - right}" y2="${Y(0)}" stroke="#9aa0a6"/><line x1="${left}" y1="${top}" x2="${left}" y2="${Y(0)}" stroke="#9aa0a6"/>`,
  );
  for (const f of [0, 0.5, 1])
    parts.push(
      `<text x="${left - 4}" y="${Y(ymax * f) + 4}" text-anchor="end" font-size="10" fill="#5f6368">${e(fmtNum(ymax * f))}</text>`,
    );
  for (const v of xs)
    parts.push(`<text x="${X(v)}" y="${h - bottom + 14}" text-anchor="middle" font-size="10" fill="#5f6368">${v}</text>`);
  parts.push(`<text x="${(left + w - right) / 2}" y="${h - 4}" text-anchor="middle" font-size="11" fill="#5f6368">vCPUs</text>`);
  parts.push(
    `<text x="12" y="${(top + h - bottom) / 2}" text-anchor="middle" font-size="11" fill="#5f6368" transform="rotate(-90 12 ${(top + h - bottom) / 2})">${e(unit)}</text>`,
  );
  series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const path = s.points.map((p, k) => `${k ? 'L' : 'M'}${X(p.vcpus).toFixed(1)},${Y(p.median).toFixed(1)}`).join(' ');
    parts.push(
      `<path class="series" d="${path}" fill="none" stroke="${color}" stroke-width="2"><title>${e(s.name)}${s.labels ? ` {${e(s.labels)}}` : ''}</title></path>`,
    );
    for (const p of s.points) {
      if (Number.isFinite(p.p5) && Number.isFinite(p.p95))
        parts.push(
          `<line x1="${X(p.vcpus)}" y1="${Y(p.p5)}" x2="${X(p.vcpus)}" y2="${Y(p.p95)}" stroke="${color}" stroke-opacity=".5"/>`,
        );
      parts.push(
        `<circle class="point" cx="${X(p.vcpus).toFixed(1)}" cy="${Y(p.median).toFixed(1)}" r="3" fill="${color}"><title>${e(s.name)} at ${p.vcpus} vCPUs: median ${e(fmtNum(p.median))} ${e(s.unit)}, n=${p.n}</title></circle>`,
      );
    }
  });
  return `<svg class="chart scaling" viewBox="0 0 ${w} ${h}" role="img" aria-label="${e(series.map((s) => s.name).join(', '))} against vCPUs (${e(unit)})">${parts.join('')}</svg>`;
}

/** The section: one chart per case and unit, with its legend; empty when no series has two vCPU counts. */
export function scalingSection(results: Pick<Results, 'cases'>): string {
  const all = scalingSeries(results);
  if (!all.length) return '';
  const groups = new Map<string, ScalingSeries[]>();
  for (const s of all) {
    const k = `${s.caseId}\u0000${s.unit}`;
    const g = groups.get(k) ?? [];
    g.push(s);
    groups.set(k, g);
  }
  const figures = [...groups.values()].map((g) => {
    const shown = g.slice(0, PALETTE.length);
    const legend = shown
      .map(
        (s, i) =>
          `<span style="color:${PALETTE[i % PALETTE.length]}">■</span> ${e(s.name)}${s.labels ? ` <span class="muted">{${e(s.labels)}}</span>` : ''}`,
      )
      .join('<br>');
    const more =
      g.length > shown.length ? `<br><span class="muted">${g.length - shown.length} more series in the case's table</span>` : '';
    return `<figure class="scaling">${scalingSvg(shown)}<figcaption><b>${e(g[0]!.caseId)}</b>: median against vCPUs, whiskers p5–p95, unit ${e(g[0]!.unit)}${g[0]!.parallel ? '; every vCPU ran the loop at once: the mean over the vCPUs (vcpu=all)' : ''}<br>${legend}${more}</figcaption></figure>`;
  });
  return `<section id="vcpus"><h2>Against vCPUs</h2><div class="grid">${figures.join('')}</div></section>`;
}
