/**
 * Pinning a guest's vCPU threads to host CPUs (`run --pin`): QEMU names each vCPU's thread
 * (QMP `query-cpus-fast`), and vCPU k goes to the k-th CPU this process may run on
 * (`Cpus_allowed_list`), wrapping round when there are more vCPUs. `taskset` sets the affinity,
 * through an argument array. QEMU's other threads (I/O, RCU) stay unpinned.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { execa } from 'execa';
import type { QmpClient } from './qmp.js';

/** What `vm.pin` says when vCPU threads are pinned: the rule, not the CPUs, so runs on other hosts compare. */
export const PIN_RECORD = 'vcpu-k-to-cpu-k';

/** `0-3,8,10-11` → [0, 1, 2, 3, 8, 10, 11]. */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(',').filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) return [];
    const lo = Number(m[1]),
      hi = m[2] === undefined ? lo : Number(m[2]);
    for (let c = lo; c <= hi && out.length < 4096; c++) out.push(c);
  }
  return out;
}

/** The CPUs this process may run on; 0 … n−1 where /proc does not say. */
export function allowedCpus(): number[] {
  try {
    const line = /^Cpus_allowed_list:\s*(.+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    const list = line ? parseCpuList(line[1]!) : [];
    if (list.length) return list;
  } catch {
    // not Linux
  }
  return [...Array(availableParallelism()).keys()];
}

/** vCPU index → host CPU: the k-th allowed CPU, wrapping round. */
export function pinPlan(vcpus: number, cpus: readonly number[]): Array<[number, number]> {
  return [...Array(vcpus).keys()].map((k) => [k, cpus[k % cpus.length]!]);
}

export interface PinOutcome {
  /** `vcpu0→cpu0 vcpu1→cpu1`, what was applied. */
  applied?: string;
  error?: string;
}

/** Pins every vCPU thread QEMU reports; never throws (the outcome says what went wrong). */
export async function pinVcpuThreads(qmp: QmpClient, cpus: readonly number[] = allowedCpus()): Promise<PinOutcome> {
  try {
    const list = await qmp.execute<Array<{ 'cpu-index'?: number; 'thread-id'?: number }>>('query-cpus-fast', undefined, 3000);
    const threads = (Array.isArray(list) ? list : []).filter(
      (c) => Number.isInteger(c['cpu-index']) && Number.isInteger(c['thread-id']),
    );
    if (!threads.length) return { error: 'QMP query-cpus-fast named no vCPU threads' };
    const plan = new Map(pinPlan(Math.max(...threads.map((t) => t['cpu-index']!)) + 1, cpus));
    const done: string[] = [];
    for (const t of threads) {
      const cpu = plan.get(t['cpu-index']!)!;
      const r = await execa('taskset', ['-p', '-c', String(cpu), String(t['thread-id'])], {
        reject: false,
        stdin: 'ignore',
        timeout: 3000,
      });
      if (r.exitCode !== 0)
        return {
          error: `taskset for vCPU ${t['cpu-index']} (thread ${t['thread-id']}) failed: ${String(r.stderr || r.shortMessage)
            .trim()
            .slice(0, 200)}`,
        };
      done.push(`vcpu${t['cpu-index']}→cpu${cpu}`);
    }
    return { applied: done.join(' ') };
  } catch (err) {
    return { error: `pinning failed: ${(err as Error).message}` };
  }
}
