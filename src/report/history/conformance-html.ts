/**
 * The HTML page of conformance tests over the history (`history trend --test … --format html`):
 * per series (host class, layer, accelerator, test) a strip of its runs, oldest first, one cell
 * a verdict, then the runs as a table with their sub-check counts and reasons. Self-contained
 * (htmlPage: no script, nothing loaded); every text from the store is escaped.
 */
import { conformanceFlips, type ConformanceRun, type ConformanceTrend } from '../../history/conformance.js';
import { escapeHtml as esc } from '../format.js';
import { htmlPage } from '../html-page.js';
import { classText, shortTime, verdictCounts } from './common.js';

const CSS = `
.strip{display:flex;flex-wrap:wrap;gap:2px;margin:6px 0 10px}
.strip span{display:inline-block;min-width:22px;height:22px;line-height:22px;text-align:center;font-size:11px;font-weight:700;color:#fff;border-radius:3px}
.strip .v-pass{background:var(--pass)}.strip .v-fail{background:var(--fail)}.strip .v-error{background:var(--error)}.strip .v-skip{background:var(--skip)}
.strip .flip{outline:2px solid var(--fg);outline-offset:1px}
.legend{font-size:12px;color:var(--muted)}
`;

const LETTER: Record<string, string> = { pass: 'P', fail: 'F', error: 'E', skip: 'S' };
const verdictClass = (status: string): string => (status in LETTER ? status : 'error');

function runTitle(r: ConformanceRun): string {
  return `${r.runId} ${shortTime(r.startedAt)} ${r.hostname}: ${r.status}; sub-checks ${r.checksPass} pass, ${r.checksFail} fail, ${r.checksOther} other${r.reason ? `; ${r.reason}` : ''}`;
}

export function renderConformanceTrendHtml(t: ConformanceTrend): string {
  const sections = t.series.map((s) => {
    // Where a verdict flipped between pass and fail (skips are not verdicts), as `history check` finds it.
    const flips = conformanceFlips([s], s.runs.length).flips;
    const flipRuns = new Set(flips.map((f) => f.after.runId));
    const strip = s.runs
      .map(
        (r) =>
          `<span class="v-${verdictClass(r.status)}${flipRuns.has(r.runId) ? ' flip' : ''}" title="${esc(runTitle(r))}">${LETTER[r.status] ?? '?'}</span>`,
      )
      .join('');
    const flipList = flips.length
      ? `<ul>${flips
          .map(
            (f) =>
              `<li class="${f.kind === 'regression' ? 's-fail' : 's-pass'}">${esc(
                f.kind === 'regression'
                  ? `pass → ${f.after.status} in ${f.after.runId}${f.current ? '' : ' (passes again since)'}`
                  : `${f.before.status} → pass (fixed) in ${f.after.runId}`,
              )}</li>`,
          )
          .join('')}</ul>`
      : '';
    const rows = s.runs
      .map(
        (r) =>
          `<tr><td>${esc(shortTime(r.startedAt))}</td><td class="s-${esc(verdictClass(r.status))}">${esc(r.status)}</td><td class="num">${esc(r.checksPass)}</td><td class="num">${esc(r.checksFail)}</td><td class="num">${esc(r.checksOther)}</td><td>${esc(r.hostname)}</td><td><code>${esc(r.runId)}</code>${r.gitRevision ? ` <code class="muted">${esc(r.gitRevision.slice(0, 10))}</code>` : ''}</td><td class="small">${r.status !== 'pass' && r.reason ? esc(r.reason) : ''}</td></tr>`,
      )
      .join('');
    return `<section class="series"><h2>${esc(s.caseId)}</h2>
<p class="muted small">${esc(`layer ${s.layer}, ${s.accelerator}, ${s.runs.length} run${s.runs.length === 1 ? '' : 's'} (${verdictCounts(s.runs)}), host class ${classText(s.hostClass)}`)}</p>
<div class="strip" role="img" aria-label="${esc(`verdicts of ${s.caseId}, oldest first`)}">${strip}</div>${flipList}
<details><summary>runs</summary><table><thead><tr><th>started</th><th>verdict</th><th>sub-checks pass</th><th>fail</th><th>other</th><th>host</th><th>run</th><th>reason</th></tr></thead><tbody>${rows}</tbody></table></details></section>`;
  });
  const body = `<h1>kvmbench history: conformance tests</h1>
<p class="legend">One cell per complete run that recorded the test, oldest first: P pass, F fail, E error, S skip (hover for the run, its sub-checks and its reason); an outlined cell is a flip between pass and fail (skips are not verdicts). Tests: <code>${esc(t.patterns.join(' '))}</code>. Store: <code>${esc(t.store)}</code>.</p>
${sections.join('\n') || '<p>no series</p>'}`;
  return htmlPage({ title: 'kvmbench history: conformance tests', css: CSS, body });
}
