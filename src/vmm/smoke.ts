/**
 * The calibration boot: one real boot of the smallest guest (microvm, no firmware), which
 * times an empty loop before it exits. It answers three questions at once, for the doctor's
 * `--boot` and at the start of every KVM run:
 *
 * - does a guest actually run under this accelerator (the probe only says KVM opens)?
 * - which `-cpu` does QEMU accept here? kvmbench asks for `host,+invtsc` (the host's CPU,
 *   and an invariant TSC so the guest reads the TSC rate from the hypervisor leaf); QEMU 7.2
 *   aborts on some KVM hosts that refuse IA32_ARCH_CAPABILITIES ("failed to set MSR 0x10a"),
 *   and then the same model without that MSR is used, and the reason recorded;
 * - does the guest's code run natively or emulated (src/vmm/execution.ts)?
 */
import { guestImage } from '../guests/index.js';
import { KvmbenchError } from '../errors.js';
import type { Accelerator, Execution } from '../results/model.js';
import { decideExecution } from './execution.js';
import { launchQemu, type LaunchResult } from './launch.js';
import { STARTUP_BUDGET_MS } from './startup.js';

/** The CPU models tried under KVM, in order; each entry says why it exists. */
export const KVM_CPU_CANDIDATES: ReadonlyArray<{ cpu: string; why: string }> = [
  {
    cpu: 'host,+invtsc',
    why: "the host's CPU model, with an invariant TSC so the guest reads the TSC rate from the hypervisor leaf",
  },
  {
    cpu: 'host,+invtsc,-arch-capabilities',
    why: 'QEMU aborted setting IA32_ARCH_CAPABILITIES (MSR 0x10a), which this KVM refuses; the guests never read that MSR',
  },
];
export const TCG_CPU = 'max';

/** QEMU died before the guest ran because KVM refused the CPU model's state. */
function cpuModelRefused(r: LaunchResult): boolean {
  return r.consoleBytes === 0 && /failed to set MSR|kvm_buf_set_msrs|can't apply global|unable to set/i.test(r.stderr);
}

export interface SmokeBootResult {
  ok: boolean;
  detail: string;
  evidence: Record<string, unknown>;
  /** The -cpu value that booted. */
  cpu?: string;
  /** Why that model and not the first choice. */
  cpuNote?: string;
  execution?: Execution;
  /** Empty-loop TSC ticks per iteration, as the guest timed it. */
  nullLoopTicks?: number;
}

export async function smokeBoot(opts: {
  accel: Accelerator;
  timeoutMs: number;
  signal?: AbortSignal;
  cpu?: string;
  binary?: string;
}): Promise<SmokeBootResult> {
  const candidates = opts.cpu
    ? [{ cpu: opts.cpu, why: 'given' }]
    : opts.accel === 'kvm'
      ? KVM_CPU_CANDIDATES
      : [{ cpu: TCG_CPU, why: 'TCG' }];
  try {
    const img = await guestImage('hello');
    const refused: string[] = [];
    let r: LaunchResult | undefined;
    let cpu = candidates[0]!.cpu;
    for (const c of candidates) {
      cpu = c.cpu;
      r = await launchQemu({
        qemu: {
          machine: 'microvm',
          accel: opts.accel,
          cpu,
          kernel: img.path,
          append: 'calib',
          memoryMiB: 32,
          ...(opts.binary ? { binary: opts.binary } : {}),
        },
        timeoutMs: opts.timeoutMs,
        // A QEMU that hangs before the guest costs the micro budget here too, not the whole timeout.
        startupMs: STARTUP_BUDGET_MS[opts.accel].micro,
        signal: opts.signal,
      });
      if (!cpuModelRefused(r)) break;
      refused.push(`-cpu ${cpu}: ${r.stderr.trim().split('\n')[0]}`);
    }
    const evidence: Record<string, unknown> = {
      accel: opts.accel,
      machine: 'microvm',
      cpu,
      image: img.relPath,
      sha256: img.sha256,
      argv: r!.argv,
      exitCode: r!.exitCode,
      status: r!.status,
      durationMs: Math.round(r!.durationMs),
      consoleBytes: r!.consoleBytes,
      guestMode: r!.transcript.hello?.mode,
      ...(refused.length ? { refused } : {}),
    };
    if (r!.status !== 'pass') {
      return {
        ok: false,
        detail: `micro guest boot under ${opts.accel} failed: ${r!.reason ?? r!.status}${refused.length ? ` (also refused: ${refused.join('; ')})` : ''}`,
        evidence,
      };
    }
    const calib = r!.transcript.events.find((e) => e.type === 'calib');
    const iters = Number(calib?.fields.iters),
      ticks = Number(calib?.fields.ticks);
    const nullLoopTicks = iters > 0 && Number.isFinite(ticks) ? ticks / iters : undefined;
    const execution = decideExecution({
      accel: opts.accel,
      nullLoopTicks,
      source: `calibration boot of the hello guest on microvm, -cpu ${cpu}`,
    });
    const cpuNote = refused.length ? `${candidates.find((c) => c.cpu === cpu)?.why ?? ''} (${refused.join('; ')})` : undefined;
    return {
      ok: true,
      detail: `micro guest booted to long mode and exited cleanly under ${opts.accel} (-cpu ${cpu}) in ${Math.round(r!.durationMs)} ms; its code ran ${execution.mode}`,
      evidence: { ...evidence, nullLoopTicks, execution: execution.mode },
      cpu,
      ...(cpuNote ? { cpuNote } : {}),
      execution,
      ...(nullLoopTicks !== undefined ? { nullLoopTicks } : {}),
    };
  } catch (err) {
    const hint = err instanceof KvmbenchError && err.hint ? ` (${err.hint})` : '';
    return {
      ok: false,
      detail: `micro guest boot under ${opts.accel} could not start: ${(err as Error).message}${hint}`,
      evidence: { accel: opts.accel },
    };
  }
}
