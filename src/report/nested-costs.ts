/**
 * Views of the nested exit-cost table (src/compare/nested-costs.ts): text for the terminal and
 * a self-contained HTML page (a table and a bar chart of the multipliers with their intervals).
 * Pure functions of the table; every number through format.ts.
 */
import type { NestedCostRow, NestedCostTable } from '../compare/nested-costs.js';
import { escapeHtml, fmtNum } from './format.js';
import { htmlPage } from './html-page.js';

const perIter = (v: number | undefined): string => (v === undefined ? '–' : v.toFixed(2));
const mult = (r: NestedCostRow): string => (Number.isFinite(r.multiplier) ? `${fmtNum(r.multiplier)}×` : '–');
const ci = (r: NestedCostRow): string => (Number.isFinite(r.ci[0]) ? `${fmtNum(r.ci[0])}–${fmtNum(r.ci[1])}` : '–');
const layerCell = (f: NestedCostRow['l1'], unit: string): string =>
  `${fmtNum(f.median)} ${unit} (n ${f.n}, ${f.accelerator}${f.execution ? ` · ${f.execution}` : ''})`;

export function nestedCostsText(t: NestedCostTable): string {
  const head = [
    'case',
    'layer 1 (this host)',
    'layer 2 (in L1)',
    'L2/L1',
    '95% CI',
    'exits/iter L2',
    'emul/iter L2',
    'exits/iter L1',
  ];
  const body = t.rows.map((r) => [
    r.caseId,
    layerCell(r.l1, r.unit),
    layerCell(r.l2, r.unit),
    mult(r),
    ci(r),
    perIter(r.l2.exitsPerIteration),
    perIter(r.l2.insnEmulationPerIteration),
    perIter(r.l1.exitsPerIteration),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = [
    `nested exit costs: layer 1 run ${t.l1Run.id} (${t.l1Run.accelerator}), layer 2 run ${t.l2Run.id} (L1 under ${t.l2Run.outerAccelerator})`,
    line(head),
    ...body.map(line),
    '',
    t.meaning,
    t.method,
  ];
  if (t.unpaired.length) out.push(`not paired (measured or passed at one layer only): ${t.unpaired.join(', ')}`);
  return out.join('\n') + '\n';
}

/** Bars of the multipliers on a log scale (they span 1× to hundreds ×), whiskers for the intervals. */
function chart(rows: readonly NestedCostRow[]): string {
  const ok = rows.filter((r) => Number.isFinite(r.multiplier) && r.multiplier > 0);
  if (!ok.length) return '';
  const hi = Math.max(...ok.map((r) => (Number.isFinite(r.ci[1]) ? r.ci[1] : r.multiplier)), 2);
  const lo = Math.min(...ok.map((r) => (Number.isFinite(r.ci[0]) && r.ci[0] > 0 ? r.ci[0] : r.multiplier)), 1);
  const left = 170,
    width = 460,
    rowH = 20;
  const x = (v: number): number => left + ((Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo) || 1)) * width;
  const parts: string[] = [];
  ok.forEach((r, i) => {
    const y = 10 + i * rowH;
    parts.push(`<text x="${left - 6}" y="${y + 13}" text-anchor="end" font-size="11">${escapeHtml(r.caseId)}</text>`);
    parts.push(
      `<rect x="${left}" y="${y + 3}" width="${Math.max(1, x(r.multiplier) - left).toFixed(1)}" height="12" fill="#4a7ab8"/>`,
    );
    if (Number.isFinite(r.ci[0]))
      parts.push(
        `<line x1="${x(Math.max(r.ci[0], lo)).toFixed(1)}" x2="${x(r.ci[1]).toFixed(1)}" y1="${y + 9}" y2="${y + 9}" stroke="#222" stroke-width="1.5"/>`,
      );
    parts.push(`<text x="${(x(r.multiplier) + 4).toFixed(1)}" y="${y + 13}" font-size="10">${escapeHtml(mult(r))}</text>`);
  });
  const h = 20 + ok.length * rowH;
  parts.push(`<line x1="${x(1).toFixed(1)}" x2="${x(1).toFixed(1)}" y1="5" y2="${h - 5}" stroke="#999" stroke-dasharray="3,3"/>`);
  return `<svg role="img" aria-label="layer 2 / layer 1 cost multipliers" width="${left + width + 60}" height="${h}" xmlns="http://www.w3.org/2000/svg">${parts.join('')}</svg>`;
}

export function nestedCostsHtml(t: NestedCostTable): string {
  const cells = (r: NestedCostRow): string[] => [
    r.caseId,
    layerCell(r.l1, r.unit),
    layerCell(r.l2, r.unit),
    mult(r),
    ci(r),
    perIter(r.l2.exitsPerIteration),
    perIter(r.l2.insnEmulationPerIteration),
    perIter(r.l1.exitsPerIteration),
  ];
  const head = [
    'case',
    'layer 1 (this host)',
    'layer 2 (in L1)',
    'L2/L1',
    '95% CI',
    'exits/iter L2',
    'emul/iter L2',
    'exits/iter L1',
  ];
  const body = [
    '<h1>Nested exit costs</h1>',
    `<p>Layer 1 run <code>${escapeHtml(t.l1Run.id)}</code> (${escapeHtml(t.l1Run.accelerator)}), layer 2 run <code>${escapeHtml(t.l2Run.id)}</code> (L1 under ${escapeHtml(t.l2Run.outerAccelerator)}).</p>`,
    `<p class="note">${escapeHtml(t.meaning)}</p>`,
    chart(t.rows),
    `<table><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>`,
    ...t.rows.map(
      (r) =>
        `<tr>${cells(r)
          .map((c) => `<td>${escapeHtml(c)}</td>`)
          .join('')}</tr>`,
    ),
    '</tbody></table>',
    `<p class="note">${escapeHtml(t.method)}</p>`,
    t.unpaired.length ? `<p class="note">Not paired: ${escapeHtml(t.unpaired.join(', '))}</p>` : '',
  ].join('\n');
  return htmlPage({ title: 'kvmbench nested exit costs', body, css: 'td:not(:first-child){text-align:right} .note{color:#555}' });
}
