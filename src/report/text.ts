/** Plain-text view for a terminal; colour only through makeColor (NO_COLOR-aware, ./color.ts). */
import { Chalk, type ChalkInstance } from 'chalk';
import type { Results } from '../results/model.js';
import {
  KEY_HOST_FACTS,
  caseAccelText,
  caseMode,
  emulatedNote,
  exitChecksLine,
  exitsPerIteration,
  headline,
  isExitsCase,
  runEmulatedWarning,
  runPlatformParts,
  runVerdict,
} from './common.js';
import {
  fmtCv,
  fmtNum,
  fmtRange,
  labelText,
  ratioText,
  samplingText,
  modeColor,
  paintStatus,
  statusColor,
  statusWord,
  termSafe as clean,
} from './format.js';

const plain = new Chalk({ level: 0 });

export function renderText(results: Results, color: ChalkInstance = plain): string {
  const out: string[] = [];
  out.push(statusColor(color, runVerdict(results))(clean(headline(results))));
  const facts = KEY_HOST_FACTS.filter((k) => results.host[k] !== undefined).map((k) => `${k}=${clean(String(results.host[k]))}`);
  if (facts.length) out.push(color.gray(`host: ${facts.join('  ')}`));
  const platform = runPlatformParts(results);
  if (platform.length) out.push(color.gray(`run: ${clean(platform.join(' · '))}`));
  if (results.run.cpuNote) out.push(color.gray(`cpu note: ${clean(results.run.cpuNote)}`));
  const emulated = runEmulatedWarning(results);
  if (emulated) out.push(color.yellow.bold(`!! EMULATED: ${clean(emulated)}`));
  out.push('');
  const idW = Math.min(40, Math.max(4, ...results.cases.map((c) => c.id.length)));
  for (const c of results.cases) {
    const accel = caseAccelText(c);
    const mode = caseMode(c);
    out.push(
      `${paintStatus(color, c.status, statusWord(c.status).padEnd(5))} ${clean(c.id).padEnd(idW)} ${color.gray(`${(c.durationMs / 1000).toFixed(2)}s`)}${accel ? `  ${modeColor(color, mode)(`[${clean(accel)}]`)}` : ''}${c.reason ? `  ${clean(c.reason)}` : ''}`,
    );
    if (mode === 'emulated') out.push(color.yellow(`        ! ${clean(emulatedNote(c.execution))}`));
    if (isExitsCase(c) && c.metrics.length > 0) {
      const epi = exitsPerIteration(c);
      const checks = exitChecksLine(c);
      const parts = [
        `exits per iteration ${epi ? color.bold(fmtNum(epi.summary.median)) : '–'}`,
        ...(checks ? [clean(checks)] : []),
      ];
      out.push(`        ${parts.join(' · ')}`);
    }
    for (const m of c.metrics) {
      const s = m.summary;
      const lab = labelText(m.labels);
      out.push(
        `        ${clean(m.name)}${lab ? color.gray(` {${clean(lab)}}`) : ''}: median ${color.bold(fmtNum(s.median))} ${clean(m.unit)}  p5–p95 ${fmtRange(s.p5, s.p95)}  cv ${fmtCv(s.cv)}${m.ratio ? `  ${ratioText(m)}` : ''}  ${clean(samplingText(m))}`,
      );
    }
  }
  return out.join('\n') + '\n';
}
