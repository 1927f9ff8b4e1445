/**
 * Rows that must not be judged, and the guards that --force may or may not override:
 * units (never), `better` (never), non-finite samples (never), n = 1 (too few), accelerators
 * and execution modes (--force, with a note per row), VM configuration (a note, no refusal).
 */
import { describe, expect, it } from 'vitest';
import { IncomparableError, compareRuns, comparePair, executionsClash, vmDifferences } from '../../../src/compare/compare.js';
import { renderComparison, verdictSymbol, vmLines } from '../../../src/report/compare/index.js';
import type { Results } from '../../../src/results/model.js';
import { exitsResults } from '../../helpers/compare-fixtures.js';
import { caseResult, makeResults, metric, samplesAround } from '../../helpers/results-fixture.js';

const L = (label: string, results: Results) => ({ label, results });

/** One case `exits/x` with one metric `x.latency` of n samples around `median`. */
function one(
  seed: string,
  median: number,
  extra: Parameters<typeof metric>[2] = {},
  n = 15,
  accelerator: 'kvm' | 'tcg' = 'kvm',
): Results {
  return makeResults(
    [
      caseResult('exits/x', {
        accelerator,
        metrics: [metric('x.latency', samplesAround(seed, median, n, 0.02), { accelerator, ...extra })],
      }),
    ],
    { run: { accelerator } },
  );
}

