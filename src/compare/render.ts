/** Views of a Comparison: text (coloured), Markdown, JSON, JUnit and HTML. */
import { Chalk, type ChalkInstance } from 'chalk';
import { KEY_HOST_FACTS, escapeHtml as e, fmtNum, fmtPct, stripAnsi } from '../report/common.js';
import { buildJunit, type JunitCase, type JunitSuite } from '../report/junit.js';
import { mdCell } from '../report/markdown.js';
import type { Comparison, MetricComparison, MetricVerdict, PairComparison } from './compare.js';
import { VERDICTS } from './compare.js';

export const COMPARE_FORMATS = ['text', 'md', 'json', 'junit', 'html'] as const;
export type CompareFormat = (typeof COMPARE_FORMATS)[number];

const plain = new Chalk({ level: 0 });

const RELATION_TEXT: Record<PairComparison['hosts']['relation'], string> = {
  'same-host': 'same host',
  'same-hardware': 'same hardware, different host',
  different: 'different hardware',
};

const SYMBOLS: Record<MetricVerdict, string> = {
  regressed: '✗',
  improved: '✓',
  unchanged: '~',
  inconclusive: '±',
  'too-few': '?',
  'not-comparable': '≠',
};

/** One mark per verdict, none shared: `±` is inconclusive (the interval spans a band edge), `≠` not comparable. */
export function verdictSymbol(v: MetricVerdict): string {
  return SYMBOLS[v];
}

function ciText(m: MetricComparison): string {
  if (!Number.isFinite(m.ci[0]) || !Number.isFinite(m.ci[1])) return '';
  return `[${fmtPct(m.ci[0])}, ${fmtPct(m.ci[1])}]`;
}

function verdictText(m: MetricComparison): string {
  if (m.verdict === 'too-few') return `too few samples (${m.base.n} vs ${m.new.n}; need ≥ ${m.needed} per side)`;
  if (m.verdict === 'not-comparable') return 'not comparable';
  return m.verdict;
}

function changeText(m: MetricComparison): string {
  return Number.isNaN(m.change) ? '—' : fmtPct(m.change);
}

function notesText(m: MetricComparison): string {
  return m.notes.join('; ');
}

function pText(m: MetricComparison): string {
  if (m.test === 'none') return '';
  const p = `p=${m.pAdjusted < 0.001 ? m.pAdjusted.toExponential(1) : m.pAdjusted.toFixed(3)}`;
  return m.test === 'welch' ? `${p} (${m.base.rounds} vs ${m.new.rounds} rounds)` : p;
}

/**
 * `case/metric` for display; the labels (machine, mode, TSC source...) only where two metrics of
 * the pair would otherwise read the same. JSON and JUnit keep the full key.
 */
export function displayKeys(p: PairComparison): Map<MetricComparison, string> {
  const short = (m: MetricComparison): string => `${m.caseId}/${m.name}`;
  const count = new Map<string, number>();
  for (const m of p.metrics) count.set(short(m), (count.get(short(m)) ?? 0) + 1);
  return new Map(p.metrics.map((m) => [m, (count.get(short(m)) ?? 0) > 1 ? m.key : short(m)]));
}

function labelText(m: MetricComparison): string {
  const l = m.labels ?? {};
  return Object.keys(l)
    .sort()
    .map((k) => `${k}=${l[k]}`)
    .join(', ');
}

const COUNT_TEXT: Record<MetricVerdict, string> = {
  regressed: 'regressed',
  improved: 'improved',
  unchanged: 'unchanged',
  inconclusive: 'inconclusive',
  'too-few': 'too few samples',
  'not-comparable': 'not comparable',
};

function geomeanText(p: PairComparison): string {
  const g = p.geomean;
  const excluded = g.excludedNonPositive ? `; ${g.excludedNonPositive} excluded: median ≤ 0` : '';
  if (!Number.isFinite(g.costRatio)) return `geomean n/a (no tested metric${excluded})`;
  const dir = g.costRatio < 1 ? 'better' : g.costRatio > 1 ? 'worse' : 'same';
  return `geomean ${fmtPct(g.costRatio - 1)} cost (${dir}) over ${g.rows} metric${g.rows === 1 ? '' : 's'}${excluded}`;
}

