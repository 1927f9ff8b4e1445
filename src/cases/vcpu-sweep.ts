/**
 * A boot case over several vCPU counts (`args.vcpu_sweep`, src/cases/smp.ts for the counts and
 * their cap): the case's own executor runs once per count, one count after another, and every
 * figure gets the count as its `vcpus` label, so that each count pairs with the same count of
 * another run in `compare`. The boots' logs go into the case's one log file.
 */
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CaseStatus, Execution } from '../results/model.js';
import type { CaseContext, CaseOutcome, CaseSpec } from './types.js';
import { vcpuPlan } from './smp.js';

type RunOne = (spec: CaseSpec, ctx: CaseContext) => Promise<CaseOutcome>;

const WORST: CaseStatus[] = ['error', 'fail', 'skip', 'pass'];

/** The sweep's outcome, or undefined when the case has no `vcpu_sweep` (the caller runs it as usual). */
export async function runVcpuSweep(spec: CaseSpec, ctx: CaseContext, runOne: RunOne): Promise<CaseOutcome | undefined> {
  const plan = vcpuPlan(spec, ctx.accel);
  if (!plan.sweep) return undefined;
  const { vcpu_sweep: _sweep, ...args } = spec.args;
  const parts: Array<{ vcpus: number; outcome: CaseOutcome }> = [];
  for (const n of plan.counts) {
    if (ctx.signal.aborted) break;
    const logPath = join(ctx.scratchDir, `vcpus-${n}.log`);
    const outcome = await runOne(
      { ...spec, vcpus: n, args },
      { ...ctx, logPath, onPhase: (p) => ctx.onPhase(`${n} vCPU${n > 1 ? 's' : ''}: ${p}`) },
    );
    await appendFile(
      ctx.logPath,
      `# kvmbench: ${n} vCPUs (${outcome.status})\n${await readFile(logPath, 'utf8').catch(() => '')}`,
    );
    parts.push({ vcpus: n, outcome });
  }
  const first = parts[0]?.outcome;
  if (!first)
    return {
      title: spec.title,
      accelerator: ctx.accel,
      machine: spec.machine,
      tags: spec.tags,
      status: 'error',
      reason: 'no vCPU count to run',
      metrics: [],
    };
  const status = WORST.find((s) => parts.some((p) => p.outcome.status === s)) ?? 'error';
  const notOk = parts.filter((p) => p.outcome.status !== 'pass');
  const modes = new Set(parts.map((p) => p.outcome.execution?.mode));
  const execution: Execution | undefined =
    modes.size === 1
      ? first.execution
      : { mode: 'unknown', evidence: ['the vCPU counts of this case disagree on how guest code ran'] };
  const { vcpus: _vcpus, ...vm } = first.vm ?? {};
  return {
    ...first,
    status,
    ...(notOk.length
      ? { reason: notOk.map((p) => `${p.vcpus} vCPUs: ${p.outcome.reason ?? p.outcome.status}`).join('; ') }
      : { reason: undefined }),
    ...(execution ? { execution } : {}),
    vm: { ...vm, vcpu_sweep: plan.counts.join(',') },
    metrics: parts.flatMap((p) => p.outcome.metrics.map((m) => ({ ...m, labels: { ...m.labels, vcpus: String(p.vcpus) } }))),
    facts: {
      vcpuCounts: plan.counts,
      ...(plan.leftOut.length ? { vcpusLeftOut: plan.leftOut } : {}),
      perVcpus: Object.fromEntries(
        parts.map((p) => [
          String(p.vcpus),
          { status: p.outcome.status, ...(p.outcome.reason ? { reason: p.outcome.reason } : {}), ...(p.outcome.facts ?? {}) },
        ]),
      ),
    },
  };
}
