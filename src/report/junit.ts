/**
 * JUnit XML view. CI readers differ (field notes §3): GitLab ignores <properties>,
 * shows `classname` as the suite and drops duplicate names; some GitHub reporters need
 * a testsuite name. So: one testsuite per suite with name/time/timestamp/hostname,
 * unique testcase names, a classname per suite, `error` for breakdowns and `failure`
 * for failed checks, `skipped` with a message, and a one-line summary in system-out
 * for readers that drop properties.
 */
import type { CaseResult, Results } from '../results/model.js';
import {
  KEY_HOST_FACTS,
  caseAccelText,
  caseMode,
  casesBySuite,
  emulatedNote,
  exitChecksLine,
  exitsPerIteration,
  headline,
  isExitsCase,
} from './common.js';
import { fmtCv, fmtNum, metricId, ratioText, statusWord } from './format.js';
import { buildJunit, type JunitCase, type JunitSuite } from './junit-xml.js';
import { subCheckJunitCases } from './conformance.js';

/** One line per case, for readers that drop properties. */
export function caseSummaryLine(c: CaseResult): string {
  const parts = [`${c.id} ${statusWord(c.status)}`];
  const where = [caseAccelText(c), c.machine, c.guest?.name].filter(Boolean).join(', ');
  if (where) parts.push(`[${where}]`);
  if (c.reason) parts.push(`reason: ${c.reason.replace(/\s+/g, ' ').trim()}`);
  // Readers that drop properties must still see that emulated figures are not hardware exits.
  if (caseMode(c) === 'emulated') parts.push(`${emulatedNote(c.execution)}.`);
  if (isExitsCase(c) && c.metrics.length > 0) {
    const epi = exitsPerIteration(c);
    const checks = exitChecksLine(c);
    parts.push(`exits per iteration ${epi ? fmtNum(epi.summary.median) : '–'}${checks ? `; ${checks}` : ''};`);
  }
  const ms = c.metrics.map((m) => {
    const s = m.summary;
    return `${metricId(m)} median ${fmtNum(s.median)} ${m.unit} (p5 ${fmtNum(s.p5)}, p95 ${fmtNum(s.p95)}, n=${s.n}, cv ${fmtCv(s.cv)}${m.ratio ? `, ${ratioText(m)}` : ''}${m.sampling ? `, ${m.sampling.note}` : ''})`;
  });
  if (ms.length) parts.push(ms.join('; '));
  return parts.join(' ');
}

function caseProperties(c: CaseResult): Array<[string, string]> {
  const p: Array<[string, string]> = [];
  if (c.accelerator) p.push(['accelerator', c.accelerator]);
  const mode = caseMode(c);
  if (mode) p.push(['execution', mode]);
  const evidence = c.execution?.evidence[0];
  if (evidence) p.push(['execution.evidence', evidence]);
  for (const k of Object.keys(c.vm ?? {}).sort()) p.push([`vm.${k}`, c.vm![k]!]);
  const epi = isExitsCase(c) ? exitsPerIteration(c) : undefined;
  if (epi) p.push(['exits_per_iteration', String(epi.summary.median)]);
  if (c.machine) p.push(['machine', c.machine]);
  if (c.guest) p.push(['guest', `${c.guest.name} (${c.guest.mode}, sha256 ${c.guest.sha256.slice(0, 12)})`]);
  if (c.log) p.push(['log', c.log]);
  const seen = new Map<string, number>();
  for (const m of c.metrics) {
    let key = `metric.${metricId(m)}`;
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    if (n > 1) key += `#${n}`;
    const s = m.summary;
    p.push([`${key}.median`, `${s.median} ${m.unit}`]);
    p.push([`${key}.p5_p95`, `${s.p5} .. ${s.p95} ${m.unit}`]);
    p.push([`${key}.n`, String(s.n)]);
    p.push([`${key}.cv`, s.cv.toFixed(4)]);
    if (m.sampling) p.push([`${key}.stopped`, m.sampling.note]);
    if (m.roundSampling) p.push([`${key}.rounds_stopped`, m.roundSampling.note]);
    if (m.ratio) p.push([`${key}.ci95`, `${m.ratio.low} .. ${m.ratio.high}`]);
  }
  return p;
}

