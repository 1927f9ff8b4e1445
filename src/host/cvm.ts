/**
 * Confidential-VM facts: what the CPU, its firmware, the kernel and KVM say about AMD SEV
 * (SEV, SEV-ES, SEV-SNP) and Intel TDX on this host, read once per reader and shared by the
 * doctor's `cvm` checks. Nothing here judges; it gathers and parses, and says per mode
 * whether the CPU has it and whether the firmware turned it on (with the reason and the
 * firmware setting when not).
 *
 * Sources, best first: CPUID 0x8000001F through /dev/cpu/0/cpuid (root, `cpuid` module);
 * MSRs (root, `msr` module): SYSCFG, HWCR, RMP_BASE/RMP_END (AMD), MKTME_KEYID_PARTITIONING
 * and TME_ACTIVATE (Intel); the kernel's CPU flags (`sev`, `sev_es`, `sev_snp`, `sme`,
 * `tdx_host_platform`, which it hides when the firmware has not enabled the feature); the
 * kernel log (kvm_amd's "SEV enabled (ASIDs ...)", the AMD Secure Processor's "SEV API:1.55
 * build:21", "virt/tdx: BIOS enabled: private KeyID range [...)", "module initialized").
 */
import { parseBool, vendorInfo, type HostFacts, type KernelModule } from './facts.js';
import type { CpuidRegs, HostReader } from './reader.js';
import type { HostActions, QmpAnswer, QmpCommand } from './actions.js';

export type CvmTech = 'sev' | 'tdx';
export type CvmMode = 'sev' | 'sev-es' | 'sev-snp' | 'tdx';

export interface CvmModeSpec {
  mode: CvmMode;
  label: string;
  tech: CvmTech;
  /** The first upstream Linux release whose KVM hosts this mode. */
  kernel: readonly [number, number];
  /** The first upstream QEMU release that launches it. */
  qemu: readonly [number, number];
  module: 'kvm_amd' | 'kvm_intel';
  /** The vendor module's parameter that says whether KVM offers the mode (its effective state). */
  param: string;
  /** The QOM type QEMU configures such a guest with. */
  qemuObject: string;
}

/**
 * Version minima, from the upstream merges of host support: KVM SEV in Linux 4.16, SEV-ES
 * in 5.11, SEV-SNP in 6.11, TDX in 6.16; QEMU's `sev-guest` in 2.12, SEV-ES guests in 6.0,
 * `sev-snp-guest` in 9.1 and `tdx-guest` in 10.1 (QEMU docs/system/i386/amd-memory-encryption.rst
 * and tdx.rst describe them; the kernel's Documentation/virt/kvm/x86/amd-memory-encryption.rst
 * and intel-tdx.rst the KVM side). Distribution kernels and QEMUs backport: the KVM parameter
 * and QEMU's object types are checked too, and a present feature outranks a version number.
 */
export const CVM_MODES: readonly CvmModeSpec[] = [
  {
    mode: 'sev',
    label: 'SEV',
    tech: 'sev',
    kernel: [4, 16],
    qemu: [2, 12],
    module: 'kvm_amd',
    param: 'sev',
    qemuObject: 'sev-guest',
  },
  {
    mode: 'sev-es',
    label: 'SEV-ES',
    tech: 'sev',
    kernel: [5, 11],
    qemu: [6, 0],
    module: 'kvm_amd',
    param: 'sev_es',
    qemuObject: 'sev-guest',
  },
  {
    mode: 'sev-snp',
    label: 'SEV-SNP',
    tech: 'sev',
    kernel: [6, 11],
    qemu: [9, 1],
    module: 'kvm_amd',
    param: 'sev_snp',
    qemuObject: 'sev-snp-guest',
  },
  {
    mode: 'tdx',
    label: 'TDX',
    tech: 'tdx',
    kernel: [6, 16],
    qemu: [10, 1],
    module: 'kvm_intel',
    param: 'tdx',
    qemuObject: 'tdx-guest',
  },
];

/** The oldest SEV firmware (API version) the kernel runs SEV-SNP with (SNP_MIN_API_MAJOR/MINOR). */
export const SNP_MIN_API = [1, 51] as const;

