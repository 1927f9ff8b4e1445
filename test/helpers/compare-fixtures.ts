/** Results shaped like the executors' output, for the compare tests (unit and e2e). */
import { MIN_SAMPLES_PER_SIDE } from '../../src/compare/compare.js';
import type { CaseResult, ExecutionMode, Results } from '../../src/results/model.js';
import { quantileSorted } from '../../src/stats/summary.js';
import { caseResult, makeResults, metric, samplesAround } from './results-fixture.js';

/**
 * A Linux boot run shaped like `boot-linux`: phases spawn → firmware → kernel → init, phase j
 * with median `firstMs`·(j+1). With `p90Label` each metric also carries the measured p90 as
 * the label `p90_ms`, as kvmbench did before the p90 moved to the case's facts.
 */
export function bootLinuxResults(
  seed: string,
  firstMs: number,
  opts: { n?: number; cv?: number; p90Label?: boolean } = {},
): Results {
  const { n = MIN_SAMPLES_PER_SIDE, cv = 0.05, p90Label = false } = opts;
  const phases = ['spawn', 'firmware', 'kernel', 'init'];
  const p90Ms: Record<string, number> = {};
  const metrics = phases.slice(1).map((to, j) => {
    const from = phases[j]!;
    const name = `boot.${from}_to_${to}`;
    const samples = samplesAround(`${seed}-${to}`, firstMs * (j + 1), n, cv);
    const q90 = quantileSorted(
      [...samples].sort((x, y) => x - y),
      0.9,
    );
    p90Ms[name] = q90;
    const labels: Record<string, string> = { machine: 'microvm', from, to };
    if (p90Label) labels.p90_ms = q90.toFixed(1);
    return metric(name, samples, { unit: 'ms', labels, perGuest: true });
  });
  return makeResults([
    caseResult('boot-linux/microvm', { machine: 'microvm', tags: ['boot', 'linux'], metrics, facts: { p90Ms } }),
  ]);
}

/**
 * An exits run shaped like `exits`: per test `<test>.latency` (ns), the same samples as
 * `<test>.ticks` (tsc_ticks, 3 ticks per ns) and `null_loop.ticks`, with the case's execution
 * mode and VM configuration when given. `factor` scales the named tests.
 */
export function exitsResults(
  seed: string,
  opts: {
    tests?: string[];
    n?: number;
    cv?: number;
    factor?: Record<string, number>;
    execution?: ExecutionMode;
    vm?: Record<string, string>;
  } = {},
): Results {
  const { tests = ['cpuid', 'vmcall', 'inl_from_qemu'], n = MIN_SAMPLES_PER_SIDE, cv = 0.05 } = opts;
  const cases: CaseResult[] = tests.map((t, i) => {
    const labels = { machine: 'q35', test: t, mode: 'long64', tsc_source: 'cpuid-0x15' };
    const ns = samplesAround(`${seed}-${t}`, 1000 * (i + 1) * (opts.factor?.[t] ?? 1), n, cv);
    const base = samplesAround(`${seed}-${t}-null`, 40, n, cv);
    return caseResult(`exits/${t}`, {
      tags: ['exits'],
      ...(opts.execution ? { execution: { mode: opts.execution, evidence: [`fixture: ${opts.execution}`] } } : {}),
      ...(opts.vm ? { vm: { ...opts.vm } } : {}),
      metrics: [
        metric(`${t}.latency`, ns, { labels, execution: opts.execution }),
        metric(
          `${t}.ticks`,
          ns.map((v) => v * 3),
          { unit: 'tsc_ticks', labels, execution: opts.execution },
        ),
        metric('null_loop.ticks', base, { unit: 'tsc_ticks', labels, execution: opts.execution }),
      ],
    });
  });
  return makeResults(cases);
}
