/**
 * A host class: the fingerprint fields that decide whether two runs' figures are comparable
 * (CPU model and microcode, kernel, KVM module parameters, QEMU version, SMT, THP, governor,
 * the KVM flavour). Runs of one class form one series; a host whose kernel or QEMU changes
 * starts a new class, so a trend never mixes them silently. The id is a hash of those fields.
 */
import { createHash } from 'node:crypto';
import type { HostFingerprint } from '../results/model.js';

export interface HostClass {
  id: string;
  cpuModel?: string;
  microcode?: string;
  kernel?: string;
  /** KVM module parameters as sorted JSON (`{"kvm_intel":{"ept":"Y",...}}`). */
  kvmParams?: string;
  qemuVersion?: string;
  smt?: string;
  thp?: string;
  governor?: string;
  flavor?: string;
}

/** The fields as a fixed list: their order is part of the id, never reorder them. */
export const HOST_CLASS_FIELDS = [
  'cpuModel',
  'microcode',
  'kernel',
  'kvmParams',
  'qemuVersion',
  'smt',
  'thp',
  'governor',
  'flavor',
] as const;

function sortedJson(v: Record<string, Record<string, string>> | undefined): string | undefined {
  if (!v) return undefined;
  const out: Record<string, Record<string, string>> = {};
  for (const mod of Object.keys(v).sort()) {
    const params: Record<string, string> = {};
    for (const p of Object.keys(v[mod]!).sort()) params[p] = v[mod]![p]!;
    out[mod] = params;
  }
  return JSON.stringify(out);
}

export function hostClassOf(h: HostFingerprint): HostClass {
  const fields: Omit<HostClass, 'id'> = {
    cpuModel: h.cpuModel,
    microcode: h.microcode,
    kernel: h.kernelRelease,
    kvmParams: sortedJson(h.kvmModules),
    qemuVersion: h.qemuVersion,
    smt: h.smt,
    thp: h.thp,
    governor: h.governor,
    flavor: h.kvmFlavor,
  };
  const id = createHash('sha256')
    .update(JSON.stringify(HOST_CLASS_FIELDS.map((k) => fields[k] ?? null)))
    .digest('hex')
    .slice(0, 12);
  return { id, ...fields };
}

/** A short description for people: `CPU · kernel · QEMU` (the id names it exactly). */
export function hostClassLabel(c: Pick<HostClass, 'cpuModel' | 'kernel' | 'qemuVersion'>): string {
  return [
    c.cpuModel ?? 'unknown CPU',
    c.kernel ? `Linux ${c.kernel}` : undefined,
    c.qemuVersion ? `QEMU ${c.qemuVersion}` : undefined,
  ]
    .filter(Boolean)
    .join(' · ');
}
