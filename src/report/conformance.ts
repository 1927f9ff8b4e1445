/**
 * Views of conformance cases (kind `conformance`, kvm-unit-tests stanzas): one JUnit testcase
 * per sub-check beside the stanza's own, and the HTML table of tests by group. Pure functions of
 * the results model.
 */
import type { CaseResult, Results, SubCheck, SubCheckStatus } from '../results/model.js';
import { escapeHtml as e, statusWord } from './format.js';
import type { JunitCase } from './junit-xml.js';

export function isConformanceCase(c: CaseResult): boolean {
  return c.kind === 'conformance' || c.conformance !== undefined;
}

/** XFAIL and KFAIL are expected failures (pass for CI); XPASS is a failure, as kvm-unit-tests counts it. */
const JUNIT_OUTCOME: Record<SubCheckStatus, JunitCase['outcome']> = {
  pass: 'pass',
  xfail: 'pass',
  kfail: 'pass',
  fail: 'failure',
  xpass: 'failure',
  skip: 'skipped',
};

function subCheckMessage(k: SubCheck): string | undefined {
  if (k.status === 'fail') return `FAIL: ${k.name}`;
  if (k.status === 'xpass') return `XPASS (passed, but expected to fail): ${k.name}`;
  if (k.status === 'skip') return `SKIP: ${k.name}`;
  return undefined;
}

/** Counts of a case's sub-checks by status. */
export function subCheckCounts(c: CaseResult): Record<SubCheckStatus, number> {
  const n: Record<SubCheckStatus, number> = { pass: 0, fail: 0, skip: 0, xfail: 0, xpass: 0, kfail: 0 };
  for (const k of c.conformance?.checks ?? []) n[k.status]++;
  return n;
}

/**
 * One testcase per sub-check, named `<stanza>: <check>` (`#2`... where a name repeats: GitLab drops
 * duplicates), classname `kvmbench.<suite>.<stanza>` so readers group them by test.
 */
export function subCheckJunitCases(c: CaseResult, used: Set<string>): JunitCase[] {
  const k = c.conformance;
  if (!k) return [];
  return k.checks.map((check) => {
    const base = `${c.id}: ${check.name}`;
    let name = base;
    for (let i = 2; used.has(name); i++) name = `${base} #${i}`;
    used.add(name);
    const message = subCheckMessage(check);
    return {
      name,
      classname: `kvmbench.${c.suite}.${k.test}`,
      timeSec: 0,
      outcome: JUNIT_OUTCOME[check.status],
      ...(message ? { message } : {}),
      ...(check.status === 'xfail' || check.status === 'kfail'
        ? { systemOut: `${check.status.toUpperCase()}: ${check.name} (an expected failure)` }
        : {}),
    };
  });
}

function countsCell(c: CaseResult): string {
  const n = subCheckCounts(c);
  const parts = (['pass', 'fail', 'xpass', 'xfail', 'kfail', 'skip'] as const)
    .filter((s) => n[s] > 0)
    .map((s) => `<span class="k-${s}">${n[s]} ${s}</span>`);
  const dropped = c.conformance?.checksDropped ? ` (+${c.conformance.checksDropped} not kept)` : '';
  return parts.length ? parts.join(' · ') + e(dropped) : '<span class="muted">none</span>';
}

function checksList(c: CaseResult): string {
  const checks = c.conformance?.checks ?? [];
  if (checks.length === 0) return '';
  const items = checks.map((k) => `<li class="k-${k.status}">${e(k.status.toUpperCase())}: ${e(k.name)}</li>`).join('');
  return `<details><summary>${checks.length} sub-checks</summary><ul class="subchecks">${items}</ul></details>`;
}

/** The HTML section: conformance tests grouped by their first group (`(no group)` last), in run order within a group. */
export function conformanceSection(results: Results): string {
  const cases = results.cases.filter(isConformanceCase);
  if (cases.length === 0) return '';
  const groups = new Map<string, CaseResult[]>();
  for (const c of cases) {
    const g = c.conformance?.groups[0] ?? c.tags?.[0] ?? '(no group)';
    let list = groups.get(g);
    if (!list) groups.set(g, (list = []));
    list.push(c);
  }
  const order = [...groups.keys()].sort((a, b) => Number(a === '(no group)') - Number(b === '(no group)') || a.localeCompare(b));
  const rows: string[] = [];
  for (const g of order) {
    const list = groups.get(g)!;
    const tally = (['pass', 'fail', 'error', 'skip'] as const)
      .map((s) => [s, list.filter((c) => c.status === s).length] as const)
      .filter(([, n]) => n > 0)
      .map(([s, n]) => `${n} ${statusWord(s)}`)
      .join(', ');
    rows.push(
      `<tr class="group"><th colspan="5">${e(g)} <span class="muted small">(${list.length} tests: ${e(tally)})</span></th></tr>`,
    );
    for (const c of list) {
      const other = (c.conformance?.groups ?? []).filter((x) => x !== g);
      rows.push(
        `<tr id="kut-${e(c.id)}"><td><code>${e(c.conformance?.test ?? c.id)}</code>${other.length ? ` <span class="muted small">also ${e(other.join(', '))}</span>` : ''}<br><span class="muted small">${e(c.title ?? c.conformance?.file ?? '')}</span></td>` +
          `<td><span class="s-${c.status}">${e(statusWord(c.status))}</span></td><td class="small">${countsCell(c)}</td>` +
          `<td class="num">${(c.durationMs / 1000).toFixed(1)} s</td><td class="small">${e(c.reason ?? c.conformance?.summary ?? '')}${checksList(c)}</td></tr>`,
      );
    }
  }
  const accel = [...new Set(cases.map((c) => c.accelerator).filter(Boolean))].join(', ') || 'none (all skipped)';
  return (
    `<section id="conformance"><h2>Conformance tests by group (${cases.length})</h2>` +
    `<p class="muted small">kvm-unit-tests stanzas, accelerator ${e(accel)}. A test's verdict comes from its exit status (1 pass, 3 fail, 77 skip, timeout fail) and its PASS/FAIL/SKIP/XFAIL lines; XFAIL and KFAIL are expected failures, XPASS a failure.</p>` +
    `<table class="conformance"><thead><tr><th>test</th><th>status</th><th>sub-checks</th><th>time</th><th>reason / summary</th></tr></thead><tbody>${rows.join('')}</tbody></table></section>`
  );
}

/** CSS for the section (appended to the page's). */
export const CONFORMANCE_CSS =
  '.conformance tr.group th{text-align:left;background:var(--bg2,#f3f3f3)}.k-fail,.k-xpass{color:var(--fail);font-weight:600}.k-pass{color:var(--pass)}.k-skip{color:var(--skip)}.k-xfail,.k-kfail{color:var(--warn)}ul.subchecks{margin:.2em 0;padding-left:1.2em;max-height:20em;overflow:auto}';