function pctText(f: number): string {
  const v = Math.abs(f) * 100;
  return `${v >= 10 ? v.toFixed(0) : v.toFixed(1)} %`;
}

/**
 * "with 9 tested metrics and 11 samples a side, the smallest shift this comparison could confirm at
 * 90 % power is +27 % (−21 % for an improvement) at the median measured CV of 10 %; per metric +9 %
 * to +180 %": what the comparison could have seen (PowerSummary, detectableShift in power.ts).
 */
export function powerLine(p: PairComparison): string {
  const w = p.power;
  if (w.rows === 0) return `power: no metric of this pair was tested (family of ${w.family}), so no shift could be confirmed`;
  const n = w.n[0] === w.n[1] ? `${w.n[0]}` : `${w.n[0]}–${w.n[1]}`;
  const pw = `${Math.round(w.power * 100)} %`;
  const down = (s: number) => 1 / (1 + s) - 1;
  const range = w.rows > 1 && w.range[0] !== w.range[1] ? `; per metric +${pctText(w.range[0])} to +${pctText(w.range[1])}` : '';
  return (
    `power: with ${w.family} tested metric${w.family === 1 ? '' : 's'} and ${n} ${w.unit === 'rounds' ? 'rounds (fresh guests)' : w.unit === 'mixed' ? 'samples or rounds' : 'samples'} a side, the smallest shift this comparison could confirm at ${pw} power ` +
    `is +${pctText(w.shift)} (−${pctText(down(w.shift))} for an improvement) at the median measured CV of ${pctText(w.cv)}${range}`
  );
}

function summaryLine(p: PairComparison): string {
  const c = p.counts;
  const parts = VERDICTS.filter((v) => c[v] > 0 || v === 'regressed' || v === 'improved' || v === 'unchanged').map((v) => `${c[v]} ${COUNT_TEXT[v]}`);
  return `${parts.join(', ')}; ${geomeanText(p)}`;
}

/** "VM configuration differs: cpu host → host,-arch-capabilities (exits/cpuid, exits/vmcall)", one line per distinct change. */
export function vmLines(p: PairComparison, maxCases = 4): string[] {
  const groups = new Map<string, string[]>();
  for (const d of p.vmDiffs) {
    const what = `${d.key} ${d.base ?? '—'} → ${d.new ?? '—'}`;
    groups.set(what, [...(groups.get(what) ?? []), d.caseId]);
  }
  return [...groups].map(([what, cases]) => {
    const shown = cases.slice(0, maxCases).join(', ') + (cases.length > maxCases ? `, and ${cases.length - maxCases} more` : '');
    return `VM configuration differs: ${what} (${shown})`;
  });
}

/** What --force let through, if anything. */
export function forcedLines(p: PairComparison): string[] {
  const out: string[] = [];
  for (const kind of ['accelerator', 'execution'] as const) {
    const rows = p.metrics.filter((m) => m.forced.includes(kind));
    if (rows.length === 0) continue;
    const modes = [...new Set(rows.map((m) => (kind === 'accelerator' ? `${m.base.accelerator} → ${m.new.accelerator}` : `${m.base.execution} → ${m.new.execution}`)))].join(', ');
    out.push(`--force: ${rows.length} metric${rows.length === 1 ? '' : 's'} compare${rows.length === 1 ? 's' : ''} different ${kind === 'accelerator' ? 'accelerators' : 'execution modes'} (${modes}); their verdicts compare different things`);
  }
  return out;
}

