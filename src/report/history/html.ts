/**
 * Self-contained HTML pages of the history (htmlPage: inline CSS and SVG, no script, nothing
 * loaded): the trend, one chart per series (the band of each run's 95 % interval of the median,
 * the medians, the direction of better, change points marked), and the fleet matrix.
 */
import type { FleetReport } from '../../history/fleet.js';
import type { Trend, TrendSeries } from '../../history/trend.js';
import { escapeHtml as esc, fmtNum, fmtPct } from '../format.js';
import { STATUS_COLORS, htmlPage } from '../html-page.js';
import { accelWord, betterText, changeWord, classText, shortTime } from './common.js';

const W = 820;
const H = 240;
const M = { l: 70, r: 20, t: 16, b: 34 };

const TREND_CSS = `
svg.trend{display:block;margin:4px 0 18px;border:1px solid var(--line);background:#fcfcfd}
svg.trend .band{fill:#9ec5fe;fill-opacity:.45;stroke:none}
svg.trend .median{fill:none;stroke:#1a56a0;stroke-width:1.6}
svg.trend circle{fill:#1a56a0}
svg.trend .axis{stroke:#9aa0a6;stroke-width:1}
svg.trend text{font-size:11px;fill:#5f6368}
svg.trend .change-point{stroke-width:1.5;stroke-dasharray:5 3}
svg.trend .better{font-weight:600;fill:#1e7e34}
.legend{font-size:12px;color:var(--muted)}
table.fleet td.outlier{font-weight:700}
table.fleet td.worse{color:var(--fail);background:#fdecea}
table.fleet td.better-outlier{color:var(--warn);background:#fff8e1}
`;

function chart(s: TrendSeries): string {
  const pts = s.points;
  const lo = Math.min(...pts.map((p) => p.ciLo));
  const hi = Math.max(...pts.map((p) => p.ciHi));
  const pad = (hi - lo) * 0.08 || Math.abs(hi) * 0.05 || 1;
  const y0 = lo - pad;
  const y1 = hi + pad;
  const iw = W - M.l - M.r;
  const ih = H - M.t - M.b;
  const x = (i: number) => M.l + (pts.length === 1 ? iw / 2 : (i / (pts.length - 1)) * iw);
  const y = (v: number) => M.t + ih - ((v - y0) / (y1 - y0)) * ih;
  const f = (v: number) => v.toFixed(1);
  const band = `M${pts.map((p, i) => `${f(x(i))},${f(y(p.ciHi))}`).join('L')}L${pts
    .map((p, i) => [i, p] as const)
    .reverse()
    .map(([i, p]) => `${f(x(i))},${f(y(p.ciLo))}`)
    .join('L')}Z`;
  const line = pts.map((p, i) => `${i ? 'L' : 'M'}${f(x(i))},${f(y(p.median))}`).join('');
  const dots =
    pts.length <= 400
      ? pts
          .map(
            (p, i) =>
              `<circle cx="${f(x(i))}" cy="${f(y(p.median))}" r="2"><title>${esc(`${p.runId} ${shortTime(p.startedAt)} ${p.hostname}: ${fmtNum(p.median)} ${s.unit} [${fmtNum(p.ciLo)}–${fmtNum(p.ciHi)}], n=${p.n}`)}</title></circle>`,
          )
          .join('')
      : '';
  const ticks = [y0 + pad, (y0 + y1) / 2, y1 - pad]
    .map(
      (v) =>
        `<line class="axis" x1="${M.l - 4}" x2="${M.l}" y1="${f(y(v))}" y2="${f(y(v))}"/><text x="${M.l - 6}" y="${f(y(v) + 4)}" text-anchor="end">${esc(fmtNum(v))}</text>`,
    )
    .join('');
  const changes = s.changes
    .map((c) => {
      const cx = (x(c.index - 1) + x(c.index)) / 2;
      const col = c.regression ? STATUS_COLORS.fail : STATUS_COLORS.pass;
      return `<g class="change ${c.regression ? 'regression' : 'improvement'}"><line class="change-point" x1="${f(cx)}" x2="${f(cx)}" y1="${M.t}" y2="${M.t + ih}" stroke="${col}"/><text x="${f(cx + 4)}" y="${M.t + 12}" fill="${col}">${esc(changeWord(c.change, c.regression))}</text><title>${esc(`between ${c.runBefore} and ${c.runAfter}, p ${c.p.toExponential(1)}`)}</title></g>`;
    })
    .join('');
  const arrowY = s.better === 'lower' ? M.t + ih - 4 : M.t + 12;
  return `<svg class="trend" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(`trend of ${s.metricKey}`)}">
<path class="band" d="${band}"/><path class="median" d="${line}"/>${dots}
<line class="axis" x1="${M.l}" x2="${M.l}" y1="${M.t}" y2="${M.t + ih}"/><line class="axis" x1="${M.l}" x2="${W - M.r}" y1="${M.t + ih}" y2="${M.t + ih}"/>${ticks}
<text class="better" x="${M.l + 6}" y="${arrowY}">${esc(betterText(s.better))}</text>
<text x="${M.l}" y="${H - 8}">${esc(shortTime(pts[0]!.startedAt))}</text><text x="${W - M.r}" y="${H - 8}" text-anchor="end">${esc(shortTime(pts[pts.length - 1]!.startedAt))} (${pts.length} runs)</text>
<text x="14" y="${M.t + ih / 2}" transform="rotate(-90 14 ${M.t + ih / 2})" text-anchor="middle">${esc(s.unit)}</text>
${changes}</svg>`;
}

