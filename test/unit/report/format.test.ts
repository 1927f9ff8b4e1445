/**
 * The shared formatting core (src/report/format.ts) and the promise it exists for: every view
 * writes the same figure, status and label the same way.
 */
import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import { colorEnabled, makeColor } from '../../../src/report/color.js';
import { renderMarkdown } from '../../../src/report/markdown.js';
import { renderText } from '../../../src/report/text.js';
import { summaryTable } from '../../../src/report/summary.js';
import { renderJunit } from '../../../src/report/junit.js';
import { renderHtml } from '../../../src/report/html.js';
import { renderText as renderDoctorText } from '../../../src/report/doctor/text.js';
import {
  countStatuses,
  fmtCv,
  fmtDuration,
  fmtNum,
  labelText,
  metricId,
  paintStatus,
  termSafe,
} from '../../../src/report/format.js';
import type { DoctorReport } from '../../../src/doctor/types.js';
import { compareRuns } from '../../../src/compare/compare.js';
import { renderComparison } from '../../../src/report/compare/index.js';
import { STATUS_COLORS } from '../../../src/report/html-page.js';
import { caseResult, makeResults, metric, samplesAround } from '../../helpers/results-fixture.js';

const ansi = new Chalk({ level: 1 });
const plain = new Chalk({ level: 0 });

describe('fmtNum: the one number format', () => {
  it.each([
    [0, '0'],
    [1234.6, '1 235'],
    [999_999, '999 999'],
    [1_234_567, '1.23e+6'],
    [-2_500_000, '-2.50e+6'],
    [123.45, '123.5'],
    [12.345, '12.35'],
    [1, '1.00'],
    [0.0005, '0.000500'],
    [0.003, '0.00300'],
    [NaN, 'NaN'],
    [Infinity, 'Infinity'],
  ])('%d → %s', (v, s) => {
    expect(fmtNum(v)).toBe(s);
  });

  it('writes a CV and a duration one way', () => {
    expect(fmtCv(0.0912)).toBe('9.1%');
    expect(fmtDuration(850)).toBe('850 ms');
    expect(fmtDuration(4_140)).toBe('4.1 s');
    expect(fmtDuration(125_000)).toBe('2 min 5 s');
  });
});

describe('labels: the metric identity, written one way', () => {
  it('sorts, joins with commas, and leaves measured-value labels out', () => {
    const m = { name: 'boot.total', labels: { to: 'exit', machine: 'q35', p90_ms: '12', from: 'spawn' } };
    expect(labelText(m.labels)).toBe('from=spawn,machine=q35,to=exit');
    expect(labelText(m.labels, ['machine'])).toBe('from=spawn,to=exit');
    expect(metricId(m)).toBe('boot.total{from=spawn,machine=q35,to=exit}');
    expect(metricId({ name: 'x' })).toBe('x');
  });
});

describe('statuses: one word and one colour each, in every view', () => {
  it('paints skip grey and fail bold red wherever it is shown', () => {
    expect(paintStatus(ansi, 'skip')).toBe(ansi.gray('SKIP'));
    expect(paintStatus(ansi, 'fail')).toBe(ansi.red.bold('FAIL'));
    expect(paintStatus(ansi, 'warn')).toBe(ansi.yellow('WARN'));
    expect(paintStatus(plain, 'error')).toBe('ERROR');
    const r = makeResults([caseResult('exits/x', { status: 'skip', reason: 'not here' })]);
    // The run summary, the report's text view and the doctor all colour a skip the same.
    expect(summaryTable(r, ansi)).toContain(ansi.gray('skip'));
    expect(renderText(r, ansi)).toContain(ansi.gray('SKIP '));
    const report = {
      profile: 'kvm',
      verdict: 'pass',
      source: 'live',
      durationMs: 1,
      counts: { pass: 0, warn: 0, fail: 0, skip: 1 },
      kvm: { usable: true, device: '/dev/kvm', apiVersion: 12, flavor: { name: 'none', meaning: '' } },
      checks: [{ id: 'kvm.x', title: 't', profile: 'kvm', status: 'skip', evidence: [] }],
    } as unknown as DoctorReport;
    expect(renderDoctorText(report, ansi)).toContain(ansi.gray('SKIP'));
  });

  it('counts any statuses, zero for those absent', () => {
    expect(countStatuses([{ status: 'pass' }, { status: 'skip' }, { status: 'pass' }], ['pass', 'fail', 'skip'])).toEqual({
      total: 3,
      pass: 2,
      fail: 0,
      skip: 1,
    });
  });
});

describe('run and report print the same figure the same way', () => {
  const r = makeResults([
    caseResult('exits/cpuid', { metrics: [metric('cpuid.latency', [1234.4, 1234.6, 1235.0], { headline: true })] }),
    caseResult('io/tiny', { metrics: [metric('io.x', [0.0005, 0.0005, 0.0005], { unit: 's' })] }),
  ]);
  it.each([
    ['1 235', 'cpuid'],
    ['0.000500', 'tiny'],
  ])('%s in the summary table, text, Markdown, JUnit and HTML', (figure, id) => {
    const row = summaryTable(r, plain)
      .split('\n')
      .find((l) => l.includes(id))!;
    expect(row).toContain(`${figure} ± `);
    expect(renderText(r)).toContain(`median ${figure} `);
    expect(renderMarkdown(r)).toContain(`| ${figure} |`);
    expect(renderJunit(r)).toContain(`median ${figure} `);
    expect(renderHtml(r)).toContain(`<td class="num">${figure}</td>`);
  });
});

describe('terminal safety and colour switch', () => {
  it('replaces control characters but keeps newlines and tabs', () => {
    expect(termSafe('a\u001b[31mb\u0007c\nd\te')).toBe('ab?c\nd\te');
  });

  it('NO_COLOR turns colour off, FORCE_COLOR on, else the stream decides', () => {
    const tty = { isTTY: true } as NodeJS.WriteStream;
    const pipe = { isTTY: false } as NodeJS.WriteStream;
    expect(colorEnabled(tty, { NO_COLOR: '1' })).toBe(false);
    expect(colorEnabled(pipe, { FORCE_COLOR: '1' })).toBe(true);
    expect(colorEnabled(tty, {})).toBe(true);
    expect(colorEnabled(pipe, {})).toBe(false);
    expect(makeColor(tty, { NO_COLOR: 'x' }).red('x')).toBe('x');
  });
});

describe('compare verdicts take the status colours', () => {
  const side = (seed: string, factor: number) =>
    makeResults([caseResult('exits/x', { metrics: [metric('x.latency', samplesAround(seed, 1000 * factor, 30, 0.02))] })]);
  const cmp = compareRuns([
    { label: 'base', results: side('a', 1) },
    { label: 'new', results: side('b', 1.3) },
  ]);

  it('a regression is painted as a failed case, in the terminal and on the page', () => {
    expect(cmp.pairs[0]!.metrics[0]!.verdict).toBe('regressed');
    expect(renderComparison(cmp, 'text', ansi)).toContain(ansi.red.bold('regressed'));
    const html = renderComparison(cmp, 'html');
    expect(html).toContain(`tr.v-regressed td{color:var(--fail);font-weight:600}`);
    expect(html).toContain(`--fail:${STATUS_COLORS.fail}`);
    expect(html).toContain(`<rect class="change" `);
    expect(html).toMatch(new RegExp(`class="change"[^>]*fill="${STATUS_COLORS.fail}"`));
  });
});