function methodText(cmp: Comparison): string {
  const rounds =
    cmp.test === 'mann-whitney-u'
      ? ''
      : `Rows with ≥ 3 rounds a side (test welch): Welch's t-test on the rounds' medians (log scale), change = ratio of their geometric means − 1 with the t interval; each round is a fresh guest. ` +
        (cmp.test === 'mixed' ? 'Other rows: ' : '');
  if (cmp.test === 'welch-rounds') {
    return rounds + `Holm-corrected across all ${cmp.family} tests of all pairs (family-wise, α=${cmp.alpha}). regressed/improved: p < α and the whole CI beyond the noise band; unchanged: the whole CI inside it; inconclusive (±): neither.`;
  }
  return (
    rounds +
    `Mann-Whitney U (exact for n ≤ 30 per side, conditional on ties; beyond, with ties, a seeded Monte Carlo permutation test; else the normal approximation), ` +
    `Holm-corrected across all ${cmp.family} tests of all pairs (family-wise, α=${cmp.alpha}); change = relative change of medians ` +
    `with a ${cmp.bootstrap}-resample bootstrap ${Math.round(cmp.ciLevel * 100)}% CI (seed ${cmp.seed}). ` +
    `regressed/improved: p < α and the whole CI beyond the noise band; unchanged: the whole CI inside it; inconclusive (±): neither.`
  );
}

function clean(s: string): string {
  // eslint-disable-next-line no-control-regex
  return stripAnsi(s).replace(/[\u0000-\u001F\u007F]/g, '?');
}

export function renderCompareText(cmp: Comparison, color: ChalkInstance = plain): string {
  const out: string[] = [];
  for (const p of cmp.pairs) {
    out.push(color.bold(`${clean(p.base.label)} (${clean(p.base.runId)}) → ${clean(p.new.label)} (${clean(p.new.runId)})`));
    out.push(`hosts: ${RELATION_TEXT[p.hosts.relation]}; accelerators ${p.base.accelerator} → ${p.new.accelerator}`);
    for (const l of [...p.warnings, ...vmLines(p), ...forcedLines(p)]) out.push(color.yellow(clean(l)));
    // A terminal gets the key facts and every difference; the other formats list every fact.
    const shown = p.hosts.rows.filter((r) => r.differs || (KEY_HOST_FACTS as readonly string[]).includes(r.key));
    const kw = Math.min(44, Math.max(4, ...shown.map((r) => r.key.length)));
    for (const r of shown) {
      const line = `  ${r.key.padEnd(kw)}  ${clean(r.base ?? '—').slice(0, 40).padEnd(40)}  ${clean(r.new ?? '—').slice(0, 40)}`;
      out.push(r.differs ? color.yellow(line + '  *') : color.gray(line));
    }
    const hidden = p.hosts.rows.length - shown.length;
    if (hidden > 0) out.push(color.gray(`  (${hidden} more facts, all identical: see --format md, html or json)`));
    out.push('');
    const names = displayKeys(p);
    const w = Math.min(70, Math.max(6, ...p.metrics.map((m) => names.get(m)!.length)));
    out.push(color.bold(`  ${'metric'.padEnd(w)}  ${'base'.padStart(10)}  ${'new'.padStart(10)}  ${'change'.padStart(8)}  ${'95% CI'.padEnd(19)}  verdict`));
    for (const m of p.metrics) {
      const paint =
        m.verdict === 'regressed' ? color.red.bold : m.verdict === 'improved' ? color.green : m.verdict === 'too-few' ? color.yellow : m.verdict === 'inconclusive' ? color.cyan : m.verdict === 'not-comparable' ? color.magenta : (s: string) => s;
      const notes = notesText(m);
      out.push(
        `${paint(verdictSymbol(m.verdict))} ${clean(names.get(m)!).padEnd(w)}  ${fmtNum(m.base.median).padStart(10)}  ${fmtNum(m.new.median).padStart(10)}  ${changeText(m).padStart(8)}  ${ciText(m).padEnd(19)}  ${paint(verdictText(m))} ${color.gray(`${pText(m)} band ±${(m.threshold * 100).toFixed(0)}%, ${clean(m.unit)}${notes ? `; ${clean(notes)}` : ''}`)}`,
      );
    }
    for (const k of p.onlyBase) out.push(color.gray(`- ${clean(k)}  only in ${clean(p.base.label)}`));
    for (const k of p.onlyNew) out.push(color.gray(`+ ${clean(k)}  only in ${clean(p.new.label)}`));
    out.push('', (p.counts.regressed > 0 ? color.red.bold : color.bold)(summaryLine(p)), color.gray(powerLine(p)), '');
  }
  out.push(color.gray(methodText(cmp)));
  return out.join('\n') + '\n';
}