export const CPUID_MEM_ENCRYPT = 0x8000001f;
export const MSR_AMD64_SYSCFG = 0xc0010010;
export const MSR_K7_HWCR = 0xc0010015;
export const MSR_AMD64_RMP_BASE = 0xc0010132;
export const MSR_AMD64_RMP_END = 0xc0010133;
export const MSR_IA32_MKTME_KEYID_PARTITIONING = 0x87;
export const MSR_IA32_TME_ACTIVATE = 0x982;

/** Intel family-6 models of the Xeon generations that offer TDX (SKU-dependent on the first). */
const TDX_MODELS = new Map<number, string>([
  [0x8f, 'Sapphire Rapids (4th gen Xeon Scalable)'],
  [0xcf, 'Emerald Rapids (5th gen Xeon Scalable)'],
  [0xad, 'Granite Rapids (Xeon 6)'],
  [0xae, 'Granite Rapids-D (Xeon 6)'],
  [0xaf, 'Sierra Forest (Xeon 6)'],
  [0xdd, 'Clearwater Forest (Xeon 6+)'],
]);

export const AMD_BIOS_FIX =
  'in the firmware setup enable "SMEE" (Secure Memory Encryption) and "SEV Control" (AMD CBS > CPU Common Options; names vary by board vendor), ' +
  'set "SEV ASID Count" to its maximum and "SEV-ES ASID Space Limit" above 1 (ASIDs below it go to SEV-ES and SEV-SNP guests); ' +
  'for SEV-SNP also enable "SNP Memory (RMP Table) Coverage" and "SEV-SNP Support" with the IOMMU on; save and power-cycle';
export const INTEL_BIOS_FIX =
  'in the firmware setup enable "Total Memory Encryption (TME)", "TME Multi-Tenant (TME-MT)" with a non-zero "TME-MT/TDX key split", ' +
  '"Trust Domain Extension (TDX)" and the "TDX Secure Arbitration Mode Loader (SEAM Loader)", and disable "Limit CPU PA to 46 bits"; save and power-cycle ' +
  '(TDX also depends on the CPU SKU: check it on ark.intel.com)';

export interface SevCpuid {
  sme: boolean;
  sev: boolean;
  sevEs: boolean;
  sevSnp: boolean;
  /** Page-table bit that marks encrypted memory. */
  cbitPos: number;
  physBitsReduction: number;
  /** Encrypted guests supported at once (ECX): the highest ASID. */
  maxAsid: number;
  /** Lowest ASID for SEV (non-ES) guests (EDX); ASIDs below it serve SEV-ES and SEV-SNP. */
  minSevAsid: number;
  raw: CpuidRegs;
}

export function parseSevCpuid(r: CpuidRegs): SevCpuid {
  return {
    sme: (r.eax & 1) !== 0,
    sev: (r.eax & 2) !== 0,
    sevEs: (r.eax & 8) !== 0,
    sevSnp: (r.eax & 16) !== 0,
    cbitPos: r.ebx & 0x3f,
    physBitsReduction: (r.ebx >>> 6) & 0x3f,
    maxAsid: r.ecx >>> 0,
    minSevAsid: r.edx >>> 0,
    raw: r,
  };
}

/** A kernel log line without its timestamp. */
export function logText(line: string): string {
  return line.replace(/^\[\s*[\d.]+\]\s*/, '').trim();
}

export interface KvmModeLine {
  state: 'enabled' | 'disabled' | 'unusable' | 'supported';
  asids: string;
  line: string;
}

export interface SevLog {
  /** kvm_amd's summary per mode ("SEV-ES enabled (ASIDs 1 - 99)", older "SEV-ES supported: 99 ASIDs"). */
  kvm: Partial<Record<'sev' | 'sev-es' | 'sev-snp', KvmModeLine>>;
  /** The SEV firmware's API version, from the AMD Secure Processor driver ("SEV-SNP API:1.55 build:21"). */
  api?: { major: number; minor: number; build: number; snp: boolean; line: string };
  /** The firmware or driver refused: failed INITs, a too-old firmware for SNP. */
  failures: string[];
  rmpMissing?: string;
  rmpRange?: string;
  /** The IOMMU driver took SNP away ("SNP: IOMMU disabled or configured in passthrough mode..."). */
  iommuSnp?: string;
  /** "Memory Encryption Features active: AMD SME" (or SEV... in a guest). */
  memEncrypt?: string;
}

