/**
 * What kind of KVM this host has, from the kernel modules that provide it, the CPU flags
 * and the hypervisor the kernel detected. It decides nothing about whether KVM works (the
 * probe does); it says what KVM's figures will mean and what guests it can run:
 *
 * - `bare-metal`: kvm_intel / kvm_amd on a CPU with VT-x / AMD-V and no hypervisor below.
 * - `nested`: kvm_intel / kvm_amd inside a VM whose hypervisor passes VT-x / AMD-V through;
 *   every exit of our guests goes through the outer hypervisor first.
 * - `pvm`: kvm_pvm, paravirtualized KVM without VT-x / AMD-V. It runs PVM-enabled guest
 *   kernels natively; any other guest code runs through KVM's instruction emulator, a stock
 *   Linux kernel stops with an emulation failure, and vmcall is a PVM hypercall.
 * - `none`: no module provides KVM (none at all, or the `kvm` core without a vendor module);
 *   `unknown`: a KVM module kvmbench does not know provides it.
 */
import type { HostFacts, KernelModule } from './facts.js';
import { parseBool, vendorInfo } from './facts.js';

export type KvmFlavor = 'bare-metal' | 'nested' | 'pvm' | 'none' | 'unknown';

export interface FlavorInfo {
  flavor: KvmFlavor;
  /** The module that provides KVM: kvm_intel, kvm_amd, kvm_pvm. */
  module?: string;
  /** VT-x, AMD-V or PVM. */
  tech?: string;
  evidence: string[];
  /** What the flavour means for kvmbench's figures, one sentence. */
  meaning: string;
  /** Stock (not PVM-enabled) Linux kernels boot under KVM here. */
  stockKernels: boolean;
  /** vmcall/vmmcall reach KVM's ordinary hypercall handler. */
  hypercalls: boolean;
  /** Guest code of ordinary (non-PVM) guests runs natively. */
  nativeExecution: boolean;
  /** Hardware-accelerated APIC (APICv / AVIC) enabled in the vendor module, when it says. */
  apicv?: boolean;
}

const MEANING: Record<KvmFlavor, string> = {
  'bare-metal': "guest code runs natively under VT-x/AMD-V; exit figures are the hardware's and KVM's costs",
  nested:
    'KVM runs inside a VM whose hypervisor passes VT-x/AMD-V through: every exit of a guest is handled by the outer hypervisor first (5-10x bare-metal exit costs), so figures describe this nesting, not the hardware',
  pvm: "paravirtualized KVM (kvm_pvm) without VT-x/AMD-V: it runs only PVM-enabled guest kernels natively; any other guest code (kvmbench's micro guests, stock Linux kernels) runs through KVM's instruction emulator, so exit figures are the emulator's costs; a stock Linux kernel stops with an emulation failure; vmcall is reserved for PVM hypercalls; no APICv",
  none: 'no KVM module: guests run under TCG (software emulation) only',
  unknown:
    'KVM answers but no known vendor module provides it: kvmbench cannot say how guest code runs here; its exits figures carry their own measured execution mode',
};

/** The explanation a skipped or failed case gives on a PVM host. */
export const PVM_STOCK_KERNEL =
  "this host's KVM is PVM (kvm_pvm): it runs only PVM-enabled guest kernels, and a stock kernel stops with a KVM emulation failure";

/** One line: the flavour, its module and technology, and what it means for figures. */
export function describeFlavor(f: FlavorInfo): string {
  return `${f.flavor}${f.module ? ` (${f.module}${f.tech ? `, ${f.tech}` : ''})` : ''}: ${f.meaning}`;
}

function loaded(m: KernelModule | undefined): boolean {
  return m !== undefined && (m.state === 'loaded' || m.state === 'builtin');
}

export async function kvmFlavor(facts: HostFacts): Promise<FlavorInfo> {
  const [cpu, modules, virt] = await Promise.all([facts.cpu(), facts.modules(), facts.virtualization()]);
  const byName = new Map(modules.map((m) => [m.name, m]));
  const intel = byName.get('kvm_intel');
  const amd = byName.get('kvm_amd');
  const pvm = byName.get('kvm_pvm');
  const vendor = loaded(intel) ? intel : loaded(amd) ? amd : undefined;
  const hvFlag = cpu.flags.has('hypervisor');
  const hwFlag = cpu.flags.has('vmx') ? 'vmx' : cpu.flags.has('svm') ? 'svm' : undefined;
  const evidence: string[] = [];
  const mods = modules.filter((m) => /^kvm/.test(m.name) && loaded(m)).map((m) => m.name);
  evidence.push(`KVM modules: ${mods.length ? mods.join(', ') : 'none'}`);
  evidence.push(
    `/proc/cpuinfo: vmx ${cpu.flags.has('vmx') ? 'yes' : 'no'}, svm ${cpu.flags.has('svm') ? 'yes' : 'no'}, hypervisor ${hvFlag ? 'yes' : 'no'}`,
  );
  if (virt.kind) evidence.push(`running under a hypervisor: ${virt.kind} (${virt.evidence[0] ?? 'detected'})`);

  const base = (flavor: KvmFlavor, extra: Partial<FlavorInfo>): FlavorInfo => ({
    flavor,
    evidence,
    meaning: MEANING[flavor],
    stockKernels: flavor === 'bare-metal' || flavor === 'nested' || flavor === 'unknown',
    hypercalls: flavor === 'bare-metal' || flavor === 'nested' || flavor === 'unknown',
    nativeExecution: flavor === 'bare-metal' || flavor === 'nested',
    ...extra,
  });

  // A vendor module with its CPU flag wins: kvm_pvm beside it would not own /dev/kvm.
  if (vendor && hwFlag) {
    const v = vendorInfo(cpu.vendor);
    const apicv = vendor.name === 'kvm_intel' ? parseBool(vendor.params.enable_apicv) : parseBool(vendor.params.avic);
    if (apicv !== undefined)
      evidence.push(
        `${vendor.name} ${vendor.name === 'kvm_intel' ? 'enable_apicv' : 'avic'}=${vendor.params[vendor.name === 'kvm_intel' ? 'enable_apicv' : 'avic']}`,
      );
    if (loaded(pvm)) evidence.push('kvm_pvm is loaded too; the vendor module owns /dev/kvm');
    const tech = v?.tech ?? (hwFlag === 'vmx' ? 'VT-x' : 'AMD-V');
    return base(hvFlag ? 'nested' : 'bare-metal', { module: vendor.name, tech, ...(apicv !== undefined ? { apicv } : {}) });
  }
  if (loaded(pvm)) {
    const params = ['pvm_native', 'no_x2apic'].filter((k) => k in pvm!.params).map((k) => `${k}=${pvm!.params[k]}`);
    if (params.length) evidence.push(`kvm_pvm ${params.join(' ')}`);
    evidence.push(`no ${hwFlag ?? 'vmx/svm'} flag is needed: kvm_pvm runs guests without VT-x/AMD-V`);
    return base('pvm', { module: 'kvm_pvm', tech: 'PVM', apicv: false });
  }
  if (vendor) {
    evidence.push(`${vendor.name} is loaded but the CPU shows no ${vendor.name === 'kvm_intel' ? 'vmx' : 'svm'} flag`);
    return base('unknown', { module: vendor.name });
  }
  // `kvm` alone is the core without a vendor module: nothing provides KVM.
  const providers = mods.filter((m) => m !== 'kvm');
  if (!providers.length) return base('none', {});
  return base('unknown', { module: providers[0] });
}
