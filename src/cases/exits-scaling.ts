/**
 * How an exit's cost scales with vCPUs (docs/exits.md, "Several vCPUs"): for each test
 * (`args.tests`, default cpuid and inl_from_qemu) and each vCPU count (1, 2, 4 … up to the host's
 * CPUs, or `args.vcpu_sweep`), one boot of the exits guest with every vCPU running the test loop
 * at once (`parallel`). Each boot is an exits case of its own (src/cases/exits.ts); this executor
 * only chooses the counts, labels every figure with `vcpus`, and keeps the boots' logs in one file.
 * The HTML report draws the `vcpu=all` figures against `vcpus` (src/report/scaling-chart.ts).
 */
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CaseStatus, Execution, Metric } from '../results/model.js';
import type { CaseContext, CaseExecutor, CaseOutcome, CaseSpec } from './types.js';
import { EXITS_ARGS, exitsExecutor, exitTests } from './exits.js';
import { NamesArg, VcpuSweepArg, caseArgs } from './args.js';
import { hostCpuCount, powersOfTwoUpTo } from './smp.js';

export const DEFAULT_SCALING_TESTS = ['cpuid', 'inl_from_qemu'];

/** The vCPU counts of the scaling case: `args.vcpu_sweep`, else powers of two up to the host's CPUs; never past them. */
export function scalingCounts(spec: Pick<CaseSpec, 'args'>, hostCpus: number): { counts: number[]; leftOut: number[] } {
  const raw = spec.args.vcpu_sweep;
  const asked =
    raw === undefined
      ? powersOfTwoUpTo(hostCpus)
      : (Array.isArray(raw) ? raw : String(raw).split(',')).map((v) => Number(String(v).trim()));
  const counts = [...new Set(asked)].filter((n) => Number.isInteger(n) && n >= 1).sort((a, b) => a - b);
  return { counts: counts.filter((n) => n <= hostCpus), leftOut: counts.filter((n) => n > hostCpus) };
}

const WORST: CaseStatus[] = ['error', 'fail', 'pass', 'skip'];

export const exitsScalingExecutor: CaseExecutor = {
  kind: 'exits-scaling',
  args: caseArgs({ ...EXITS_ARGS.properties, tests: NamesArg('exit tests to scale'), vcpu_sweep: VcpuSweepArg('vCPU counts') }),
  async run(spec: CaseSpec, ctx: CaseContext): Promise<CaseOutcome> {
    const base = { title: spec.title, accelerator: ctx.accel, machine: spec.machine, tags: spec.tags };
    const raw = spec.args.tests;
    const tests = raw === undefined ? DEFAULT_SCALING_TESTS : Array.isArray(raw) ? raw : String(raw).split(',');
    const table = exitTests();
    const bad = tests.filter((t) => !table.find((r) => r.name === t)?.parallel);
    if (bad.length) {
      const ok = table
        .filter((r) => r.parallel)
        .map((r) => r.name)
        .join(', ');
      return {
        ...base,
        status: 'error',
        reason: `args.tests: ${bad.join(', ')} cannot run on every vCPU at once (tests that can: ${ok})`,
        metrics: [],
      };
    }
    const hostCpus = hostCpuCount();
    const { counts, leftOut } = scalingCounts(spec, hostCpus);
    if (!counts.length)
      return {
        ...base,
        status: 'error',
        reason: `no vCPU count to run: the sweep asks only for more than the host's ${hostCpus} CPUs`,
        metrics: [],
      };

    const { tests: _tests, vcpu_sweep: _sweep, ...args } = spec.args;
    const metrics: Metric[] = [];
    const runs: Array<{ test: string; vcpus: number; status: CaseStatus; reason?: string }> = [];
    let execution: Execution | undefined;
    let vm: Record<string, string> | undefined;
    let guest: CaseOutcome['guest'];
    for (const test of tests) {
      for (const n of counts) {
        ctx.onPhase(`${test} on ${n} vCPU${n > 1 ? 's' : ''}`);
        const subLog = join(ctx.scratchDir, `${test}-${n}.log`);
        const sub = await exitsExecutor.run(
          { ...spec, guest: 'exits', vcpus: n, args: { ...args, test, parallel: true } },
          { ...ctx, logPath: subLog, onPhase: (p) => ctx.onPhase(`${n} vCPUs: ${p}`) },
        );
        await appendFile(
          ctx.logPath,
          `# kvmbench: ${test} on ${n} vCPUs (${sub.status})\n${await readFile(subLog, 'utf8').catch(() => '')}`,
        );
        runs.push({ test, vcpus: n, status: sub.status, ...(sub.reason ? { reason: sub.reason } : {}) });
        for (const m of sub.metrics) metrics.push({ ...m, labels: { ...m.labels, vcpus: String(n) } });
        guest ??= sub.guest;
        if (sub.vm) {
          const { vcpus: _vcpus, ...rest } = sub.vm;
          vm ??= rest;
        }
        if (sub.execution)
          execution =
            !execution || execution.mode === sub.execution.mode
              ? sub.execution
              : { mode: 'unknown', evidence: ['the boots of this case disagree on how guest code ran'] };
        if (ctx.signal.aborted) break;
      }
    }
    const status = WORST.find((s) => runs.some((r) => r.status === s)) ?? 'error';
    // Skips alone do not make the case a skip while some boot measured; every boot skipping does.
    const overall: CaseStatus = status === 'skip' && !runs.every((r) => r.status === 'skip') ? 'pass' : status;
    const notOk = runs.filter((r) => r.status !== 'pass');
    const facts: Record<string, unknown> = {
      tests,
      vcpuCounts: counts,
      hostCpus,
      runs,
      ...(leftOut.length ? { leftOut: leftOut.map((n) => `${n} vCPUs: more than the host's ${hostCpus} CPUs`) } : {}),
    };
    return {
      ...base,
      status: overall,
      metrics,
      facts,
      ...(guest ? { guest } : {}),
      ...(execution ? { execution } : {}),
      ...(vm ? { vm: { ...vm, vcpu_sweep: counts.join(',') } } : {}),
      ...(notOk.length
        ? { reason: notOk.map((r) => `${r.test} on ${r.vcpus} vCPUs: ${r.status}${r.reason ? ` (${r.reason})` : ''}`).join('; ') }
        : {}),
    };
  },
};
