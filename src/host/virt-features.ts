/**
 * The CPU's virtualization features that decide how many exits and emulations KVM shows per
 * exit test (docs/exits.md §2, "declarations that know the CPU"), from /proc/cpuinfo. Pure.
 *
 * - `nrips`: KVM learns the next instruction's address from the hardware. AMD: NRIP save
 *   (CPUID 0x8000000A EDX bit 3, cpuinfo `nrip_save`); Intel VMX always reports the exit
 *   instruction's length. Without it kvm_amd skips an intercepted instruction through its
 *   instruction emulator, so `insn_emulation` reads 1 per cpuid, rdmsr, wrmsr, hlt, vmmcall.
 * - `tpr`: CR8 accesses need no exit while no interrupt is pending: SVM's V_TPR (part of every
 *   SVM) or VMX's TPR shadow (`tpr_shadow` in `vmx flags`).
 * - `avic` / `apicv`: the CPU offers AMD AVIC or Intel APIC virtualization (whether KVM uses it
 *   is its module parameter, recorded beside).
 * - `decodeassists`, `vgif`, `v_vmsave_vmload`, `flexpriority`, `vnmi`, `posted_intr`: recorded as evidence.
 */
import { parseCpuinfo } from './facts.js';

export const VIRT_FEATURES = [
  'svm',
  'vmx',
  'nrips',
  'tpr',
  'avic',
  'apicv',
  'decodeassists',
  'vgif',
  'v_vmsave_vmload',
  'flexpriority',
  'vnmi',
  'posted_intr',
] as const;
export type VirtFeature = (typeof VIRT_FEATURES)[number];

export function virtFeatures(cpuinfoText: string): Set<VirtFeature> {
  const cpu = parseCpuinfo(cpuinfoText);
  const f = new Set<VirtFeature>();
  const svm = cpu.flags.has('svm'),
    vmx = cpu.flags.has('vmx');
  if (svm) f.add('svm');
  if (vmx) f.add('vmx');
  if ((svm && cpu.flags.has('nrip_save')) || vmx) f.add('nrips');
  if (svm || cpu.vmxFlags.has('tpr_shadow') || cpu.flags.has('tpr_shadow')) f.add('tpr');
  if (svm && cpu.flags.has('avic')) f.add('avic');
  if (vmx && (cpu.vmxFlags.has('apicv') || cpu.vmxFlags.has('vapic'))) f.add('apicv');
  for (const [flag, feat] of [
    ['decodeassists', 'decodeassists'],
    ['vgif', 'vgif'],
    ['v_vmsave_vmload', 'v_vmsave_vmload'],
  ] as const)
    if (svm && cpu.flags.has(flag)) f.add(feat);
  for (const [flag, feat] of [
    ['flexpriority', 'flexpriority'],
    ['vnmi', 'vnmi'],
    ['posted_intr', 'posted_intr'],
  ] as const)
    if (vmx && (cpu.vmxFlags.has(flag) || cpu.flags.has(flag))) f.add(feat);
  return f;
}
