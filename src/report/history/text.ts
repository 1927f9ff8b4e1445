/** Terminal views of the history models (list, trend, check, hosts); every figure through format.ts. */
import { Chalk, type ChalkInstance } from 'chalk';
import type { CheckReport } from '../../history/check.js';
import type { FleetReport } from '../../history/fleet.js';
import type { ImportLine } from '../../history/store.js';
import type { StoredRun } from '../../history/store.js';
import type { Trend } from '../../history/trend.js';
import { fmtNum, fmtPct, termSafe as clean } from '../format.js';
import { renderConformanceCheckText } from './conformance-text.js';
import { accelWord, betterText, changeWord, classText, shortTime } from './common.js';

const plain = new Chalk({ level: 0 });

export function renderImportText(lines: readonly ImportLine[], store: string): string {
  const added = lines.filter((l) => l.outcome === 'added').length;
  const out = lines.map(
    (l) =>
      `${l.outcome === 'added' ? '+' : '='} ${clean(l.runId)}  ${l.state.padEnd(11)} ${clean(l.path)}${l.outcome === 'exists' ? '  (already stored)' : ''}`,
  );
  out.push(`${added} run${added === 1 ? '' : 's'} added, ${lines.length - added} already stored, in ${clean(store)}`);
  return out.join('\n') + '\n';
}

export function renderRunsText(runs: readonly StoredRun[], store: string): string {
  if (runs.length === 0) return `no stored run matches (${clean(store)})\n`;
  const rows = runs.map((r) =>
    [
      r.id,
      shortTime(r.startedAt),
      r.state,
      r.suite,
      r.hostname,
      accelWord(r.accelerator, r.execution),
      r.gitRevision?.slice(0, 10) ?? '—',
      r.hostClass,
    ].map(clean),
  );
  const head = ['run', 'started', 'state', 'suite', 'host', 'accel', 'git', 'host class'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(w[i]!))
      .join('  ')
      .trimEnd();
  return (
    [line(head), ...rows.map(line), `${runs.length} run${runs.length === 1 ? '' : 's'} in ${clean(store)}`].join('\n') + '\n'
  );
}

export function renderTrendText(t: Trend, color: ChalkInstance = plain): string {
  const out: string[] = [
    color.gray(
      `${t.pointMeaning}; change points: E-Divisive means, t-test p < ${t.options.pValue}, at least ${fmtPct(t.options.minMagnitude, 0).slice(1)}, ${t.options.minSegment}+ runs a side`,
    ),
    '',
  ];
  for (const s of t.series) {
    out.push(color.bold(clean(s.metricKey)));
    out.push(
      color.gray(
        `  ${clean(s.unit)}, ${betterText(s.better)}, ${accelWord(s.accelerator, s.execution)}, ${s.points.length} runs, host class ${clean(classText(s.hostClass))}`,
      ),
    );
    out.push(color.gray(`  one sample: ${clean(s.interval)}`));
    const marks = new Map(s.changes.map((c) => [c.index, c]));
    for (const [i, p] of s.points.entries()) {
      const c = marks.get(i);
      if (c)
        out.push(
          (c.regression ? color.red.bold : color.green.bold)(
            `  ── change point: ${changeWord(c.change, c.regression)} (p ${c.p.toExponential(1)}) ──`,
          ),
        );
      out.push(
        `  ${shortTime(p.startedAt)}  ${fmtNum(p.median).padStart(10)}  [${fmtNum(p.ciLo)}–${fmtNum(p.ciHi)}]  n=${p.n}  ${clean(p.hostname)}  ${clean(p.runId)}${p.gitRevision ? `  ${clean(p.gitRevision.slice(0, 10))}` : ''}`,
      );
    }
    out.push('');
  }
  return out.join('\n');
}

