/** Markdown view, e.g. for a pull-request comment or a CI job summary. */
import type { Results } from '../results/model.js';
import { KEY_HOST_FACTS, fmtNum, headline, isPartial, metricLabelText } from './common.js';

/** Table cells must not break the table: escape pipes, flatten newlines, neutralise HTML. */
export function mdCell(s: unknown): string {
  return String(s ?? '')
    .replace(/\r?\n|\r/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\|/g, '\\|')
    .replace(/`/g, '\\`');
}

export function renderMarkdown(results: Results): string {
  const out: string[] = [];
  out.push(`## kvmbench ${mdCell(results.run.suite)} — ${mdCell(results.run.id)}`, '');
  out.push(`**${mdCell(headline(results))}**`, '');
  if (isPartial(results)) out.push(`> ⚠️ This run is **${results.run.state}**: not every case ran.`, '');
  const facts = KEY_HOST_FACTS.filter((k) => results.host[k] !== undefined).map((k) => `${k}: ${mdCell(String(results.host[k]))}`);
  if (facts.length) out.push(`<sub>${facts.join(' · ')}</sub>`, '');
  out.push('| case | status | metric | median | p5 – p95 | cv | n | unit |', '| --- | --- | --- | ---: | ---: | ---: | ---: | --- |');
  for (const c of results.cases) {
    const status = c.status === 'pass' ? 'pass' : `**${c.status}**`;
    if (c.metrics.length === 0) {
      out.push(`| ${mdCell(c.id)} | ${status} | ${mdCell(c.reason ?? '')} | | | | | |`);
      continue;
    }
    c.metrics.forEach((m, i) => {
      const s = m.summary;
      const lab = metricLabelText(m);
      out.push(`| ${i === 0 ? mdCell(c.id) : ''} | ${i === 0 ? status : ''} | ${mdCell(m.name)}${lab ? ` {${mdCell(lab)}}` : ''} | ${fmtNum(s.median)} | ${fmtNum(s.p5)} – ${fmtNum(s.p95)} | ${(s.cv * 100).toFixed(1)}% | ${s.n} | ${mdCell(m.unit)} |`);
    });
  }
  const bad = results.cases.filter((c) => c.status === 'fail' || c.status === 'error');
  if (bad.length) {
    out.push('', '### Failed and errored', '');
    for (const c of bad) out.push(`- **${mdCell(c.id)}** (${c.status}): ${mdCell(c.reason ?? 'no reason recorded')}${c.log ? ` — log \`${c.log.replace(/`/g, '')}\`` : ''}`);
  }
  return out.join('\n') + '\n';
}