export function parseSevLog(lines: readonly string[]): SevLog {
  const out: SevLog = { kvm: {}, failures: [] };
  for (const raw of lines) {
    const l = logText(raw);
    const kvm =
      /\b(SEV-SNP|SEV-ES|SEV) (enabled|disabled|unusable) \(ASIDs (\d+) - (\d+)\)/.exec(l) ??
      /\b(SEV-SNP|SEV-ES|SEV) (supported): (\d+) ASIDs/.exec(l);
    if (kvm && /kvm_amd|ASIDs/.test(l)) {
      const mode = kvm[1]!.toLowerCase() as 'sev' | 'sev-es' | 'sev-snp';
      out.kvm[mode] = {
        state: kvm[2] as KvmModeLine['state'],
        asids: kvm[4] !== undefined ? `${kvm[3]} - ${kvm[4]}` : `${kvm[3]} ASIDs`,
        line: l,
      };
      continue;
    }
    const api = /\bSEV(-SNP)? API:(\d+)\.(\d+) build:(\d+)/.exec(l);
    if (api) {
      out.api = { snp: Boolean(api[1]), major: Number(api[2]), minor: Number(api[3]), build: Number(api[4]), line: l };
      continue;
    }
    if (
      /SEV(-SNP)?: failed to INIT|SEV(-SNP)? support requires firmware version|SEV: failed to get status|sev command .* timed out|SEV: firmware update failed/i.test(
        l,
      )
    )
      out.failures.push(l);
    else if (/RMP table has not been reserved|Memory for the RMP table has not been reserved|RMP table not reserved/i.test(l))
      out.rmpMissing = l;
    else if (/RMP table physical range/i.test(l)) out.rmpRange = l;
    else if (/SNP: .*SNP cannot be supported|SNP: IOMMU/i.test(l)) out.iommuSnp = l;
    else if (/Memory Encryption Features active/i.test(l)) out.memEncrypt = l;
  }
  return out;
}

export interface TdxLog {
  /** "virt/tdx: BIOS enabled: private KeyID range [64, 128)". */
  keyids?: { start: number; end: number; line: string };
  failures: string[];
  /** "virt/tdx: module initialized" (6.16) or "TDX-Module initialized". */
  initialized?: string;
  /** Lines naming the TDX module's version or attributes. */
  moduleInfo: string[];
  /** kvm_intel's TDX lines ("tdx: ..."). */
  kvm: string[];
  tme?: { enabled: boolean; line: string };
  mktme?: { enabled: boolean; line: string };
}

export function parseTdxLog(lines: readonly string[]): TdxLog {
  const out: TdxLog = { failures: [], moduleInfo: [], kvm: [] };
  for (const raw of lines) {
    const l = logText(raw);
    const k = /BIOS enabled: private KeyID range \[(\d+), (\d+)\)/.exec(l);
    if (k) {
      out.keyids = { start: Number(k[1]), end: Number(k[2]), line: l };
      continue;
    }
    if (/x86\/tme: (not )?enabled by BIOS/.test(l)) out.tme = { enabled: !/not enabled/.test(l), line: l };
    else if (/x86\/mktme: (enabled|disabled) by BIOS/.test(l)) out.mktme = { enabled: /enabled by BIOS/.test(l), line: l };
    else if (
      /tdx.*(initialization failed|init.* failed)|TDX not supported by the host platform|no TDX private KeyIDs|tdx requires|required for TDX/i.test(
        l,
      )
    )
      out.failures.push(l);
    else if (/(virt\/tdx: (TDX-Module|module) initialized|TDX module initialized|TDX-Module initialized)/i.test(l))
      out.initialized = l;
    else if (/virt\/tdx: .*(TDX module|version|attributes|build_date)/i.test(l)) out.moduleInfo.push(l);
    else if (/kvm_intel: .*tdx/i.test(l)) out.kvm.push(l);
  }
  return out;
}

/** `6.8.0-49-generic` → [6, 8]. */
export function parseRelease(release: string): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)/.exec(release.trim());
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

export function atLeast(v: readonly [number, number] | undefined, min: readonly [number, number]): boolean | undefined {
  if (!v) return undefined;
  return v[0] > min[0] || (v[0] === min[0] && v[1] >= min[1]);
}

