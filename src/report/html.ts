/**
 * The HTML view: one self-contained page (inline CSS and SVG, no script, no network)
 * that reads on screen and on paper. A pure function of `Results` plus the case logs
 * the caller read; every string that came from a guest, a host or a file goes
 * through escapeHtml.
 *
 * This file assembles the page (header, case table, failed cases with their logs, every
 * case's metrics); the charts are drawn in ./html-charts.ts, the exits, boot and I/O
 * sections in ./html-sections.ts.
 */
import { CONFORMANCE_CSS, conformanceSection } from './conformance.js';
import type { CaseResult, Results } from '../results/model.js';
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
  isExitsCase,
  isPartial,
  noAccountingText,
  notJudgedText,
  runEmulatedWarning,
  runPlatformParts,
  runVerdict,
} from './common.js';
import { escapeHtml as e, fmtCv, fmtNum, fmtRange, labelText, ratioText, roundsText, statusWord, stripAnsi } from './format.js';
import { htmlPage } from './html-page.js';
import { distributionSvg, histogramSvg } from './html-charts.js';
import { bootSection, exitSection, ioSection, modeSpan } from './html-sections.js';
import { flattenFacts } from '../results/flatten.js';
import { scalingSection } from './scaling-chart.js';

// Re-exported so that importers of the HTML view need not know which file draws what.
export { barChartSvg, distributionSvg, histogramSvg, needsLogAxis, stackedBarSvg } from './html-charts.js';
export { bootInterval, chainIntervals } from './html-sections.js';

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