export function renderTrendHtml(t: Trend): string {
  const sections = t.series.map((s) => {
    const changes = s.changes.length
      ? `<ul>${s.changes.map((c) => `<li class="${c.regression ? 's-fail' : 's-pass'}">${esc(changeWord(c.change, c.regression))} between <code>${esc(c.runBefore)}</code> and <code>${esc(c.runAfter)}</code> (p ${esc(c.p.toExponential(1))})</li>`).join('')}</ul>`
      : '<p class="muted small">no change point</p>';
    return `<section class="series"><h2>${esc(s.metricKey)}</h2>
<p class="muted small">${esc(`${s.unit}, ${betterText(s.better)}, ${accelWord(s.accelerator, s.execution)}, host class ${classText(s.hostClass)}`)}<br>one sample: ${esc(s.interval)}</p>
${chart(s)}${changes}</section>`;
  });
  const body = `<h1>kvmbench history: trend</h1>
<p class="legend">${esc(t.pointMeaning)}: the line is the medians, the band their intervals. Change points: E-Divisive means, t-test p &lt; ${esc(t.options.pValue)}, at least ${esc(fmtPct(t.options.minMagnitude, 0).slice(1))}, ${esc(t.options.minSegment)}+ runs a side. Store: <code>${esc(t.store)}</code>.</p>
${sections.join('\n') || '<p>no series</p>'}`;
  return htmlPage({ title: 'kvmbench history: trend', css: TREND_CSS, body });
}

export function renderHostsHtml(f: FleetReport): string {
  const head = `<tr><th>host</th>${f.columns.map((c) => `<th>${esc(c.metricKey)}<br><span class="muted small">${esc(`${c.unit}, ${betterText(c.better)}, ${c.accelerator}; fleet ${fmtNum(c.fleetMedian)}`)}</span></th>`).join('')}</tr>`;
  const rows = f.hosts.map(
    (h) =>
      `<tr><td>${esc(h.hostname)}<br><span class="muted small">${esc(h.hostClasses.join(', '))}</span></td>${h.cells
        .map((c) =>
          c
            ? `<td class="num${c.outlier ? ` outlier ${c.worse ? 'worse' : 'better-outlier'}` : ''}" title="${esc(`z ${Number.isFinite(c.z) ? c.z.toFixed(1) : c.z}, ${c.runs} runs`)}">${esc(fmtNum(c.median))} <span class="small">×${esc(c.ratio.toFixed(2))}</span>${c.outlier ? ' ⚑' : ''}</td>`
            : '<td class="muted">—</td>',
        )
        .join('')}</tr>`,
  );
  const body = `<h1>kvmbench history: hosts</h1>
<p class="legend">Each cell: the median of the host's last ${esc(f.lastRuns)} run medians and its ratio to the fleet median. ${esc(f.rule)}. Store: <code>${esc(f.store)}</code>.</p>
<table class="fleet"><thead>${head}</thead><tbody>${rows.join('')}</tbody></table>`;
  return htmlPage({ title: 'kvmbench history: hosts', css: TREND_CSS, body });
}