export function renderCheckText(r: CheckReport, color: ChalkInstance = plain): string {
  const out: string[] = [];
  out.push(
    color.gray(
      `${r.series} series checked (${r.tooShort} too short: fewer than ${2 * r.options.minSegment} runs); change points in the last ${r.lastRuns} runs of each; E-Divisive means, t-test p < ${r.options.pValue}, at least ${fmtPct(r.options.minMagnitude, 0).slice(1)}`,
    ),
  );
  for (const f of r.findings) {
    out.push('');
    out.push(
      (f.regression ? color.red.bold : color.green.bold)(
        `${f.regression ? '▲' : '▼'} ${clean(f.metricKey)}: ${changeWord(f.change, f.regression)}, ${fmtNum(f.levelBefore)} → ${fmtNum(f.levelAfter)} ${clean(f.unit)} (${betterText(f.better)}, ${accelWord(f.accelerator, f.execution)})`,
      ),
    );
    out.push(
      `  at run ${f.index + 1} of ${f.seriesLength} (${f.runsAgo} run${f.runsAgo === 1 ? '' : 's'} ago), p ${f.p.toExponential(1)}, host class ${clean(classText(f.hostClass))}`,
    );
    out.push(
      `  before: ${clean(f.before.runId)} ${shortTime(f.before.startedAt)} ${clean(f.before.hostname)}${f.before.gitRevision ? ` git ${clean(f.before.gitRevision.slice(0, 10))}` : ''}, median ${fmtNum(f.before.median)}`,
    );
    out.push(
      `  after:  ${clean(f.after.runId)} ${shortTime(f.after.startedAt)} ${clean(f.after.hostname)}${f.after.gitRevision ? ` git ${clean(f.after.gitRevision.slice(0, 10))}` : ''}, median ${fmtNum(f.after.median)}`,
    );
    out.push(color.gray(`  confirm on one host: ${clean(f.confirm)}`));
  }
  out.push('');
  const imp = r.findings.length - r.regressions;
  out.push(
    (r.regressions ? color.red.bold : color.bold)(
      `${r.regressions} regression${r.regressions === 1 ? '' : 's'} and ${imp} improvement${imp === 1 ? '' : 's'} among new change points: candidates to confirm with kvmbench ab, not verdicts`,
    ),
  );
  if (r.conformance) out.push('', renderConformanceCheckText(r.conformance, color).trimEnd());
  return out.join('\n') + '\n';
}

export function renderHostsText(f: FleetReport, color: ChalkInstance = plain): string {
  const out: string[] = [
    color.gray(`cell: median of the host's last ${f.lastRuns} run medians, × its ratio to the fleet median; ${f.rule}`),
    '',
  ];
  const hw = Math.max(4, ...f.hosts.map((h) => h.hostname.length));
  for (const [ci, c] of f.columns.entries()) {
    out.push(
      color.bold(`${clean(c.metricKey)}`) +
        color.gray(
          `  ${clean(c.unit)}, ${betterText(c.better)}, ${c.accelerator}; fleet median ${fmtNum(c.fleetMedian)} over ${c.hosts} hosts`,
        ),
    );
    for (const h of f.hosts) {
      const cell = h.cells[ci];
      if (!cell) continue;
      const text = `  ${clean(h.hostname).padEnd(hw)}  ${fmtNum(cell.median).padStart(10)}  ×${cell.ratio.toFixed(2)}  (${cell.runs} run${cell.runs === 1 ? '' : 's'})`;
      out.push(
        cell.outlier
          ? (cell.worse ? color.red.bold : color.yellow)(`${text}  outlier, ${cell.worse ? 'worse' : 'better'} than the fleet`)
          : text,
      );
    }
    out.push('');
  }
  const flagged = f.hosts.filter((h) => h.outliers > 0);
  out.push(
    flagged.length
      ? color.bold(`outlier hosts: ${flagged.map((h) => `${clean(h.hostname)} (${h.outliers})`).join(', ')}`)
      : 'no outlier host',
  );
  return out.join('\n') + '\n';
}
