/** The terminal view of a Comparison; colour only through the chalk instance given (../color.ts). */
import { Chalk, type ChalkInstance } from 'chalk';
import type { Comparison } from '../../compare/compare.js';
import { KEY_HOST_FACTS } from '../common.js';
import { fmtNum, statusColor, termSafe as clean } from '../format.js';
import {
  RELATION_TEXT,
  VERDICT_TONE,
  bandText,
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
import { conformanceTextLines } from './conformance.js';

const plain = new Chalk({ level: 0 });

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
      const line = `  ${r.key.padEnd(kw)}  ${clean(r.base ?? '—')
        .slice(0, 40)
        .padEnd(40)}  ${clean(r.new ?? '—').slice(0, 40)}`;
      out.push(r.differs ? color.yellow(line + '  *') : color.gray(line));
    }
    const hidden = p.hosts.rows.length - shown.length;
    if (hidden > 0) out.push(color.gray(`  (${hidden} more facts, all identical: see --format md, html or json)`));
    out.push('');
    const names = displayKeys(p);
    const w = Math.min(70, Math.max(6, ...p.metrics.map((m) => names.get(m)!.length)));
    if (p.metrics.length)
      out.push(
        color.bold(
          `  ${'metric'.padEnd(w)}  ${'base'.padStart(10)}  ${'new'.padStart(10)}  ${'change'.padStart(8)}  ${'95% CI'.padEnd(19)}  verdict`,
        ),
      );
    for (const m of p.metrics) {
      const tone = VERDICT_TONE[m.verdict];
      const paint = tone ? statusColor(color, tone) : (t: string) => t;
      const notes = notesText(m);
      out.push(
        `${paint(verdictSymbol(m.verdict))} ${clean(names.get(m)!).padEnd(w)}  ${fmtNum(m.base.median).padStart(10)}  ${fmtNum(m.new.median).padStart(10)}  ${changeText(m).padStart(8)}  ${ciText(m).padEnd(19)}  ${paint(verdictText(m))} ${color.gray(`${pText(m)} ${bandText(m)}, ${clean(m.unit)}${notes ? `; ${clean(notes)}` : ''}`)}`,
      );
    }
    for (const k of p.onlyBase) out.push(color.gray(`- ${clean(k)}  only in ${clean(p.base.label)}`));
    for (const k of p.onlyNew) out.push(color.gray(`+ ${clean(k)}  only in ${clean(p.new.label)}`));
    for (const l of conformanceTextLines(p, clean)) out.push(l.startsWith('✗') ? color.red(l) : l);
    out.push('', (p.counts.regressed > 0 ? color.red.bold : color.bold)(summaryLine(p)), color.gray(powerLine(p)), '');
  }
  out.push(color.gray(methodText(cmp)));
  return out.join('\n') + '\n';
}