export function renderCompareMarkdown(cmp: Comparison): string {
  const out: string[] = [];
  for (const p of cmp.pairs) {
    out.push(`### kvmbench compare: ${mdCell(p.base.label)} → ${mdCell(p.new.label)}`, '');
    out.push(`**${summaryLine(p)}** · hosts: ${RELATION_TEXT[p.hosts.relation]} · ${p.base.accelerator} → ${p.new.accelerator}`, '', mdCell(powerLine(p)), '');
    for (const l of [...p.warnings, ...vmLines(p), ...forcedLines(p)]) out.push(`> ${mdCell(l)}`, '');
    out.push('| | metric | base | new | change | 95 % CI | verdict |', '| --- | --- | ---: | ---: | ---: | --- | --- |');
    const names = displayKeys(p);
    for (const m of p.metrics) {
      const v = m.verdict === 'regressed' || m.verdict === 'improved' ? `**${verdictText(m)}**` : verdictText(m);
      const notes = notesText(m);
      out.push(`| ${verdictSymbol(m.verdict)} | ${mdCell(names.get(m)!)} | ${fmtNum(m.base.median)} ${mdCell(m.unit)} | ${fmtNum(m.new.median)} | ${changeText(m)} | ${ciText(m)} | ${v} ${pText(m)}${notes ? ` · ${mdCell(notes)}` : ''} |`);
    }
    if (p.onlyBase.length || p.onlyNew.length) {
      out.push('', `Only in base: ${p.onlyBase.map(mdCell).join(', ') || 'none'}. Only in new: ${p.onlyNew.map(mdCell).join(', ') || 'none'}.`);
    }
    const diff = p.hosts.rows.filter((r) => r.differs);
    out.push('', '<details><summary>host fingerprints' + (diff.length ? ` (${diff.length} differ)` : '') + '</summary>', '', '| fact | base | new |', '| --- | --- | --- |');
    for (const r of p.hosts.rows) out.push(`| ${r.differs ? '**' + mdCell(r.key) + '**' : mdCell(r.key)} | ${mdCell(r.base ?? '—')} | ${mdCell(r.new ?? '—')} |`);
    out.push('', '</details>', '');
  }
  out.push(`<sub>${mdCell(methodText(cmp))}</sub>`);
  return out.join('\n') + '\n';
}

