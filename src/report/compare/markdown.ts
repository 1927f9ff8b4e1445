/** The Markdown view of a Comparison (a pull-request comment, a CI job summary). */
import type { Comparison } from '../../compare/compare.js';
import { fmtNum, mdCell } from '../format.js';
import {
  RELATION_TEXT,
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
import { conformanceMarkdown } from './conformance.js';

export function renderCompareMarkdown(cmp: Comparison): string {
  const out: string[] = [];
  for (const p of cmp.pairs) {
    out.push(`### kvmbench compare: ${mdCell(p.base.label)} → ${mdCell(p.new.label)}`, '');
    out.push(
      `**${summaryLine(p)}** · hosts: ${RELATION_TEXT[p.hosts.relation]} · ${p.base.accelerator} → ${p.new.accelerator}`,
      '',
      mdCell(powerLine(p)),
      '',
    );
    for (const l of [...p.warnings, ...vmLines(p), ...forcedLines(p)]) out.push(`> ${mdCell(l)}`, '');
    out.push('| | metric | base | new | change | 95 % CI | verdict |', '| --- | --- | ---: | ---: | ---: | --- | --- |');
    const names = displayKeys(p);
    for (const m of p.metrics) {
      const v = m.verdict === 'regressed' || m.verdict === 'improved' ? `**${verdictText(m)}**` : verdictText(m);
      const notes = notesText(m);
      out.push(
        `| ${verdictSymbol(m.verdict)} | ${mdCell(names.get(m)!)} | ${fmtNum(m.base.median)} ${mdCell(m.unit)} | ${fmtNum(m.new.median)} | ${changeText(m)} | ${ciText(m)} | ${v} ${pText(m)}${notes ? ` · ${mdCell(notes)}` : ''} |`,
      );
    }
    if (p.onlyBase.length || p.onlyNew.length) {
      out.push(
        '',
        `Only in base: ${p.onlyBase.map(mdCell).join(', ') || 'none'}. Only in new: ${p.onlyNew.map(mdCell).join(', ') || 'none'}.`,
      );
    }
    out.push(...conformanceMarkdown(p));
    const diff = p.hosts.rows.filter((r) => r.differs);
    out.push(
      '',
      '<details><summary>host fingerprints' + (diff.length ? ` (${diff.length} differ)` : '') + '</summary>',
      '',
      '| fact | base | new |',
      '| --- | --- | --- |',
    );
    for (const r of p.hosts.rows)
      out.push(
        `| ${r.differs ? '**' + mdCell(r.key) + '**' : mdCell(r.key)} | ${mdCell(r.base ?? '—')} | ${mdCell(r.new ?? '—')} |`,
      );
    out.push('', '</details>', '');
  }
  out.push(`<sub>${mdCell(methodText(cmp))}</sub>`);
  return out.join('\n') + '\n';
}