export function hostProperties(results: Results): Array<[string, string]> {
  const p: Array<[string, string]> = [
    ['run.id', results.run.id],
    ['run.state', results.run.state],
    ['run.accelerator', results.run.accelerator],
    ['run.quick', String(results.run.quick)],
  ];
  const r = results.run;
  if (r.cpu) p.push(['run.cpu', r.cpu]);
  if (r.cpuNote) p.push(['run.cpuNote', r.cpuNote]);
  if (r.execution) p.push(['run.execution', r.execution.mode]);
  if (r.execution?.evidence[0]) p.push(['run.execution.evidence', r.execution.evidence[0]]);
  if (results.host.kvmFlavor) p.push(['host.kvmFlavor', results.host.kvmFlavor]);
  for (const k of KEY_HOST_FACTS) {
    const v = results.host[k];
    if (v !== undefined && v !== null) p.push([`host.${k}`, typeof v === 'string' ? v : JSON.stringify(v)]);
  }
  return p;
}

/** The JUnit view of a run. Names are unique even if a case id repeats (GitLab drops duplicates). */
export function renderJunit(results: Results): string {
  const suites: JunitSuite[] = [];
  const usedNames = new Set<string>();
  const hostProps = hostProperties(results);
  for (const [suiteName, cases] of casesBySuite(results)) {
    const starts = cases.map((c) => Date.parse(c.startedAt)).filter((t) => Number.isFinite(t));
    const caseTestcase = (c: CaseResult): JunitCase => {
      let name = c.id;
      for (let i = 2; usedNames.has(name); i++) name = `${c.id}#${i}`;
      usedNames.add(name);
      const outcome: JunitCase['outcome'] =
        c.status === 'pass' ? 'pass' : c.status === 'fail' ? 'failure' : c.status === 'error' ? 'error' : 'skipped';
      const detail = [c.reason, c.log ? `full log: ${c.log} (relative to the results directory)` : undefined]
        .filter(Boolean)
        .join('\n');
      return {
        name,
        classname: `kvmbench.${suiteName}`,
        timeSec: c.durationMs / 1000,
        outcome,
        message: c.reason ?? (c.status === 'skip' ? 'skipped (no reason recorded)' : undefined),
        detail: detail || undefined,
        properties: caseProperties(c),
        systemOut: caseSummaryLine(c),
      };
    };
    // A conformance case is its stanza's verdict, then one testcase per sub-check (src/report/conformance.ts).
    const jcases: JunitCase[] = cases.flatMap((c) => [caseTestcase(c), ...subCheckJunitCases(c, usedNames)]);
    suites.push({
      name: suiteName,
      timeSec: cases.reduce((s, c) => s + c.durationMs, 0) / 1000,
      timestamp: starts.length ? new Date(Math.min(...starts)).toISOString() : results.run.start,
      hostname: results.host.hostname,
      properties: hostProps,
      cases: jcases,
    });
  }
  if (results.run.state !== 'complete') {
    // A partial or interrupted run must not look green in CI: one visible error case says so.
    suites.push({
      name: 'kvmbench',
      timeSec: 0,
      timestamp: results.run.start,
      hostname: results.host.hostname,
      properties: hostProps,
      cases: [
        {
          name: `run ${results.run.id} ${results.run.state}`,
          classname: 'kvmbench.run',
          timeSec: 0,
          outcome: 'error',
          message: `run ${results.run.state}: not every case of suite ${results.run.suite} ran`,
          systemOut: headline(results),
        },
      ],
    });
  }
  return buildJunit(`kvmbench ${results.run.suite} ${results.run.id}`, suites);
}
