/** The table `kvmbench run` prints at the end (src/report/summary.ts). */
import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import { shortMetricName, summaryTable } from '../../../src/report/summary.js';
import { exitTestNames } from '../../../src/cases/exits.js';
import { caseResult, exitsCase, makeResults, metric, richResults, samplesAround } from '../../helpers/results-fixture.js';

const plain = new Chalk({ level: 0 });
const row = (table: string, id: string): string => table.split('\n').find((l) => l.startsWith(`${id} `))!;
/** Cells of a row: columns are separated by two spaces or more. */
const cells = (line: string): string[] => line.trim().split(/ {2,}/);

describe('summaryTable: exits per iteration and execution', () => {
  it('gives each exits case its exits per iteration and every case its accelerator · execution', () => {
    const t = summaryTable(richResults(), plain);
    expect(cells(t.split('\n')[0]!)).toEqual([
      'case',
      'status',
      'median ± cv',
      'unit',
      'n',
      'exits/iter',
      'accel · exec',
      'metric',
    ]);
    expect(cells(row(t, 'exits/cpuid'))).toEqual([
      'exits/cpuid',
      'pass',
      expect.stringMatching(/^\d \d{3} ± \d+\.\d%$/),
      'ns',
      '15',
      '1.00',
      'kvm · native',
      'latency',
    ]);
    // An exits case that never counted shows a dash; other cases leave the column empty.
    expect(cells(row(t, 'exits/ipi'))).toEqual(['exits/ipi', 'fail', '–', 'kvm']);
    expect(cells(row(t, 'boot-micro/q35'))).toEqual([
      'boot-micro/q35',
      'pass',
      expect.stringMatching(/ ± /),
      'ms',
      '10',
      'kvm · native',
      'spawn_to_entry',
    ]);
    expect(t).not.toMatch(/^emulated:/m);
  });

  it('says emulated in the row and under the table, with the evidence', () => {
    const r = richResults('rich', { mode: 'emulated' });
    const exitsMedian = r.cases[0]!.metrics.find((m) => m.name === 'cpuid.exits_per_iteration')!.summary.median;
    const t = summaryTable(r, plain);
    expect(cells(row(t, 'exits/cpuid')).slice(5)).toEqual([exitsMedian.toPrecision(3), 'kvm · emulated', 'latency']);
    expect(t).toMatch(
      /^emulated: guest code ran emulated in this run \(\d+ of 10 cases\): KVM's instruction emulator ran the guest code, so these figures are emulator costs, not hardware VM exits; this host's KVM is pvm\. Evidence: empty loop: 7,927 TSC ticks per iteration/m,
    );
  });

  it('leaves the exits column out when no case is an exits case', () => {
    const r = makeResults(richResults().cases.filter((c) => c.suite.startsWith('boot')));
    const t = summaryTable(r, plain);
    expect(cells(t.split('\n')[0]!)).toEqual(['case', 'status', 'median ± cv', 'unit', 'n', 'accel · exec', 'metric']);
    expect(cells(row(t, 'boot-micro/q35')).slice(5)).toEqual(['kvm · native', 'spawn_to_entry']);
  });

  it('under TCG: tcg, and a dash for exits', () => {
    const t = summaryTable(richResults('rich', { mode: 'tcg' }), plain);
    expect(cells(row(t, 'exits/cpuid')).slice(5)).toEqual(['–', 'tcg', 'latency']);
  });

  it('fits 100 columns for every exit test beside micro boots, with the widest figures a run gives', () => {
    const exits = exitTestNames().map((test) =>
      exitsCase(test, { mode: 'emulated', latencyNs: test === 'tscdeadline_immed' ? 370_000 : 1200 }),
    );
    // The timer test publishes a wake-up latency; a long-tailed test a cv over 10 %.
    const wake = exitsCase('hlt_lapic_timer', { mode: 'emulated' });
    wake.metrics[0] = metric('hlt_lapic_timer.wake_latency', samplesAround('w', 88_781, 15, 0.17), {
      headline: true,
      execution: 'emulated',
    });
    const boots = ['microvm', 'microvm-min', 'q35-qboot'].map((m) =>
      caseResult(`boot-micro/${m}`, {
        execution: exits[0]!.execution,
        metrics: [
          metric('boot.spawn_to_exit', samplesAround(m, 122, 11, 0.1), { unit: 'ms', headline: true, execution: 'emulated' }),
        ],
      }),
    );
    const t = summaryTable(makeResults([...exits.filter((c) => c.id !== 'exits/hlt_lapic_timer'), wake, ...boots]), plain);
    const table = t.split('\n\n')[0]!.split('\n');
    expect(table).toHaveLength(1 + exitTestNames().length + boots.length);
    for (const l of table) expect([...l].length, l).toBeLessThanOrEqual(100);
    expect(cells(row(t, 'exits/hlt_lapic_timer')).at(-1)).toBe('wake_latency');
    expect(cells(row(t, 'exits/tscdeadline_immed'))[2]).toMatch(/^1\.\d\de\+6 ± /);
  });
});

describe('shortMetricName', () => {
  it('drops only the test or suite stem the case column already names', () => {
    const r = (id: string) => ({ id, suite: id.split('/')[0]! });
    expect(shortMetricName(r('exits/cpuid'), 'cpuid.latency')).toBe('latency');
    expect(shortMetricName(r('exits/cpuid'), 'null_loop.ticks')).toBe('null_loop.ticks');
    expect(shortMetricName(r('boot-micro/q35'), 'boot.spawn_to_exit')).toBe('spawn_to_exit');
    expect(shortMetricName(r('boot-micro/q35'), 'guest.entry_to_end')).toBe('guest.entry_to_end');
    expect(shortMetricName(r('exits/cpuid'), 'cpuid.')).toBe('cpuid.');
    expect(shortMetricName(r('io/randread'), 'iops')).toBe('iops');
  });
});