export interface CvmModeState {
  spec: CvmModeSpec;
  /** The CPU has it: true (CPUID or a kernel flag says so), false (CPUID says not), undefined (cannot tell). */
  cpu: boolean | undefined;
  /** The firmware turned it on and the kernel lists it; undefined when that cannot be told. */
  enabled: boolean | undefined;
  /** Why it is not enabled, one sentence. */
  why?: string;
  fix?: string;
  /** Guest capacity: ASIDs or KeyIDs. */
  capacity?: string;
}

export interface CvmFacts {
  /** The technology of this CPU's vendor: SEV (AMD, Hygon) or TDX (Intel); undefined for others. */
  tech?: CvmTech;
  vendor?: string;
  /** This host is itself a VM (the CPU's `hypervisor` flag). */
  guest: boolean;
  root: boolean;
  cpuid?: SevCpuid;
  /** How CPUID 0x8000001F was read, or why it was not. */
  cpuidSource: string;
  msr: { syscfg?: bigint; hwcr?: bigint; rmpBase?: bigint; rmpEnd?: bigint; keyidPartitioning?: bigint; tmeActivate?: bigint };
  flags: ReadonlySet<string>;
  log: { readable: boolean; error?: string };
  sevLog: SevLog;
  tdxLog: TdxLog;
  release: string;
  kernel?: [number, number];
  cmdline: string;
  /** kvm_amd or kvm_intel, when loaded or built in. */
  module?: KernelModule;
  modelName?: string;
  /** Known Intel TDX generation (name), from family 6 model numbers. */
  tdxGeneration?: string;
  /** The modes of this host's technology, best last. */
  modes: CvmModeState[];
  /** Evidence lines about the CPU and firmware, for cvm.cpu. */
  evidence: string[];
}

const hex = (v: bigint | number): string => `0x${v.toString(16)}`;
const bit = (v: bigint, n: number): boolean => ((v >> BigInt(n)) & 1n) === 1n;

