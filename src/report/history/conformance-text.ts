/** Terminal views of conformance tests over the history: `history trend --test` and `history check`'s flips. */
import { Chalk, type ChalkInstance } from 'chalk';
import type { ConformanceCheck, ConformanceFlip, ConformanceRun, ConformanceTrend } from '../../history/conformance.js';
import { termSafe as clean } from '../format.js';
import { classText, shortTime, verdictCounts } from './common.js';

const plain = new Chalk({ level: 0 });

function checksText(r: ConformanceRun): string {
  return `sub-checks ${r.checksPass} pass, ${r.checksFail} fail, ${r.checksOther} other`;
}

function statusWord(status: string, color: ChalkInstance): string {
  const w = status.padEnd(5);
  return status === 'pass' ? color.green(w) : status === 'fail' || status === 'error' ? color.red.bold(w) : color.yellow(w);
}

export function renderConformanceTrendText(t: ConformanceTrend, color: ChalkInstance = plain): string {
  const out: string[] = [color.gray('one line per complete run that recorded the test: its verdict and its sub-checks'), ''];
  for (const s of t.series) {
    out.push(color.bold(clean(s.caseId)));
    out.push(
      color.gray(
        `  layer ${s.layer}, ${clean(s.accelerator)}, ${s.runs.length} run${s.runs.length === 1 ? '' : 's'} (${verdictCounts(s.runs)}), host class ${clean(classText(s.hostClass))}`,
      ),
    );
    for (const r of s.runs)
      out.push(
        `  ${shortTime(r.startedAt)}  ${statusWord(r.status, color)}  ${checksText(r)}  ${clean(r.hostname)}  ${clean(r.runId)}${r.gitRevision ? `  ${clean(r.gitRevision.slice(0, 10))}` : ''}${r.status !== 'pass' && r.reason ? color.gray(`  ${clean(r.reason).slice(0, 120)}`) : ''}`,
      );
    out.push('');
  }
  return out.join('\n');
}

function flipLines(f: ConformanceFlip, color: ChalkInstance): string[] {
  const head =
    f.kind === 'regression'
      ? (f.current ? color.red.bold : color.yellow)(
          `✗ ${clean(f.caseId)}: pass → ${f.after.status}${f.current ? '' : ' (passes again since)'}`,
        )
      : color.green.bold(`✓ ${clean(f.caseId)}: ${f.before.status} → pass (fixed)`);
  const lines = [
    head,
    `  ${f.runsAgo} run${f.runsAgo === 1 ? '' : 's'} ago, layer ${f.layer}, ${clean(f.accelerator)}, host class ${clean(classText(f.hostClass))}`,
    `  before: ${clean(f.before.runId)} ${shortTime(f.before.startedAt)} ${clean(f.before.hostname)}, ${checksText(f.before)}`,
    `  after:  ${clean(f.after.runId)} ${shortTime(f.after.startedAt)} ${clean(f.after.hostname)}, ${checksText(f.after)}`,
  ];
  if (f.kind === 'regression' && f.after.reason) lines.push(`  reason: ${clean(f.after.reason).slice(0, 200)}`);
  if (f.newlyFailing?.length)
    lines.push(
      `  newly failing: ${f.newlyFailing
        .slice(0, 5)
        .map((n) => clean(n))
        .join('; ')}${f.newlyFailing.length > 5 ? ` (+${f.newlyFailing.length - 5})` : ''}`,
    );
  return lines;
}

export function renderConformanceCheckText(c: ConformanceCheck, color: ChalkInstance = plain): string {
  const out = [
    color.gray(
      `${c.series} conformance series checked: pass ↔ fail flips in the last ${c.lastRuns} runs of each (skips are not verdicts)`,
    ),
  ];
  for (const f of c.flips) out.push('', ...flipLines(f, color));
  out.push('');
  out.push(
    (c.regressions ? color.red.bold : color.bold)(
      `${c.regressions} conformance test${c.regressions === 1 ? '' : 's'} that passed and now fail${c.regressions === 1 ? 's' : ''}`,
    ),
  );
  return out.join('\n') + '\n';
}