export function renderCompareJson(cmp: Comparison): string {
  // The power line goes in as text too, beside the figures it is made of.
  const out = { ...cmp, pairs: cmp.pairs.map((p) => ({ ...p, power: { ...p.power, line: powerLine(p) } })) };
  // Infinity/NaN are not JSON: write them as null.
  return JSON.stringify(out, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n';
}

export function renderCompareJunit(cmp: Comparison): string {
  const suites: JunitSuite[] = cmp.pairs.map((p) => {
    const cases: JunitCase[] = p.metrics.map((m) => {
      const notes = notesText(m);
      return {
        name: m.key,
        classname: `kvmbench.compare.${m.caseId.split('/')[0]}`,
        timeSec: 0,
        // No verdict is not a pass: too few samples and inconclusive are skipped with the reason,
        // a row that cannot be compared (units, direction, non-finite samples) is an error.
        outcome: m.verdict === 'regressed' ? 'failure' : m.verdict === 'not-comparable' ? 'error' : m.verdict === 'too-few' || m.verdict === 'inconclusive' ? 'skipped' : 'pass',
        message:
          m.verdict === 'regressed'
            ? `regressed ${fmtPct(m.change)} (CI ${ciText(m)}, ${pText(m)}, band ±${(m.threshold * 100).toFixed(0)}%)`
            : m.verdict === 'too-few'
              ? verdictText(m)
              : m.verdict === 'inconclusive'
                ? `inconclusive: ${fmtPct(m.change)} (CI ${ciText(m) || 'n/a'}, ${pText(m)}, band ±${(m.threshold * 100).toFixed(0)}%)${notes ? `; ${notes}` : ''}`
                : m.verdict === 'not-comparable'
                  ? `not comparable: ${notes}`
                  : undefined,
        properties: [
          ['base.median', `${m.base.median} ${m.base.unit}`],
          ['new.median', `${m.new.median} ${m.new.unit}`],
          ['change', String(m.change)],
          ['ci', `${m.ci[0]} .. ${m.ci[1]}`],
          ['p.adjusted', String(m.pAdjusted)],
          ['verdict', m.verdict],
          ...(notes ? [['notes', notes] as [string, string]] : []),
        ],
        systemOut: `${m.key}: ${fmtNum(m.base.median)} → ${fmtNum(m.new.median)} ${m.unit} (${changeText(m)} ${ciText(m)}) ${verdictText(m)} ${pText(m)}${notes ? `; ${notes}` : ''}`,
      };
    });
    return {
      name: `compare ${p.base.label} → ${p.new.label}`,
      timeSec: 0,
      hostname: p.new.host.hostname,
      properties: [
        ['hosts', p.hosts.relation],
        ['base.run', p.base.runId],
        ['new.run', p.new.runId],
        ['summary', summaryLine(p)],
        ['power', powerLine(p)],
        ...p.warnings.map((l, i) => [`warning.${i}`, l] as [string, string]),
        ...vmLines(p, Number.POSITIVE_INFINITY).map((l, i) => [`vm.${i}`, l] as [string, string]),
        ...forcedLines(p).map((l, i) => [`forced.${i}`, l] as [string, string]),
      ],
      cases,
    };
  });
  return buildJunit('kvmbench compare', suites);
}

/** Change bar with CI whisker on a symmetric ±range axis; the noise band shaded. */
function changeSvg(m: MetricComparison, range: number): string {
  const w = 220;
  const h = 18;
  const x = (v: number): number => w / 2 + (Math.max(-range, Math.min(range, v)) / range) * (w / 2 - 4);
  const color = m.verdict === 'regressed' ? '#c5221f' : m.verdict === 'improved' ? '#1e7e34' : m.verdict === 'inconclusive' ? '#b26a00' : '#6b6f75';
  const parts = [`<rect x="${x(-m.threshold).toFixed(1)}" y="1" width="${(x(m.threshold) - x(-m.threshold)).toFixed(1)}" height="${h - 2}" fill="#eceff1"/>`, `<line x1="${w / 2}" x2="${w / 2}" y1="0" y2="${h}" stroke="#9aa0a6"/>`];
  if (Number.isFinite(m.change)) parts.push(`<rect class="change" x="${Math.min(x(0), x(m.change)).toFixed(1)}" y="5" width="${Math.abs(x(m.change) - x(0)).toFixed(1)}" height="${h - 10}" fill="${color}"/>`);
  if (Number.isFinite(m.ci[0]) && Number.isFinite(m.ci[1])) parts.push(`<line x1="${x(m.ci[0]).toFixed(1)}" x2="${x(m.ci[1]).toFixed(1)}" y1="${h / 2}" y2="${h / 2}" stroke="#1d1d1f"/>`);
  return `<svg class="chart change" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="change ${e(fmtPct(m.change))}">${parts.join('')}</svg>`;
}

export function renderCompareHtml(cmp: Comparison): string {
  const body: string[] = [];
  for (const p of cmp.pairs) {
    const range = Math.max(0.1, ...p.metrics.flatMap((m) => [Math.abs(m.change), Math.abs(m.ci[0]), Math.abs(m.ci[1])]).filter(Number.isFinite).map((v) => Math.min(v, 2)));
    body.push(`<h2>${e(p.base.label)} → ${e(p.new.label)}</h2><p class="${p.counts.regressed ? 'bad' : ''}"><b>${e(summaryLine(p))}</b></p><p class="muted power">${e(powerLine(p))}</p>`);
    body.push(`<p>hosts: <b>${e(RELATION_TEXT[p.hosts.relation])}</b>; accelerators ${e(p.base.accelerator)} → ${e(p.new.accelerator)}</p>`);
    for (const l of [...p.warnings, ...vmLines(p), ...forcedLines(p)]) body.push(`<p class="warn">${e(l)}</p>`);
    body.push(`<details${p.hosts.rows.some((r) => r.differs) ? ' open' : ''}><summary>host fingerprints</summary><table><thead><tr><th>fact</th><th>${e(p.base.label)}</th><th>${e(p.new.label)}</th></tr></thead><tbody>`);
    for (const r of p.hosts.rows) body.push(`<tr class="${r.differs ? 'differs' : ''}"><th>${e(r.key)}</th><td>${e(r.base ?? '—')}</td><td>${e(r.new ?? '—')}</td></tr>`);
    body.push('</tbody></table></details>');
    body.push('<table><thead><tr><th></th><th>metric</th><th>base</th><th>new</th><th>change</th><th>95 % CI</th><th></th><th>verdict</th></tr></thead><tbody>');
    const names = displayKeys(p);
    for (const m of p.metrics) {
      const lab = labelText(m);
      body.push(`<tr class="v-${m.verdict}"><td>${e(verdictSymbol(m.verdict))}</td><td>${e(names.get(m)!)}${lab ? `<br><span class="muted small">${e(lab)}</span>` : ''}</td><td class="num">${e(fmtNum(m.base.median))} ${e(m.unit)}</td><td class="num">${e(fmtNum(m.new.median))}</td><td class="num">${e(changeText(m))}</td><td class="num">${e(ciText(m))}</td><td>${changeSvg(m, range)}</td><td>${e(verdictText(m))} <span class="muted">${e(pText(m))}${m.notes.length ? ` · ${e(notesText(m))}` : ''}</span></td></tr>`);
    }
    body.push('</tbody></table>');
    if (p.onlyBase.length || p.onlyNew.length) body.push(`<p class="muted">Only in base: ${e(p.onlyBase.join(', ') || 'none')}. Only in new: ${e(p.onlyNew.join(', ') || 'none')}.</p>`);
  }
  const css = `body{font:14px/1.45 system-ui,"DejaVu Sans",sans-serif;max-width:1200px;margin:0 auto;padding:16px 24px;color:#1d1d1f}table{border-collapse:collapse;width:100%;margin:8px 0}th,td{border-bottom:1px solid #d0d4d9;padding:3px 8px;text-align:left}td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}tr.differs{background:#fff3c4}tr.v-regressed td{color:#c5221f;font-weight:600}tr.v-improved td{color:#1e7e34}tr.v-too-few td{color:#8a6d00}tr.v-inconclusive td{color:#b26a00}tr.v-not-comparable td{color:#7b1fa2}.warn{background:#fff3c4;padding:2px 6px}.muted{color:#5f6368;font-weight:400}.small{font-size:11px}td{word-break:break-word}.bad{color:#c5221f}@media print{details{display:block}}`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'"><title>kvmbench compare</title><style>${css}</style></head><body><h1>kvmbench compare</h1>${body.join('\n')}<p class="muted">${e(methodText(cmp))} Grey band: noise band; bar: change of medians; whisker: CI.</p></body></html>\n`;
}

export function renderComparison(cmp: Comparison, format: CompareFormat, color?: ChalkInstance): string {
  switch (format) {
    case 'text':
      return renderCompareText(cmp, color);
    case 'md':
      return renderCompareMarkdown(cmp);
    case 'json':
      return renderCompareJson(cmp);
    case 'junit':
      return renderCompareJunit(cmp);
    case 'html':
      return renderCompareHtml(cmp);
  }
}
