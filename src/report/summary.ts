/**
 * The table `kvmbench run` prints at the end of a run: a view of its Results like the others in
 * this folder, through the same formatting core (./format.ts), so a median reads as in `report`.
 */
import type { ChalkInstance } from 'chalk';
import type { CaseResult, Results } from '../results/model.js';
import { caseAccelText, caseMode, countCases, exitsPerIteration, isExitsCase, runEmulatedWarning } from './common.js';
import { fmtCv, fmtNum, oneLine, paintStatus, samplingWord } from './format.js';
import { qemuShareLine } from './qemu-share.js';

/**
 * The metric's name less what the case column already says: its test (`exits/cpuid`, `cpuid.latency` → `latency`)
 * or its suite's stem (`boot-micro/q35`, `boot.spawn_to_exit` → `spawn_to_exit`).
 */
export function shortMetricName(r: Pick<CaseResult, 'id' | 'suite'>, name: string): string {
  const dot = name.indexOf('.');
  if (dot <= 0 || dot === name.length - 1) return name;
  const head = name.slice(0, dot);
  return head === r.id.split('/').pop() || head === r.suite.split('-')[0] ? name.slice(dot + 1) : name;
}

/**
 * The end-of-run table: case, status, key metric (the one marked `headline`, else the first) as median ± CV, unit, n,
 * for exits cases KVM's exits per iteration (median; `–` when KVM gave no count), the accelerator with the execution
 * mode beside it, and the key metric's short name; then the reasons of everything that did not pass, and a warning
 * when guest code ran emulated. The exits column is left out when no case is an exits case. The rows of the quick and
 * exits suites fit 100 columns.
 */
export function summaryTable(results: Results, c: ChalkInstance): string {
  const rows: string[][] = [['case', 'status', 'median ± cv', 'unit', 'n', 'exits/iter', 'accel · exec', 'metric']];
  for (const r of results.cases) {
    const m = r.metrics.find((x) => x.headline) ?? r.metrics[0];
    const epi = exitsPerIteration(r);
    rows.push([
      r.id,
      r.status,
      m ? `${fmtNum(m.summary.median)} ± ${fmtCv(m.summary.cv)}` : '',
      m?.unit ?? '',
      m ? `${m.summary.n}${samplingWord(m) ? ` ${samplingWord(m)}` : ''}` : '',
      epi ? fmtNum(epi.summary.median) : isExitsCase(r) ? '–' : '',
      caseAccelText(r),
      m ? shortMetricName(r, m.name) : '',
    ]);
  }
  // A run without exits cases has no use for their column.
  const EXITS = 5;
  const anyExits = rows.slice(1).some((row) => row[EXITS] !== '');
  const shown = rows[0]!.map((_, i) => i).filter((i) => i !== EXITS || anyExits);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const right = new Set([2, 4, EXITS]);
  const lines = rows.map((row, ri) =>
    shown
      .map((i) => {
        const cell = row[i]!;
        const padded = right.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!);
        if (ri === 0) return c.bold(padded);
        if (i === 1) return paintStatus(c, cell as CaseResult['status'], padded);
        if (i === 6 && caseMode(results.cases[ri - 1]!) === 'emulated') return c.yellow(padded);
        return padded;
      })
      .join('  ')
      .trimEnd(),
  );
  const counts = countCases(results.cases);
  const notes = results.cases
    .filter((r) => r.status !== 'pass' && r.reason)
    .map(
      (r) =>
        `  ${paintStatus(c, r.status, r.status)} ${r.id}: ${oneLine(r.reason!, 400)}${r.log ? c.dim(` (log: ${r.log})`) : ''}`,
    );
  const emulated = runEmulatedWarning(results);
  const warn = emulated ? [c.yellow(`emulated: ${oneLine(emulated, 400)}`), ''] : [];
  const state = results.run.state === 'complete' ? '' : c.yellow(` — run ${results.run.state}`);
  const total = `${counts.pass} passed, ${counts.fail} failed, ${counts.error} errors, ${counts.skip} skipped${state}`;
  // QEMU's share of a user-space exit, where the run has inl_from_qemu and the raw floor (or only the former).
  const share = qemuShareLine(results);
  return [...lines, '', ...(share ? [share, ''] : []), ...(notes.length ? [...notes, ''] : []), ...warn, total].join('\n');
}