function sevModes(c: Omit<CvmFacts, 'modes' | 'evidence'>, ev: string[]): CvmModeState[] {
  const [sevSpec, esSpec, snpSpec] = CVM_MODES.filter((m) => m.tech === 'sev') as [CvmModeSpec, CvmModeSpec, CvmModeSpec];
  const f = c.flags;
  const id = c.cpuid;
  const log = c.sevLog;

  // SEV: the kernel lists `sev` only when the firmware enabled memory encryption and locked SMM.
  const sev: CvmModeState = {
    spec: sevSpec,
    cpu: id ? id.sev : f.has('sev') || log.kvm.sev ? true : undefined,
    enabled: undefined,
  };
  if (f.has('sev') || log.kvm.sev?.state === 'enabled' || log.kvm.sev?.state === 'supported') sev.enabled = true;
  else if (sev.cpu) {
    sev.enabled = false;
    if (c.msr.syscfg !== undefined && !bit(c.msr.syscfg, 23)) {
      sev.why =
        'the firmware has not enabled memory encryption: MSR SYSCFG MemEncryptionModEn (bit 23) is 0, so the kernel hides sme/sev/sev_es/sev_snp';
    } else if (c.msr.hwcr !== undefined && !bit(c.msr.hwcr, 0)) {
      sev.why = 'the firmware left SMM unlocked (MSR HWCR SMMLOCK = 0), so the kernel does not offer SEV';
    } else {
      sev.why = 'the CPU has SEV (CPUID 0x8000001F) but the kernel does not list it: the firmware has not enabled it';
    }
    sev.fix = AMD_BIOS_FIX;
  }
  if (id && id.sev)
    sev.capacity =
      id.maxAsid >= id.minSevAsid && id.minSevAsid > 0 ? `ASIDs ${id.minSevAsid} - ${id.maxAsid}` : `${id.maxAsid} ASIDs`;
  else if (log.kvm.sev) sev.capacity = `ASIDs ${log.kvm.sev.asids}`;

  // SEV-ES: needs SEV, the flag, and ASIDs below the minimum SEV ASID.
  const es: CvmModeState = {
    spec: esSpec,
    cpu: id ? id.sevEs : f.has('sev_es') || log.kvm['sev-es'] ? true : undefined,
    enabled: undefined,
  };
  const esAsids = id ? Math.max(0, id.minSevAsid - 1) : undefined;
  if (esAsids) es.capacity = `ASIDs 1 - ${esAsids}`;
  else if (log.kvm['sev-es'] && !/^0 - 0$/.test(log.kvm['sev-es'].asids)) es.capacity = `ASIDs ${log.kvm['sev-es'].asids}`;
  if (sev.enabled === false && es.cpu !== false) {
    es.enabled = false;
    es.why = 'SEV itself is not enabled';
    es.fix = sev.fix;
  } else if (es.cpu && sev.enabled) {
    if (id && esAsids === 0) {
      es.enabled = false;
      es.why = `no ASIDs are left for SEV-ES (and SEV-SNP) guests: the minimum SEV ASID (CPUID 0x8000001F EDX) is ${id.minSevAsid}`;
      es.fix =
        'in the firmware setup set "SEV-ES ASID Space Limit" (AMD CBS > CPU Common Options) above 1, e.g. 100: ASIDs below it serve SEV-ES and SEV-SNP guests; save and power-cycle';
    } else if (id && !f.has('sev_es')) {
      es.enabled = false;
      es.why = 'the CPU has SEV-ES but the kernel does not list sev_es: the firmware has not enabled it';
      es.fix = AMD_BIOS_FIX;
    } else if (f.has('sev_es') || log.kvm['sev-es']) es.enabled = true;
  }

  // SEV-SNP: needs SEV-ES's ASIDs and an RMP table the firmware reserved.
  const snp: CvmModeState = {
    spec: snpSpec,
    cpu: id ? id.sevSnp : f.has('sev_snp') || log.kvm['sev-snp'] ? true : undefined,
    enabled: undefined,
  };
  if (es.capacity) snp.capacity = es.capacity;
  const rmpZero = c.msr.rmpBase !== undefined && c.msr.rmpEnd !== undefined && c.msr.rmpBase === 0n && c.msr.rmpEnd === 0n;
  if (snp.cpu !== false && es.enabled === false) {
    snp.enabled = false;
    snp.why = `SEV-SNP needs what SEV-ES needs: ${es.why}`;
    snp.fix = es.fix;
  } else if (snp.cpu && sev.enabled) {
    if (rmpZero || log.rmpMissing) {
      snp.enabled = false;
      snp.why = `the firmware reserved no RMP table (${rmpZero ? 'MSR RMP_BASE and RMP_END are 0' : log.rmpMissing})`;
      snp.fix =
        'in the firmware setup enable "SNP Memory (RMP Table) Coverage" and "SEV-SNP Support" (with the IOMMU enabled); save and power-cycle';
    } else if (id && !f.has('sev_snp')) {
      snp.enabled = false;
      snp.why =
        'the CPU has SEV-SNP but the kernel does not list sev_snp: the firmware did not reserve the RMP table, or the kernel predates SNP host support';
      snp.fix =
        'enable "SNP Memory (RMP Table) Coverage" and "SEV-SNP Support" in the firmware setup, and run Linux 6.11 or later';
    } else if (f.has('sev_snp') || log.kvm['sev-snp']) snp.enabled = true;
  }

  if (id) {
    const bits = `EAX ${hex(id.raw.eax)} (SME ${id.sme ? 1 : 0}, SEV ${id.sev ? 1 : 0}, SEV-ES ${id.sevEs ? 1 : 0}, SEV-SNP ${id.sevSnp ? 1 : 0})`;
    const asids = id.sev
      ? `, C-bit ${id.cbitPos}, ${id.maxAsid} ASIDs (SEV from ${id.minSevAsid}, SEV-ES/SEV-SNP ${id.minSevAsid > 1 ? `1 - ${id.minSevAsid - 1}` : 'none'})`
      : ': no SEV';
    ev.push(`CPUID 0x8000001F (${c.cpuidSource}): ${bits}${asids}`);
  } else ev.push(`CPUID 0x8000001F not read: ${c.cpuidSource}`);
  ev.push(`/proc/cpuinfo flags: ${['sme', 'sev', 'sev_es', 'sev_snp'].map((x) => `${x} ${f.has(x) ? 'yes' : 'no'}`).join(', ')}`);
  if (c.msr.syscfg !== undefined) {
    ev.push(
      `MSR SYSCFG (0xc0010010) = ${hex(c.msr.syscfg)}: MemEncryptionModEn ${bit(c.msr.syscfg, 23) ? 1 : 0}, SNPEn ${bit(c.msr.syscfg, 24) ? 1 : 0}`,
    );
  }
  if (c.msr.rmpBase !== undefined && c.msr.rmpEnd !== undefined)
    ev.push(`MSR RMP_BASE/RMP_END = ${hex(c.msr.rmpBase)} / ${hex(c.msr.rmpEnd)}`);
  if (log.rmpRange) ev.push(`kernel log: ${log.rmpRange}`);
  if (log.rmpMissing) ev.push(`kernel log: ${log.rmpMissing}`);
  return [sev, es, snp];
}

