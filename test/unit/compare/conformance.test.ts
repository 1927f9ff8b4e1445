import { describe, expect, it } from 'vitest';
import { compareRuns } from '../../../src/compare/compare.js';
import { compareConformance } from '../../../src/compare/conformance.js';
import { RESULTS_SCHEMA, type CaseResult, type CaseStatus, type Results, type SubCheck } from '../../../src/results/model.js';
import { renderComparison } from '../../../src/report/compare/index.js';
import { renderJunit } from '../../../src/report/junit.js';
import { renderHtml } from '../../../src/report/html.js';

function kut(name: string, status: CaseStatus, checks: SubCheck[] = [], groups = ['apic']): CaseResult {
  return {
    id: `kut/${name}`,
    suite: 'kut',
    kind: 'conformance',
    status,
    startedAt: '2026-12-06T00:00:00Z',
    durationMs: 1000,
    metrics: [],
    accelerator: 'tcg',
    tags: groups,
    conformance: { test: name, file: 'x86/t.flat', groups, checks },
    ...(status === 'pass' ? {} : { reason: `${status} <because>` }),
  };
}
function run(id: string, cases: CaseResult[]): Results {
  return {
    schema: RESULTS_SCHEMA,
    run: {
      id,
      suite: 'kut',
      start: '2026-12-06T00:00:00Z',
      kvmbenchVersion: '0',
      argv: [],
      accelerator: 'tcg',
      quick: false,
      state: 'complete',
    },
    host: { hostname: 'h' },
    cases,
  };
}

const base = run('base', [
  kut('a', 'pass', [
    { name: 'one', status: 'pass' },
    { name: 'two', status: 'pass' },
  ]),
  kut('b', 'fail', [{ name: 'x', status: 'fail' }]),
  kut('c', 'pass'),
  kut('d', 'skip'),
  kut('e', 'fail'),
  kut('gone', 'pass'),
]);
const next = run('next', [
  kut('a', 'fail', [
    { name: 'one', status: 'pass' },
    { name: 'two', status: 'fail' },
  ]),
  kut('b', 'pass', [{ name: 'x', status: 'pass' }]),
  kut('c', 'skip'),
  kut('d', 'pass'),
  kut('e', 'error'),
  kut('new', 'pass'),
]);

describe('compareConformance', () => {
  it('pass→fail regressed, fail→pass fixed, pass↔skip their own rows, fail↔error unchanged', () => {
    const c = compareConformance(base, next)!;
    expect(c.rows.map((r) => [r.caseId, r.change])).toEqual([
      ['kut/a', 'regressed'],
      ['kut/b', 'fixed'],
      ['kut/c', 'pass-to-skip'],
      ['kut/d', 'skip-to-pass'],
      ['kut/gone', 'only-base'],
      ['kut/new', 'only-new'],
    ]);
    expect(c.rows[0]!.newFailures).toEqual(['two']);
    expect(c.rows[1]!.newPasses).toEqual(['x']);
    expect(c.unchanged).toBe(1);
    expect(c.regressions).toBe(1);
  });

  it('counts in the comparison regressions (exit 4) and shows in every format, escaped', () => {
    const cmp = compareRuns([
      { label: 'base', results: base },
      { label: 'next', results: next },
    ]);
    expect(cmp.regressions).toBe(1);
    expect(
      compareRuns([
        { label: 'base', results: base },
        { label: 'again', results: base },
      ]).regressions,
    ).toBe(0);
    expect(renderComparison(cmp, 'text')).toMatch(/✗ kut\/a\s+PASS → FAIL\s+regressed \(pass → fail\)\s+newly failing: two/);
    expect(renderComparison(cmp, 'md')).toContain('| ✗ | kut/a | PASS → FAIL | **regressed (pass → fail)** |');
    const html = renderComparison(cmp, 'html');
    expect(html).toContain('fail &lt;because&gt;');
    expect(html).not.toContain('<because>');
    expect(renderComparison(cmp, 'junit')).toMatch(
      /name="kut\/a \(conformance\)"[\s\S]*?<failure message="regressed: PASS → FAIL; newly failing: two/,
    );
    expect(JSON.parse(renderComparison(cmp, 'json')).pairs[0].conformance.counts.regressed).toBe(1);
  });

  it('is absent when neither run has conformance cases', () => {
    expect(compareConformance(run('x', []), run('y', []))).toBeUndefined();
  });
});

describe('conformance views of a run', () => {
  const r = run('r', [
    kut('a', 'pass', [
      { name: 'self <IPI>', status: 'pass' },
      { name: 'dup', status: 'fail' },
      { name: 'dup', status: 'xfail' },
      { name: 's', status: 'skip' },
    ]),
    kut('z', 'skip', [], []),
  ]);
  it('JUnit: the stanza, then one testcase per sub-check with unique names', () => {
    const x = renderJunit(r);
    expect(x).toContain('name="kut/a: self &lt;IPI>"');
    expect(x).toMatch(/name="kut\/a: dup"[^>]*>\s*<failure message="FAIL: dup"/);
    expect(x).toContain('name="kut/a: dup #2"');
    expect(x).toMatch(/name="kut\/a: s"[^>]*>\s*<skipped message="SKIP: s"/);
    expect((x.match(/<testcase /g) ?? []).length).toBe(6);
  });

  it('HTML: a table of tests by group, escaped', () => {
    const h = renderHtml(r);
    expect(h).toContain('<section id="conformance">');
    expect(h).toMatch(/<tr class="group"><th colspan="5">apic .*<tr class="group"><th colspan="5">\(no group\)/s);
    expect(h).toContain('self &lt;IPI&gt;');
    expect(h).not.toContain('self <IPI>');
  });
});
