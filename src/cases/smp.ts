/**
 * What the executors share for guests with several vCPUs (docs/exits.md, "Several vCPUs"):
 * KVM's per-vCPU counters under one name space, declarations for the other vCPUs
 * (`peers.counter=N`), the per-vCPU samples of `parallel` runs, and the vCPU counts of a sweep.
 * Pure functions, no I/O.
 */
import { availableParallelism } from 'node:os';
import type { Accelerator } from '../results/model.js';
import type { VcpuStats } from '../vmm/qmp.js';
import type { Expectation } from './exit-accounting.js';
import type { CaseSpec } from './types.js';

/**
 * One snapshot of every vCPU's counters as one record: vCPU 0's under their own names (what
 * the one-vCPU accounting has always read), vCPU k's as `cpuK.name`.
 */
export function flattenVcpuStats(perVcpu: readonly VcpuStats[]): VcpuStats {
  const out: VcpuStats = { ...(perVcpu[0] ?? {}) };
  perVcpu.forEach((s, k) => {
    if (k === 0) return;
    for (const [name, v] of Object.entries(s)) out[`cpu${k}.${name}`] = v;
  });
  return out;
}

/**
 * A test's declaration for a VM of `vcpus` vCPUs: `peers.c` (every vCPU but 0, the receivers)
 * becomes `cpu1.c` … `cpuN-1.c`, each judged on its own; with `parallel` every vCPU runs the
 * test loop, so each plain counter is declared for every vCPU as well.
 */
export function expandExpectation(expect: Expectation, vcpus: number, parallel: boolean): Expectation {
  const out: Expectation = {};
  for (const [key, range] of Object.entries(expect)) {
    if (key.startsWith('peers.')) {
      const name = key.slice('peers.'.length);
      for (let k = 1; k < vcpus; k++) out[`cpu${k}.${name}`] = range;
      continue;
    }
    out[key] = range;
    if (parallel) for (let k = 1; k < vcpus; k++) out[`cpu${k}.${key}`] = range;
  }
  return out;
}

export interface VcpuSample {
  cpu: number;
  i: number;
  iters: number;
  ticks: number;
  base: number;
}

/** The `vsample` lines of a `parallel` run (docs/protocol.md), grouped by vCPU, in sample order. */
export function vcpuSamples(
  events: ReadonlyArray<{ type: string; fields: Record<string, string> }>,
  test: string,
): Map<number, VcpuSample[]> {
  const out = new Map<number, VcpuSample[]>();
  for (const e of events) {
    if (e.type !== 'vsample' || e.fields.test !== test) continue;
    const [cpu, i, iters, ticks, base] = ['cpu', 'i', 'iters', 'ticks', 'base'].map((k) => Number(e.fields[k]));
    if (![cpu, i, iters, ticks, base].every((v) => Number.isSafeInteger(v)) || !(iters! > 0)) continue;
    const list = out.get(cpu!) ?? [];
    list.push({ cpu: cpu!, i: i!, iters: iters!, ticks: ticks!, base: base! });
    out.set(cpu!, list);
  }
  for (const list of out.values()) list.sort((a, b) => a.i - b.i);
  return out;
}

/**
 * Per sample, the mean over the vCPUs of (test − null) / N: what one iteration costs while every
 * vCPU runs it at once. Only samples every vCPU reported count.
 */
export function aggregatePerIteration(byCpu: ReadonlyMap<number, readonly VcpuSample[]>): number[] {
  const lists = [...byCpu.values()];
  if (!lists.length) return [];
  const n = Math.min(...lists.map((l) => l.length));
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(lists.reduce((s, l) => s + (l[i]!.ticks - l[i]!.base) / l[i]!.iters, 0) / lists.length);
  return out;
}

/** The host's CPUs, as a sweep caps them. */
export function hostCpuCount(): number {
  return availableParallelism();
}

/** 1, 2, 4 … up to `max` (and `max` itself when it is no power of two). */
export function powersOfTwoUpTo(max: number): number[] {
  const out: number[] = [];
  for (let n = 1; n <= max; n *= 2) out.push(n);
  if (out.at(-1) !== max && max > 0) out.push(max);
  return out;
}

export interface VcpuPlan {
  /** The vCPU counts to run, ascending. */
  counts: number[];
  /** Counts of the sweep left out, with why. */
  leftOut: string[];
  /** True when the case sweeps (`args.vcpu_sweep`); its figures then always carry `vcpus`. */
  sweep: boolean;
}

/** Fewest vCPUs a TCG sweep runs to even on a smaller host: TCG's vCPUs are threads that emulate, not the host's CPUs. */
export const TCG_SWEEP_FLOOR = 4;

/**
 * The vCPU counts of a boot case: `args.vcpu_sweep` (a list, e.g. [1, 2, 4, 8, 16]), capped by the
 * host's CPUs under KVM (more would time the host's scheduler) and by the larger of those and
 * TCG_SWEEP_FLOOR under TCG; without a sweep, the case's `vcpus`.
 */
export function vcpuPlan(
  spec: Pick<CaseSpec, 'args' | 'vcpus' | 'suite' | 'id'>,
  accel: Accelerator,
  hostCpus = hostCpuCount(),
): VcpuPlan {
  const raw = spec.args.vcpu_sweep;
  if (raw === undefined) return { counts: [spec.vcpus], leftOut: [], sweep: false };
  const items = (Array.isArray(raw) ? raw : String(raw).split(',')).map((v) => Number(String(v).trim()));
  if (!items.length || items.some((n) => !Number.isInteger(n) || n < 1 || n > 1024)) {
    throw new Error(`case ${spec.suite}/${spec.id}: vcpu_sweep must list vCPU counts from 1 to 1024, got ${JSON.stringify(raw)}`);
  }
  const cap = accel === 'kvm' ? hostCpus : Math.max(hostCpus, TCG_SWEEP_FLOOR);
  const counts = [...new Set(items)].sort((a, b) => a - b);
  const kept = counts.filter((n) => n <= cap);
  const leftOut = counts
    .filter((n) => n > cap)
    .map(
      (n) =>
        `${n} vCPUs: more than ${accel === 'kvm' ? `the host's ${hostCpus} CPUs` : `max(the host's ${hostCpus} CPUs, ${TCG_SWEEP_FLOOR}) under TCG`}`,
    );
  return { counts: kept, leftOut, sweep: true };
}

/** The identity label of a figure from `vcpus` vCPUs: present when more than one, or always in a sweep. */
export function vcpuLabel(vcpus: number, sweep: boolean): Record<string, string> {
  return sweep || vcpus > 1 ? { vcpus: String(vcpus) } : {};
}