function tdxModes(c: Omit<CvmFacts, 'modes' | 'evidence'>, ev: string[]): CvmModeState[] {
  const spec = CVM_MODES.find((m) => m.mode === 'tdx')!;
  const st: CvmModeState = { spec, cpu: undefined, enabled: undefined };
  const log = c.tdxLog;
  const keyids = c.msr.keyidPartitioning;
  const tdxKeys = keyids !== undefined ? Number(keyids >> 32n) : undefined;
  ev.push(
    `/proc/cpuinfo flags: tdx_host_platform ${c.flags.has('tdx_host_platform') ? 'yes' : 'no'}, tme ${c.flags.has('tme') ? 'yes' : 'no'}`,
  );
  if (c.tdxGeneration) ev.push(`CPU generation: ${c.tdxGeneration}, which offers TDX (SKU-dependent)`);
  if (keyids !== undefined)
    ev.push(
      `MSR IA32_MKTME_KEYID_PARTITIONING (0x87) = ${hex(keyids)}: ${Number(keyids & 0xffffffffn)} MKTME KeyIDs, ${tdxKeys} TDX KeyIDs`,
    );
  if (log.keyids) ev.push(`kernel log: ${log.keyids.line}`);
  const tooFew = log.failures.find((l) => /too few private KeyIDs/i.test(l));
  if (log.keyids || c.flags.has('tdx_host_platform') || (tdxKeys ?? 0) > 0) {
    st.cpu = true;
    const start = log.keyids?.start ?? (keyids !== undefined ? Number(keyids & 0xffffffffn) + 1 : undefined);
    const n = log.keyids ? log.keyids.end - log.keyids.start : tdxKeys;
    if (tooFew || (n !== undefined && n < 2)) {
      st.enabled = false;
      st.why = `the firmware gave TDX ${n ?? 'too few'} private KeyID${n === 1 ? '' : 's'}: the TDX module needs one for itself and guests need the rest`;
      st.fix =
        'in the firmware setup raise the "TME-MT/TDX key split" so TDX gets at least 2 KeyIDs (e.g. half of them); save and power-cycle';
    } else {
      st.enabled = true;
      if (start !== undefined && n !== undefined) st.capacity = `private KeyIDs [${start}, ${start + n}): ${n - 1} for guests`;
    }
  } else if (tdxKeys === 0 || c.tdxGeneration) {
    st.cpu = c.tdxGeneration ? undefined : false;
    st.enabled = false;
    st.why =
      tdxKeys === 0
        ? 'the firmware has not enabled TDX: MSR IA32_MKTME_KEYID_PARTITIONING gives TDX no KeyIDs'
        : 'the kernel sees no TDX: no tdx_host_platform flag and no "BIOS enabled: private KeyID range" in the kernel log';
    st.fix = INTEL_BIOS_FIX;
  } else {
    st.cpu = false;
  }
  return [st];
}

const memo = new WeakMap<HostFacts, Promise<CvmFacts>>();

/** The confidential-VM facts of a reader, read once. */
export function cvmFacts(facts: HostFacts): Promise<CvmFacts> {
  let p = memo.get(facts);
  if (!p) {
    p = gather(facts);
    memo.set(facts, p);
  }
  return p;
}

