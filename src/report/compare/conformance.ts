/**
 * The conformance part of a Comparison in every format: one row per test whose verdict changed
 * (regressed, fixed, pass → skip, skip → pass, other changes, only in one run), then how many
 * are unchanged. The same words everywhere.
 */
import type { ConformanceChange, ConformanceComparison, ConformanceRow } from '../../compare/conformance.js';
import type { PairComparison } from '../../compare/compare.js';
import { escapeHtml as e, mdCell, statusWord } from '../format.js';
import type { JunitCase } from '../junit-xml.js';

const CHANGE_TEXT: Record<ConformanceChange, string> = {
  regressed: 'regressed (pass → fail)',
  fixed: 'fixed (fail → pass)',
  'pass-to-skip': 'pass → skip',
  'skip-to-pass': 'skip → pass',
  other: 'changed',
  'only-base': 'only in base',
  'only-new': 'only in new',
};

const MARK: Record<ConformanceChange, string> = {
  regressed: '✗',
  fixed: '✓',
  'pass-to-skip': '↷',
  'skip-to-pass': '↶',
  other: '~',
  'only-base': '-',
  'only-new': '+',
};

function statuses(r: ConformanceRow): string {
  return `${r.base ? statusWord(r.base) : '—'} → ${r.new ? statusWord(r.new) : '—'}`;
}

function detail(r: ConformanceRow): string {
  const parts: string[] = [];
  if (r.newFailures.length)
    parts.push(
      `newly failing: ${r.newFailures.slice(0, 5).join('; ')}${r.newFailures.length > 5 ? ` (+${r.newFailures.length - 5})` : ''}`,
    );
  if (r.newPasses.length)
    parts.push(
      `newly passing: ${r.newPasses.slice(0, 5).join('; ')}${r.newPasses.length > 5 ? ` (+${r.newPasses.length - 5})` : ''}`,
    );
  if (r.reason && r.change !== 'fixed' && r.change !== 'skip-to-pass') parts.push(r.reason.split('\n')[0]!.slice(0, 200));
  return parts.join(' · ');
}

export function conformanceSummary(c: ConformanceComparison): string {
  const parts = (['regressed', 'fixed', 'pass-to-skip', 'skip-to-pass', 'other', 'only-base', 'only-new'] as const)
    .filter((k) => c.counts[k] > 0 || k === 'regressed')
    .map((k) => `${c.counts[k]} ${CHANGE_TEXT[k]}`);
  return `conformance tests: ${parts.join(', ')}, ${c.unchanged} unchanged`;
}

export function conformanceTextLines(p: PairComparison, clean: (s: string) => string): string[] {
  const c = p.conformance;
  if (!c) return [];
  const w = Math.min(50, Math.max(4, ...c.rows.map((r) => r.caseId.length)));
  return [
    '',
    ...c.rows.map(
      (r) =>
        `${MARK[r.change]} ${clean(r.caseId).padEnd(w)}  ${statuses(r).padEnd(13)}  ${CHANGE_TEXT[r.change]}${detail(r) ? `  ${clean(detail(r))}` : ''}`,
    ),
    conformanceSummary(c),
  ];
}

export function conformanceMarkdown(p: PairComparison): string[] {
  const c = p.conformance;
  if (!c) return [];
  const out = ['', `**${conformanceSummary(c)}**`, ''];
  if (c.rows.length) {
    out.push('| | test | base → new | change | detail |', '| --- | --- | --- | --- | --- |');
    for (const r of c.rows)
      out.push(
        `| ${MARK[r.change]} | ${mdCell(r.caseId)} | ${statuses(r)} | ${r.change === 'regressed' ? '**' + CHANGE_TEXT[r.change] + '**' : CHANGE_TEXT[r.change]} | ${mdCell(detail(r))} |`,
      );
  }
  return out;
}

export function conformanceHtml(p: PairComparison): string {
  const c = p.conformance;
  if (!c) return '';
  const rows = c.rows.map(
    (r) =>
      `<tr class="k-${e(r.change)}"><td>${e(MARK[r.change])}</td><td>${e(r.caseId)}</td><td>${e(statuses(r))}</td><td>${r.change === 'regressed' ? `<b class="bad">${e(CHANGE_TEXT[r.change])}</b>` : e(CHANGE_TEXT[r.change])}</td><td class="small">${e(detail(r))}</td></tr>`,
  );
  return `<h3>Conformance tests</h3><p class="${c.regressions ? 'bad' : ''}"><b>${e(conformanceSummary(c))}</b></p>${rows.length ? `<table class="conformance"><thead><tr><th></th><th>test</th><th>base → new</th><th>change</th><th>detail</th></tr></thead><tbody>${rows.join('')}</tbody></table>` : ''}`;
}

/** One testcase per changed test: a regression is a failure, everything else passes with its change in system-out. */
export function conformanceJunit(p: PairComparison): JunitCase[] {
  return (p.conformance?.rows ?? []).map((r) => ({
    name: `${r.caseId} (conformance)`,
    classname: `kvmbench.compare.${r.caseId.split('/')[0]}`,
    timeSec: 0,
    outcome: r.change === 'regressed' ? 'failure' : 'pass',
    ...(r.change === 'regressed' ? { message: `regressed: ${statuses(r)}${detail(r) ? `; ${detail(r)}` : ''}` } : {}),
    properties: [
      ['change', r.change],
      ['base', r.base ?? 'absent'],
      ['new', r.new ?? 'absent'],
    ],
    systemOut: `${r.caseId}: ${statuses(r)} ${CHANGE_TEXT[r.change]}${detail(r) ? `; ${detail(r)}` : ''}`,
  }));
}
