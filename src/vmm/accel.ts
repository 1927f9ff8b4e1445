/**
 * `--accel auto|kvm|tcg`: which accelerator a run actually uses. The decision
 * rests on the functional KVM probe (src/kvm/probe.ts), never on CPU flags.
 */
import { EnvironmentError, UsageError } from '../errors.js';
import { probeKvm, type KvmProbeResult } from '../kvm/probe.js';
import type { Accelerator } from '../results/model.js';
import { qemuBinary } from './qemu.js';

export type AccelRequest = 'auto' | 'kvm' | 'tcg';
export const ACCEL_REQUESTS: readonly AccelRequest[] = ['auto', 'kvm', 'tcg'];

export interface AccelChoice {
  accel: Accelerator;
  requested: AccelRequest;
  /** Set when auto fell back to TCG: show it to the person running. */
  warning?: string;
  probe?: KvmProbeResult;
  /** The QEMU binary that will run the guests. */
  qemu?: string;
}

/**
 * Every accelerator needs QEMU, so a missing QEMU stops the run here with exit 3 and the
 * apt command (`findQemu` throws EnvironmentError), before any case starts.
 */
export function resolveAccelerator(
  requested: string,
  probe: () => KvmProbeResult = () => probeKvm(),
  findQemu: () => string = () => qemuBinary(),
): AccelChoice {
  if (!(ACCEL_REQUESTS as readonly string[]).includes(requested)) {
    throw new UsageError(`unknown accelerator '${requested}'`, 'use --accel auto, kvm or tcg');
  }
  const req = requested as AccelRequest;
  const qemu = findQemu();
  if (req === 'tcg') return { accel: 'tcg', requested: req, qemu };
  const p = probe();
  if (p.usable) return { accel: 'kvm', requested: req, probe: p, qemu };
  const why = p.reason ?? `KVM probe stopped at ${p.stage}${p.errno ? ` (${p.errno})` : ''}`;
  if (req === 'kvm') {
    throw new EnvironmentError(`--accel kvm: KVM is not usable here: ${why}`, p.fix ?? 'run `kvmbench doctor` for details');
  }
  return {
    accel: 'tcg',
    requested: req,
    probe: p,
    qemu,
    warning: `KVM is not usable (${why}); running under TCG: figures are software emulation, not hardware virtualization`,
  };
}