async function gather(facts: HostFacts): Promise<CvmFacts> {
  const reader: HostReader = facts.reader;
  const cpu = await facts.cpu();
  const v = vendorInfo(cpu.vendor);
  const tech: CvmTech | undefined = v?.name === 'AMD' || v?.name === 'Hygon' ? 'sev' : v?.name === 'Intel' ? 'tdx' : undefined;
  const root = reader.identity().uid === 0;
  const [log, release, cmdline, module] = await Promise.all([
    facts.kernelLog(),
    reader.readText('/proc/sys/kernel/osrelease'),
    reader.readText('/proc/cmdline'),
    tech ? facts.module(tech === 'sev' ? 'kvm_amd' : 'kvm_intel') : Promise.resolve(undefined),
  ]);
  const msr: CvmFacts['msr'] = {};
  let cpuid: SevCpuid | undefined;
  let cpuidSource = 'not an AMD CPU';
  if (tech === 'sev') {
    const top = await reader.readCpuid(0, 0x80000000);
    if (!top) cpuidSource = root ? '/dev/cpu/0/cpuid not readable (`sudo modprobe cpuid`)' : 'needs root and the cpuid module';
    else if (top.eax >>> 0 < CPUID_MEM_ENCRYPT)
      cpuidSource = `the CPU's highest extended leaf is ${hex(top.eax >>> 0)}: no memory-encryption leaf`;
    else {
      const r = await reader.readCpuid(0, CPUID_MEM_ENCRYPT);
      if (r) {
        cpuid = parseSevCpuid(r);
        cpuidSource = 'via /dev/cpu/0/cpuid';
      } else cpuidSource = '/dev/cpu/0/cpuid gave no answer';
    }
    if (root) {
      [msr.syscfg, msr.hwcr, msr.rmpBase, msr.rmpEnd] = await Promise.all(
        [MSR_AMD64_SYSCFG, MSR_K7_HWCR, MSR_AMD64_RMP_BASE, MSR_AMD64_RMP_END].map((m) => reader.readMsr(0, m)),
      );
    }
  } else if (tech === 'tdx' && root) {
    [msr.keyidPartitioning, msr.tmeActivate] = await Promise.all(
      [MSR_IA32_MKTME_KEYID_PARTITIONING, MSR_IA32_TME_ACTIVATE].map((m) => reader.readMsr(0, m)),
    );
  }
  for (const k of Object.keys(msr) as Array<keyof typeof msr>) if (msr[k] === undefined) delete msr[k];
  const tdxGeneration = tech === 'tdx' && cpu.family === 6 && cpu.model !== undefined ? TDX_MODELS.get(cpu.model) : undefined;
  const base: Omit<CvmFacts, 'modes' | 'evidence'> = {
    ...(tech ? { tech } : {}),
    ...(v ? { vendor: v.name } : {}),
    guest: cpu.flags.has('hypervisor'),
    root,
    ...(cpuid ? { cpuid } : {}),
    cpuidSource,
    msr,
    flags: cpu.flags,
    log: { readable: log.readable, ...(log.error ? { error: log.error } : {}) },
    sevLog: parseSevLog(log.lines),
    tdxLog: parseTdxLog(log.lines),
    release: release?.trim() ?? '',
    ...(parseRelease(release ?? '') ? { kernel: parseRelease(release ?? '')! } : {}),
    cmdline: cmdline?.trim() ?? '',
    ...(module ? { module } : {}),
    ...(cpu.modelName ? { modelName: cpu.modelName } : {}),
    ...(tdxGeneration ? { tdxGeneration } : {}),
  };
  const evidence: string[] = [];
  const modes = tech === 'sev' ? sevModes(base, evidence) : tech === 'tdx' ? tdxModes(base, evidence) : [];
  return { ...base, modes, evidence };
}

/** The effective state of a vendor-module parameter: true, false, or undefined when absent. */
export function moduleParam(m: KernelModule | undefined, name: string): { raw?: string; on?: boolean } {
  const raw = m?.params[name];
  return raw === undefined ? {} : { raw, ...(parseBool(raw) !== undefined ? { on: parseBool(raw)! } : {}) };
}

/** The QMP questions for this host's technology: QEMU's confidential-guest types, and SEV's capabilities. */
export function cvmQmpCommands(tech: CvmTech): QmpCommand[] {
  return [
    { execute: 'qom-list-types', arguments: { implements: 'confidential-guest-support', abstract: false } },
    ...(tech === 'sev' ? [{ execute: 'query-sev-capabilities' }] : []),
  ];
}

const qmpMemo = new WeakMap<HostFacts, Promise<QmpAnswer>>();

/** QEMU's answers for this host's technology, asked once (under KVM when the probe says it works). */
export function cvmQemuAnswer(facts: HostFacts, actions: HostActions, tech: CvmTech): Promise<QmpAnswer> {
  let p = qmpMemo.get(facts);
  if (!p) {
    p = actions.qmpQuery({ accel: facts.probe().usable ? 'kvm' : 'tcg', commands: cvmQmpCommands(tech) });
    qmpMemo.set(facts, p);
  }
  return p;
}
