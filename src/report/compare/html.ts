/** The HTML view of a Comparison: the shared page shell and colours (../html-page.ts), one table per pair. */
import type { Comparison, MetricComparison } from '../../compare/compare.js';
import { escapeHtml as e, fmtNum, fmtPct, labelText } from '../format.js';
import { STATUS_COLORS, htmlPage } from '../html-page.js';
import {
  RELATION_TEXT,
  VERDICT_TONE,
  changeText,
  ciText,
  displayKeys,
  forcedLines,
  methodText,
  notesText,
  pText,
  powerLine,
  summaryLine,
  verdictSymbol,
  verdictText,
  vmLines,
} from './common.js';
import { conformanceHtml } from './conformance.js';

/** Rows in their verdict's colour; unchanged rows stay plain. */
const CSS = `
body{max-width:1200px}td{word-break:break-word}tr.differs{background:#fff3c4}.warn{background:#fff3c4;padding:2px 6px}.bad{color:var(--fail)}
${Object.entries(VERDICT_TONE)
  .filter(([, t]) => t !== undefined)
  .map(([v, t]) => `tr.v-${v} td{color:var(--${t})${v === 'regressed' ? ';font-weight:600' : ''}}`)
  .join('')}
`;

/** Change bar with CI whisker on a symmetric ±range axis; the noise band shaded. */
function changeSvg(m: MetricComparison, range: number): string {
  const w = 220;
  const h = 18;
  const x = (v: number): number => w / 2 + (Math.max(-range, Math.min(range, v)) / range) * (w / 2 - 4);
  const tone = VERDICT_TONE[m.verdict];
  const color = STATUS_COLORS[tone ?? 'skip'];
  const parts = [
    `<rect x="${x(-m.threshold).toFixed(1)}" y="1" width="${(x(m.threshold) - x(-m.threshold)).toFixed(1)}" height="${h - 2}" fill="#eceff1"/>`,
    `<line x1="${w / 2}" x2="${w / 2}" y1="0" y2="${h}" stroke="#9aa0a6"/>`,
  ];
  if (Number.isFinite(m.change))
    parts.push(
      `<rect class="change" x="${Math.min(x(0), x(m.change)).toFixed(1)}" y="5" width="${Math.abs(x(m.change) - x(0)).toFixed(1)}" height="${h - 10}" fill="${color}"/>`,
    );
  if (Number.isFinite(m.ci[0]) && Number.isFinite(m.ci[1]))
    parts.push(
      `<line x1="${x(m.ci[0]).toFixed(1)}" x2="${x(m.ci[1]).toFixed(1)}" y1="${h / 2}" y2="${h / 2}" stroke="#1d1d1f"/>`,
    );
  return `<svg class="chart change" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="change ${e(fmtPct(m.change))}">${parts.join('')}</svg>`;
}

export function renderCompareHtml(cmp: Comparison): string {
  const body: string[] = [];
  for (const p of cmp.pairs) {
    const range = Math.max(
      0.1,
      ...p.metrics
        .flatMap((m) => [Math.abs(m.change), Math.abs(m.ci[0]), Math.abs(m.ci[1])])
        .filter(Number.isFinite)
        .map((v) => Math.min(v, 2)),
    );
    body.push(
      `<h2>${e(p.base.label)} → ${e(p.new.label)}</h2><p class="${p.counts.regressed ? 'bad' : ''}"><b>${e(summaryLine(p))}</b></p><p class="muted power">${e(powerLine(p))}</p>`,
    );
    body.push(
      `<p>hosts: <b>${e(RELATION_TEXT[p.hosts.relation])}</b>; accelerators ${e(p.base.accelerator)} → ${e(p.new.accelerator)}</p>`,
    );
    for (const l of [...p.warnings, ...vmLines(p), ...forcedLines(p)]) body.push(`<p class="warn">${e(l)}</p>`);
    body.push(
      `<details${p.hosts.rows.some((r) => r.differs) ? ' open' : ''}><summary>host fingerprints</summary><table><thead><tr><th>fact</th><th>${e(p.base.label)}</th><th>${e(p.new.label)}</th></tr></thead><tbody>`,
    );
    for (const r of p.hosts.rows)
      body.push(
        `<tr class="${r.differs ? 'differs' : ''}"><th>${e(r.key)}</th><td>${e(r.base ?? '—')}</td><td>${e(r.new ?? '—')}</td></tr>`,
      );
    body.push('</tbody></table></details>');
    body.push(
      '<table><thead><tr><th></th><th>metric</th><th>base</th><th>new</th><th>change</th><th>95 % CI</th><th></th><th>verdict</th></tr></thead><tbody>',
    );
    const names = displayKeys(p);
    for (const m of p.metrics) {
      const lab = labelText(m.labels);
      body.push(
        `<tr class="v-${m.verdict}"><td>${e(verdictSymbol(m.verdict))}</td><td>${e(names.get(m)!)}${lab ? `<br><span class="muted small">${e(lab)}</span>` : ''}</td><td class="num">${e(fmtNum(m.base.median))} ${e(m.unit)}</td><td class="num">${e(fmtNum(m.new.median))}</td><td class="num">${e(changeText(m))}</td><td class="num">${e(ciText(m))}</td><td>${changeSvg(m, range)}</td><td>${e(verdictText(m))} <span class="muted">${e(pText(m))}${m.notes.length ? ` · ${e(notesText(m))}` : ''}</span></td></tr>`,
      );
    }
    body.push('</tbody></table>');
    body.push(conformanceHtml(p));
    if (p.onlyBase.length || p.onlyNew.length)
      body.push(
        `<p class="muted">Only in base: ${e(p.onlyBase.join(', ') || 'none')}. Only in new: ${e(p.onlyNew.join(', ') || 'none')}.</p>`,
      );
  }
  return htmlPage({
    title: 'kvmbench compare',
    css: CSS,
    body: `<h1>kvmbench compare</h1>${body.join('\n')}<p class="muted">${e(methodText(cmp))} Grey band: noise band; bar: change of medians; whisker: CI.</p>`,
  });
}
