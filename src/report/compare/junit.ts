/**
 * The JUnit view of a Comparison, through the one JUnit writer (../junit-xml.ts): one testsuite
 * per pair, one testcase per metric key; a confirmed regression is a <failure>.
 */
import type { Comparison } from '../../compare/compare.js';
import { fmtNum, fmtPct } from '../format.js';
import { buildJunit, type JunitCase, type JunitSuite } from '../junit-xml.js';
import {
  bandText,
  changeText,
  ciText,
  forcedLines,
  notesText,
  pText,
  powerLine,
  summaryLine,
  verdictText,
  vmLines,
} from './common.js';
import { conformanceJunit } from './conformance.js';

export function renderCompareJunit(cmp: Comparison): string {
  const suites: JunitSuite[] = cmp.pairs.map((p) => {
    const cases: JunitCase[] = p.metrics.map((m) => {
      const notes = notesText(m);
      return {
        name: m.key,
        classname: `kvmbench.compare.${m.caseId.split('/')[0]}`,
        timeSec: 0,
        // No verdict is not a pass: too few samples and inconclusive are skipped with the reason,
        // a row that cannot be compared (units, direction, non-finite samples) is an error.
        outcome:
          m.verdict === 'regressed'
            ? 'failure'
            : m.verdict === 'not-comparable'
              ? 'error'
              : m.verdict === 'too-few' || m.verdict === 'inconclusive'
                ? 'skipped'
                : 'pass',
        message:
          m.verdict === 'regressed'
            ? `regressed ${fmtPct(m.change)} (CI ${ciText(m)}, ${pText(m)}, ${bandText(m)})`
            : m.verdict === 'too-few'
              ? verdictText(m)
              : m.verdict === 'inconclusive'
                ? `inconclusive: ${fmtPct(m.change)} (CI ${ciText(m) || 'n/a'}, ${pText(m)}, ${bandText(m)})${notes ? `; ${notes}` : ''}`
                : m.verdict === 'not-comparable'
                  ? `not comparable: ${notes}`
                  : undefined,
        properties: [
          ['base.median', `${m.base.median} ${m.base.unit}`],
          ['new.median', `${m.new.median} ${m.new.unit}`],
          ['change', String(m.change)],
          ['ci', `${m.ci[0]} .. ${m.ci[1]}`],
          ['p.adjusted', String(m.pAdjusted)],
          ['verdict', m.verdict],
          ...(notes ? [['notes', notes] as [string, string]] : []),
        ],
        systemOut: `${m.key}: ${fmtNum(m.base.median)} → ${fmtNum(m.new.median)} ${m.unit} (${changeText(m)} ${ciText(m)}) ${verdictText(m)} ${pText(m)}${notes ? `; ${notes}` : ''}`,
      };
    });
    cases.push(...conformanceJunit(p));
    return {
      name: `compare ${p.base.label} → ${p.new.label}`,
      timeSec: 0,
      hostname: p.new.host.hostname,
      properties: [
        ['hosts', p.hosts.relation],
        ['base.run', p.base.runId],
        ['new.run', p.new.runId],
        ['summary', summaryLine(p)],
        ['power', powerLine(p)],
        ...p.warnings.map((l, i) => [`warning.${i}`, l] as [string, string]),
        ...vmLines(p, Number.POSITIVE_INFINITY).map((l, i) => [`vm.${i}`, l] as [string, string]),
        ...forcedLines(p).map((l, i) => [`forced.${i}`, l] as [string, string]),
      ],
      cases,
    };
  });
  return buildJunit('kvmbench compare', suites);
}
