/** Hand-built, schema-valid Results for report and compare tests. */
import { summarize } from '../../src/stats/summary.js';
import { RESULTS_SCHEMA, type CaseResult, type Metric, type Results } from '../../src/results/model.js';
import { normal, seededRng } from '../../src/compare/random.js';

export function metric(name: string, samples: number[], extra: Partial<Metric> = {}): Metric {
  return {
    name,
    unit: 'ns',
    better: 'lower',
    interval: `from start to end of ${name}`,
    method: 'synthetic fixture',
    accelerator: 'kvm',
    samples,
    summary: summarize(samples),
    ...extra,
  };
}

/** n lognormal-ish samples around `median` with coefficient of variation `cv`. */
export function samplesAround(seed: string, median: number, n: number, cv = 0.05): number[] {
  const rng = seededRng(seed);
  return Array.from({ length: n }, () => median * Math.exp(cv * normal(rng)));
}

export function caseResult(id: string, extra: Partial<CaseResult> = {}): CaseResult {
  return {
    id,
    suite: id.split('/')[0]!,
    status: 'pass',
    accelerator: 'kvm',
    machine: 'q35',
    startedAt: '2026-01-02T03:04:05.000Z',
    durationMs: 1234,
    metrics: [],
    ...extra,
  };
}

export function makeResults(cases: CaseResult[], extra: { run?: Partial<Results['run']>; host?: Results['host'] } = {}): Results {
  return {
    schema: RESULTS_SCHEMA,
    run: {
      id: '20260102T030405-abcd',
      suite: 'quick',
      start: '2026-01-02T03:04:05.000Z',
      end: '2026-01-02T03:05:05.000Z',
      kvmbenchVersion: '0.1.0',
      argv: ['run', 'quick'],
      accelerator: 'kvm',
      quick: true,
      state: 'complete',
      ...extra.run,
    },
    host: extra.host ?? {
      hostname: 'bench-01',
      cpuModel: 'Example CPU 9000 @ 3.00GHz',
      cpuVendor: 'GenuineIntel',
      microcode: '0x2b',
      cores: 16,
      threads: 32,
      kernelRelease: '6.8.0-45-generic',
      qemuVersion: '8.2.2',
      kvmUsable: true,
      mitigations: { spectre_v2: 'Mitigation: Enhanced IBRS' },
    },
    cases,
  };
}

/**
 * A realistic mixed run shaped like the executors' output: exits (`<test>.latency` in ns and
 * `.ticks`), micro boots (spawn → entry → exit plus the total), Linux boots (`boot.<a>_to_<b>`
 * with from/to labels), guest/host I/O, and a failure, an error and a skip.
 */
export function richResults(seed = 'rich'): Results {
  const exits = ['cpuid', 'vmcall', 'inl_from_qemu'].map((t, i) => {
    const labels = { machine: 'q35', test: t, mode: 'long64', tsc_source: 'cpuid-0x15' };
    const ns = samplesAround(`${seed}-${t}`, 1200 * (i + 1), 15);
    return caseResult(`exits/${t}`, {
      tags: ['exits'],
      metrics: [metric(`${t}.latency`, ns, { labels }), metric(`${t}.ticks`, ns.map((v) => Math.round(v * 3)), { unit: 'tsc_ticks', labels })],
    });
  });
  const micro = ['microvm', 'q35'].map((mt) => {
    const labels = { machine: mt, guest: 'hello' };
    const entry = samplesAround(`${seed}-${mt}-entry`, mt === 'q35' ? 90 : 40, 10);
    const run = samplesAround(`${seed}-${mt}-run`, 15, 10);
    return caseResult(`boot-micro/${mt}`, {
      machine: mt,
      tags: ['boot'],
      metrics: [
        metric('boot.spawn_to_entry', entry, { unit: 'ms', labels }),
        metric('boot.entry_to_exit', run, { unit: 'ms', labels }),
        metric('boot.spawn_to_exit', entry.map((v, i) => v + run[i]!), { unit: 'ms', labels }),
      ],
    });
  });
  const phases = ['spawn', 'firmware', 'kernel', 'init'];
  const linux = caseResult('boot-linux/microvm', {
    machine: 'microvm',
    tags: ['boot', 'linux'],
    metrics: phases.slice(1).map((to, j) =>
      metric(`boot.${phases[j]}_to_${to}`, samplesAround(`${seed}-linux-${to}`, 300 * (j + 1), 10), { unit: 'ms', labels: { machine: 'microvm', from: phases[j]!, to } }),
    ),
  });
  const io = caseResult('io/randread-4k', {
    tags: ['io'],
    metrics: ['guest', 'host'].map((side) =>
      metric(`io.randread.${side}`, samplesAround(`${seed}-io-${side}`, side === 'host' ? 90000 : 70000, 5), { unit: 'IOPS', better: 'higher', labels: { side, job: 'randread', bs: '4k' } }),
    ),
  });
  const failed = caseResult('exits/ipi', { status: 'fail', tags: ['exits'], reason: 'check failed: IPI not delivered within 1 s', log: 'logs/exits_ipi.log' });
  const errored = caseResult('boot-linux/q35', { status: 'error', reason: 'guest hung after "Decompressing Linux..." (deadline 60 s)', log: 'logs/boot-linux_q35.log' });
  const skipped = caseResult('exits/tscdeadline', { status: 'skip', reason: 'requires doctor check kvm.tsc_deadline: not supported here' });
  return makeResults([...exits, failed, skipped, ...micro, linux, io, errored]);
}