describe('rows that are never judged', () => {
  it('different units cannot be compared, not even with --force, and the accelerator note does not hide it', () => {
    // Issue 11: an ns metric against the same figure in ms was called improved at −100 %.
    const base = one('a', 1500, {}, 15, 'kvm');
    const next = one('b', 0.0015, { unit: 'ms' }, 15, 'tcg');
    expect(() => compareRuns([L('a', base), L('b', next)])).toThrow(IncomparableError);
    const cmp = compareRuns([L('a', base), L('b', next)], { force: true });
    const row = cmp.pairs[0]!.metrics[0]!;
    expect(row.verdict).toBe('not-comparable');
    expect(row.refused).toEqual(['unit']);
    expect(row.forced).toEqual(['accelerator']);
    expect(row.notes).toEqual(['unit differs: ns vs ms', 'accelerators differ: kvm vs tcg']);
    expect(Number.isNaN(row.change)).toBe(true);
    expect(row.test).toBe('none');
    expect(cmp.family).toBe(0); // outside the correction
    expect(cmp.pairs[0]!.geomean.rows).toBe(0); // and the geomean
    expect(Number.isNaN(cmp.pairs[0]!.geomean.costRatio)).toBe(true);
    const text = renderComparison(cmp, 'text');
    expect(text).toMatch(/^≠ exits\/x\/x\.latency .* not comparable .*unit differs: ns vs ms; accelerators differ: kvm vs tcg/m);
    expect(text).not.toMatch(/^✓|-100\.0%/m);
    expect(text).toMatch(/^0 regressed, 0 improved, 0 unchanged, 1 not comparable; geomean n\/a/m);
  });

  it('sides that disagree on `better` are refused with a note, never a verdict', () => {
    const p = comparePair(L('a', one('a', 100)), L('b', one('b', 300, { better: 'higher' })));
    const row = p.metrics[0]!;
    expect(row.verdict).toBe('not-comparable');
    expect(row.refused).toEqual(['better']);
    expect(row.notes).toContain('better differs: lower vs higher');
    expect(p.counts['not-comparable']).toBe(1);
    expect(p.counts.regressed + p.counts.improved).toBe(0);
  });

  it('non-finite samples make the row not comparable, with a note, in every view', () => {
    const next = one('b', 100);
    next.cases[0]!.metrics[0]!.samples.push(Number.NaN, Number.POSITIVE_INFINITY);
    const cmp = compareRuns([L('a', one('a', 100)), L('b', next)]);
    const row = cmp.pairs[0]!.metrics[0]!;
    expect(row.verdict).toBe('not-comparable');
    expect(row.refused).toEqual(['non-finite']);
    expect(row.new.nonFinite).toBe(2);
    expect(row.notes[0]).toMatch(/non-finite samples .*b has 2/);
    expect(renderComparison(cmp, 'junit')).toMatch(/<error message="not comparable: non-finite samples/);
    expect(renderComparison(cmp, 'md')).toContain('| ≠ | exits/x/x.latency');
    expect(renderComparison(cmp, 'html')).toContain('class="v-not-comparable"');
    expect(JSON.parse(renderComparison(cmp, 'json')).pairs[0].metrics[0].change).toBeNull();
  });

  it('one sample on a side: too few, no zero-width interval', () => {
    const p = comparePair(L('a', one('a', 100, {}, 1)), L('b', one('b', 500, {}, 200)));
    const row = p.metrics[0]!;
    expect(row.verdict).toBe('too-few');
    expect(row.ci.every(Number.isNaN)).toBe(true);
    expect(row.notes).toContain('interval undefined below 2 samples a side');
    expect(row.needed).toBeGreaterThanOrEqual(2);
  });
});

describe('execution mode (native, emulated, tcg)', () => {
  it('refuses native against emulated figures unless --force, then notes every row', () => {
    const base = exitsResults('a', { execution: 'native' });
    const next = exitsResults('b', { execution: 'emulated' });
    expect(() => compareRuns([L('base', base), L('new', next)])).toThrow(
      /native execution in base, emulated in new \(and 8 more metrics\).*not comparable/,
    );
    const cmp = compareRuns([L('base', base), L('new', next)], { force: true });
    const p = cmp.pairs[0]!;
    expect(
      p.metrics.every((m) => m.forced.includes('execution') && m.notes.includes('execution differs: native vs emulated')),
    ).toBe(true);
    expect(p.metrics.every((m) => m.verdict !== 'not-comparable')).toBe(true);
    expect(renderComparison(cmp, 'text')).toMatch(/--force: 9 metrics compare different execution modes \(native → emulated\)/);
  });

  it('takes the mode from the metric, else from its case', () => {
    const base = exitsResults('a', { execution: 'native' });
    const next = exitsResults('b');
    next.cases[0]!.execution = { mode: 'emulated', evidence: ['fixture'] };
    expect(() => comparePair(L('base', base), L('new', next))).toThrow(IncomparableError);
    for (const m of base.cases[0]!.metrics) m.execution = 'tcg';
    expect(() => comparePair(L('base', base), L('new', next))).toThrow(
      /tcg execution in base, emulated in new \(and 2 more metrics\)/,
    );
  });

  it('unknown or absent execution on either side is no reason to refuse', () => {
    expect(executionsClash('native', 'unknown')).toBe(false);
    expect(executionsClash(undefined, 'emulated')).toBe(false);
    expect(executionsClash('native', 'native')).toBe(false);
    expect(executionsClash('emulated', 'tcg')).toBe(true);
    const p = comparePair(
      L('a', exitsResults('a', { execution: 'native' })),
      L('b', exitsResults('b', { execution: 'unknown' })),
    );
    expect(p.metrics.every((m) => m.forced.length === 0 && m.notes.every((n) => !/execution/.test(n)))).toBe(true);
    expect(comparePair(L('a', exitsResults('a')), L('b', exitsResults('b', { execution: 'emulated' }))).metrics).toHaveLength(9);
  });
});

describe('VM configuration', () => {
  const vm = { cpu: 'host', irqchip: 'on', firmware: 'seabios', tsc_source: 'cpuid-0x15', apicv: 'Y', halt_poll_ns: '200000' };

  it('notes every row of a case whose VM configuration differs and lists the differing keys', () => {
    const base = exitsResults('a', { vm });
    const next = exitsResults('b', { vm: { ...vm, cpu: 'host,-arch-capabilities' } });
    next.cases[2]!.vm = { ...vm, halt_poll_ns: '0' };
    const cmp = compareRuns([L('base', base), L('new', next)]);
    const p = cmp.pairs[0]!;
    expect(p.vmDiffs).toEqual([
      { caseId: 'exits/cpuid', key: 'cpu', base: 'host', new: 'host,-arch-capabilities' },
      { caseId: 'exits/vmcall', key: 'cpu', base: 'host', new: 'host,-arch-capabilities' },
      { caseId: 'exits/inl_from_qemu', key: 'halt_poll_ns', base: '200000', new: '0' },
    ]);
    for (const m of p.metrics)
      expect(m.notes, m.key).toContain(
        m.caseId === 'exits/inl_from_qemu' ? 'VM configuration differs: halt_poll_ns' : 'VM configuration differs: cpu',
      );
    expect(vmLines(p)).toEqual([
      'VM configuration differs: cpu host → host,-arch-capabilities (exits/cpuid, exits/vmcall)',
      'VM configuration differs: halt_poll_ns 200000 → 0 (exits/inl_from_qemu)',
    ]);
    for (const f of ['text', 'md', 'html', 'junit'] as const)
      expect(renderComparison(cmp, f), f).toContain('VM configuration differs: cpu host → host,-arch-capabilities');
    expect(p.counts['not-comparable']).toBe(0); // flagged, not refused
  });

  it('a key present on one side only differs; a run without records flags nothing', () => {
    const a = caseResult('exits/x', { vm: { cpu: 'host' } });
    expect(vmDifferences(a, caseResult('exits/x', { vm: { cpu: 'host', apicv: 'N' } }))).toEqual([
      { caseId: 'exits/x', key: 'apicv', base: undefined, new: 'N' },
    ]);
    expect(vmDifferences(a, caseResult('exits/x'))).toEqual([]);
    expect(comparePair(L('a', exitsResults('a', { vm })), L('b', exitsResults('b'))).vmDiffs).toEqual([]);
  });
});

describe('marks', () => {
  it('every verdict has its own mark', () => {
    const marks = (['regressed', 'improved', 'unchanged', 'inconclusive', 'too-few', 'not-comparable'] as const).map(
      verdictSymbol,
    );
    expect(new Set(marks).size).toBe(marks.length);
    expect(verdictSymbol('inconclusive')).not.toBe('~');
  });
});
