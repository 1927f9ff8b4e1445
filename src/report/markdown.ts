/** Markdown view, e.g. for a pull-request comment or a CI job summary. */
import type { Results } from '../results/model.js';
import {
  KEY_HOST_FACTS,
  caseAccelText,
  caseMode,
  emulatedNote,
  headline,
  isPartial,
  runEmulatedWarning,
  runPlatformParts,
} from './common.js';
import { fmtCv, fmtNum, fmtRange, labelText, mdCell, ratioText, roundsText } from './format.js';

export function renderMarkdown(results: Results): string {
  const out: string[] = [];
  out.push(`## kvmbench ${mdCell(results.run.suite)} — ${mdCell(results.run.id)}`, '');
  out.push(`**${mdCell(headline(results))}**`, '');
  if (isPartial(results)) out.push(`> ⚠️ This run is **${results.run.state}**: not every case ran.`, '');
  const facts = KEY_HOST_FACTS.filter((k) => results.host[k] !== undefined).map(
    (k) => `${k}: ${mdCell(String(results.host[k]))}`,
  );
  if (facts.length) out.push(`<sub>${facts.join(' · ')}</sub>`, '');
  const platform = runPlatformParts(results);
  if (platform.length || results.run.cpuNote) {
    out.push(
      `<sub>run: ${[...platform.map(mdCell), ...(results.run.cpuNote ? [`cpu note: ${mdCell(results.run.cpuNote)}`] : [])].join(' · ')}</sub>`,
      '',
    );
  }
  const emulated = runEmulatedWarning(results);
  if (emulated) out.push(`> ⚠️ **Emulated execution**: ${mdCell(emulated)}`, '');
  // The execution column is last so the first columns read as before (case, status, metric).
  out.push(
    '| case | status | metric | median | p5 – p95 | cv | n | unit | accel · execution |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | --- | --- |',
  );
  for (const c of results.cases) {
    const status = c.status === 'pass' ? 'pass' : `**${c.status}**`;
    const accel = caseAccelText(c);
    const exec = caseMode(c) === 'emulated' ? `**${mdCell(accel)}**` : mdCell(accel);
    if (c.metrics.length === 0) {
      out.push(`| ${mdCell(c.id)} | ${status} | ${mdCell(c.reason ?? '')} | | | | | | ${exec} |`);
      continue;
    }
    c.metrics.forEach((m, i) => {
      const s = m.summary;
      const lab = labelText(m.labels);
      out.push(
        `| ${i === 0 ? mdCell(c.id) : ''} | ${i === 0 ? status : ''} | ${mdCell(m.name)}${lab ? ` {${mdCell(lab)}}` : ''} | ${fmtNum(s.median)} | ${fmtRange(s.p5, s.p95, ' – ')} | ${fmtCv(s.cv)}${m.ratio ? ` (${ratioText(m)})` : ''} | ${s.n}${m.sampling ? ` (${mdCell(m.sampling.note)})` : ''}${m.roundSampling ? ` (${mdCell(roundsText(m))})` : ''} | ${mdCell(m.unit)} | ${i === 0 ? exec : ''} |`,
      );
    });
  }
  const emulatedList = results.cases.filter((c) => caseMode(c) === 'emulated');
  if (emulatedList.length && results.run.execution?.mode !== 'emulated') {
    // The run itself was native: name each emulated case with its own evidence.
    out.push('', '### Emulated cases', '');
    for (const c of emulatedList) out.push(`- **${mdCell(c.id)}**: ${mdCell(emulatedNote(c.execution))}`);
  }
  const bad = results.cases.filter((c) => c.status === 'fail' || c.status === 'error');
  if (bad.length) {
    out.push('', '### Failed and errored', '');
    for (const c of bad)
      out.push(
        `- **${mdCell(c.id)}** (${c.status}): ${mdCell(c.reason ?? 'no reason recorded')}${c.log ? ` — log \`${c.log.replace(/`/g, '')}\`` : ''}`,
      );
  }
  return out.join('\n') + '\n';
}
