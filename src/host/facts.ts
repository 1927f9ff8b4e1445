/**
 * Parsed host facts shared by the doctor and the fingerprint. Each fact is read once per
 * reader (memoized), so `doctor --json`, which needs both, spawns QEMU and dmesg once.
 */
import type { KvmProbeResult } from '../kvm/probe.js';
import type { HostReader } from './reader.js';

export interface CpuInfo {
  vendor?: string;
  modelName?: string;
  family?: number;
  model?: number;
  stepping?: number;
  microcode?: string;
  /** Flags of the first processor. */
  flags: Set<string>;
  /** The `vmx flags` line (Intel, kernel 5.8+): ept, vpid, unrestricted_guest... */
  vmxFlags: Set<string>;
  /** Logical CPUs (processor entries). */
  threads: number;
  /** Distinct (physical id, core id) pairs, when the kernel reports them. */
  cores?: number;
  sockets?: number;
}

/** Parse /proc/cpuinfo (x86 layout; other architectures yield mostly empty fields). */
export function parseCpuinfo(text: string): CpuInfo {
  const blocks = text.split(/\n\s*\n/).filter((b) => b.trim());
  const info: CpuInfo = { flags: new Set(), vmxFlags: new Set(), threads: 0 };
  const coreKeys = new Set<string>();
  const sockets = new Set<string>();
  blocks.forEach((block, i) => {
    const kv = new Map<string, string>();
    for (const line of block.split('\n')) {
      const m = /^([^:]+?)\s*:\s?(.*)$/.exec(line);
      if (m) kv.set(m[1]!.trim(), m[2]!.trim());
    }
    if (!kv.has('processor')) return;
    info.threads++;
    if (kv.has('physical id') && kv.has('core id')) coreKeys.add(`${kv.get('physical id')}:${kv.get('core id')}`);
    if (kv.has('physical id')) sockets.add(kv.get('physical id')!);
    if (i > 0 && info.vendor !== undefined) return;
    const int = (k: string): number | undefined => {
      const v = kv.get(k);
      return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
    };
    info.vendor = kv.get('vendor_id');
    info.modelName = kv.get('model name');
    info.family = int('cpu family');
    info.model = int('model');
    info.stepping = int('stepping');
    info.microcode = kv.get('microcode');
    info.flags = new Set((kv.get('flags') ?? '').split(/\s+/).filter(Boolean));
    info.vmxFlags = new Set((kv.get('vmx flags') ?? '').split(/\s+/).filter(Boolean));
  });
  if (coreKeys.size) info.cores = coreKeys.size;
  if (sockets.size) info.sockets = sockets.size;
  return info;
}

/** Module parameters print Y/N (kvm_intel), 1/0 (kvm_amd) or words; undefined when not a boolean. */
export function parseBool(v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  const s = v.trim().toLowerCase();
  if (['y', 'yes', '1', 'on', 'true', 'enabled'].includes(s)) return true;
  if (['n', 'no', '0', 'off', 'false', 'disabled'].includes(s)) return false;
  return undefined;
}

/** The bracketed choice of a sysfs selector like `always [madvise] never`. */
export function selected(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const m = /\[([^\]]+)\]/.exec(v);
  return m ? m[1] : v.trim();
}

/** /proc/meminfo as numbers (kB for sizes, plain counts for HugePages_*). */
export function parseMeminfo(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^(\S+):\s+(\d+)/.exec(line);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

export interface KernelModule {
  name: string;
  /** `loaded` (a loadable module, initstate live) or `builtin` (compiled into the kernel). */
  state: 'loaded' | 'builtin' | 'coming' | 'going';
  params: Record<string, string>;
}

export interface KernelLog {
  readable: boolean;
  source: string;
  /** Lines that matter to virtualization (RELEVANT_LOG: kvm, vmx/svm, BIOS, hypervisor, SEV/TDX, IOMMU). */
  lines: string[];
  error?: string;
}

export interface QemuInfo {
  found: boolean;
  binary: string;
  version?: string;
  versionLine?: string;
  accels?: string[];
  error?: string;
}

export interface Virtualization {
  virtualized: boolean;
  /** Human label, e.g. `PVM`, `KVM`, `QEMU`, `VMware`, `Microsoft Hyper-V`. */
  kind?: string;
  evidence: string[];
}

export interface ContainerInfo {
  container: boolean;
  kind?: string;
  evidence: string[];
}

export const QEMU_BINARY = 'qemu-system-x86_64';
/**
 * Kernel log lines that matter to virtualization: KVM and VT-x/AMD-V, the hypervisor we run
 * under, confidential-VM hardware and firmware (SEV, SNP, the AMD Secure Processor, TDX,
 * TME, memory encryption) and the IOMMU. Host snapshots keep only these lines.
 */
export const RELEVANT_LOG =
  /kvm|vmx|svm|disabled by bios|virtualization|hypervisor|pvm|vt-x|amd-v|txt|\bsev\b|sev-|\bsnp\b|\bsme\b|tdx|\btme\b|mktme|\bccp\b|\bpsp\b|memory encryption|\brmp\b|iommu|dmar|amd-vi/i;

/** Modules whose presence and parameters matter to KVM and virtio I/O. */
export const WATCHED_MODULES = ['kvm', 'kvm_intel', 'kvm_amd', 'kvm_pvm', 'vhost', 'vhost_net', 'vhost_vsock', 'vfio_pci', 'msr'];

export class HostFacts {
  private readonly memo = new Map<string, unknown>();
  constructor(readonly reader: HostReader) {}

  private once<T>(key: string, f: () => T): T {
    if (!this.memo.has(key)) this.memo.set(key, f());
    return this.memo.get(key) as T;
  }

  cpu(): Promise<CpuInfo> {
    return this.once('cpu', async () => parseCpuinfo((await this.reader.readText('/proc/cpuinfo')) ?? ''));
  }

  probe(): KvmProbeResult {
    return this.once('probe', () => this.reader.probeKvm());
  }

  /** kvm* modules (any vendor, e.g. kvm_pvm, kvm_hygon) plus WATCHED_MODULES, with parameters. */
  modules(): Promise<KernelModule[]> {
    return this.once('modules', async () => {
      const all = (await this.reader.readdir('/sys/module')) ?? [];
      const names = all.filter((n) => /^kvm/.test(n) || WATCHED_MODULES.includes(n));
      return Promise.all(
        names.map(async (name): Promise<KernelModule> => {
          const base = `/sys/module/${name}`;
          const init = (await this.reader.readText(`${base}/initstate`))?.trim();
          const paramNames = (await this.reader.readdir(`${base}/parameters`)) ?? [];
          const values = await Promise.all(paramNames.map((p) => this.reader.readText(`${base}/parameters/${p}`)));
          const params: Record<string, string> = {};
          paramNames.forEach((p, i) => {
            if (values[i] !== undefined) params[p] = values[i]!.trim();
          });
          const state = init === undefined ? 'builtin' : init === 'live' ? 'loaded' : (init as KernelModule['state']);
          return { name, state, params };
        }),
      );
    });
  }

  async module(name: string): Promise<KernelModule | undefined> {
    return (await this.modules()).find((m) => m.name === name);
  }

  kernelLog(): Promise<KernelLog> {
    return this.once('kernelLog', async () => {
      const r = await this.reader.run(['dmesg'], { timeoutMs: 1500 });
      if (r.exitCode === 0) {
        return { readable: true, source: 'dmesg', lines: r.stdout.split('\n').filter((l) => RELEVANT_LOG.test(l)) };
      }
      const error = r.notFound
        ? 'dmesg not installed'
        : r.timedOut
          ? 'dmesg timed out'
          : (r.stderr.trim().split('\n')[0] ?? `exit ${r.exitCode}`);
      return { readable: false, source: 'dmesg', lines: [], error };
    });
  }

  qemu(): Promise<QemuInfo> {
    return this.once('qemu', async () => {
      // Two short runs in parallel, each with its own deadline so a wedged binary cannot stall the
      // doctor. (`-L help` would name the firmware directories too, but costs a third QEMU start
      // on every doctor run; the firmware check searches the standard directories instead.)
      const [ver, accel] = await Promise.all([
        this.reader.run([QEMU_BINARY, '--version'], { timeoutMs: 2000 }),
        this.reader.run([QEMU_BINARY, '-accel', 'help'], { timeoutMs: 2000 }),
      ]);
      if (ver.notFound) return { found: false, binary: QEMU_BINARY, error: 'not found on PATH' };
      const info: QemuInfo = { found: ver.exitCode === 0, binary: QEMU_BINARY };
      const line = ver.stdout.split('\n')[0]?.trim();
      if (line) info.versionLine = line;
      const m = /version\s+(\d+\.\d+(?:\.\d+)?)/i.exec(ver.stdout);
      if (m) info.version = m[1];
      if (ver.exitCode !== 0) info.error = ver.timedOut ? '--version timed out' : ver.stderr.trim() || `exit ${ver.exitCode}`;
      if (accel.exitCode === 0) {
        info.accels = accel.stdout
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => l && !/:$/.test(l));
      }
      return info;
    });
  }

  /** Are we a guest ourselves? The cpuinfo hypervisor flag, DMI strings, /sys/hypervisor, the boot log. */
  virtualization(): Promise<Virtualization> {
    return this.once('virt', async () => {
      const cpu = await this.cpu();
      const evidence: string[] = [];
      let kind: string | undefined;
      if (cpu.flags.has('hypervisor')) evidence.push('/proc/cpuinfo flags include `hypervisor`');
      const [sysVendor, product, hvType] = await Promise.all([
        this.reader.readText('/sys/class/dmi/id/sys_vendor'),
        this.reader.readText('/sys/class/dmi/id/product_name'),
        this.reader.readText('/sys/hypervisor/type'),
      ]);
      const dmi = `${sysVendor?.trim() ?? ''} ${product?.trim() ?? ''}`.trim();
      const dmiKinds: Array<[RegExp, string]> = [
        [/QEMU/i, 'QEMU'],
        [/KVM/i, 'KVM'],
        [/VMware/i, 'VMware'],
        [/VirtualBox|innotek/i, 'VirtualBox'],
        [/Microsoft Corporation.*Virtual Machine/i, 'Microsoft Hyper-V'],
        [/Xen/i, 'Xen'],
        [/Amazon EC2/i, 'Amazon EC2'],
        [/Google Compute Engine/i, 'Google Compute Engine'],
        [/Parallels/i, 'Parallels'],
        [/Cloud Hypervisor/i, 'Cloud Hypervisor'],
        [/Firecracker/i, 'Firecracker'],
      ];
      // The kernel names the hypervisor it detected; DMI strings may name a product instead.
      const log = await this.kernelLog();
      const detected = log.lines.map((l) => /Hypervisor detected:\s*(.+)$/.exec(l)).find(Boolean);
      if (detected) {
        kind ??= detected[1]!.trim();
        evidence.push(`kernel log: Hypervisor detected: ${detected[1]!.trim()}`);
      }
      for (const [re, k] of dmiKinds) {
        if (re.test(dmi)) {
          kind ??= k;
          evidence.push(`DMI: ${dmi}`);
          break;
        }
      }
      if (hvType?.trim()) {
        kind ??= hvType.trim();
        evidence.push(`/sys/hypervisor/type = ${hvType.trim()}`);
      }
      return { virtualized: evidence.length > 0, ...(kind ? { kind } : {}), evidence };
    });
  }

  container(): Promise<ContainerInfo> {
    return this.once('container', async () => {
      const evidence: string[] = [];
      let kind: string | undefined;
      const env = this.reader.identity().env;
      if (env.container) {
        kind = env.container;
        evidence.push(`environment container=${env.container}`);
      }
      if (env.KUBERNETES_SERVICE_HOST) {
        kind ??= 'kubernetes';
        evidence.push('environment KUBERNETES_SERVICE_HOST is set');
      }
      if (await this.reader.exists('/.dockerenv')) {
        kind ??= 'docker';
        evidence.push('/.dockerenv exists');
      }
      if (await this.reader.exists('/run/.containerenv')) {
        kind ??= 'podman';
        evidence.push('/run/.containerenv exists');
      }
      const cg = (await this.reader.readText('/proc/1/cgroup')) ?? '';
      const m = /(docker|kubepods|lxc|libpod|containerd)/.exec(cg);
      if (m) {
        kind ??= m[1];
        evidence.push(`/proc/1/cgroup mentions ${m[1]}`);
      }
      return { container: evidence.length > 0, ...(kind ? { kind } : {}), evidence };
    });
  }

  wsl(): Promise<{ wsl: boolean; evidence: string[] }> {
    return this.once('wsl', async () => {
      const evidence: string[] = [];
      const version = (await this.reader.readText('/proc/version')) ?? '';
      if (/microsoft|WSL/i.test(version)) evidence.push(`/proc/version: ${version.trim().slice(0, 120)}`);
      const env = this.reader.identity().env;
      if (env.WSL_DISTRO_NAME) evidence.push(`environment WSL_DISTRO_NAME=${env.WSL_DISTRO_NAME}`);
      return { wsl: evidence.length > 0, evidence };
    });
  }

  /** Group name for a gid, from /etc/group. */
  groupName(gid: number): Promise<string | undefined> {
    return this.once(`group:${gid}`, async () => {
      const text = (await this.reader.readText('/etc/group')) ?? '';
      for (const line of text.split('\n')) {
        const [name, , id] = line.split(':');
        if (name && Number(id) === gid) return name;
      }
      return undefined;
    });
  }

  /** The gid of a named group, from /etc/group. */
  groupId(name: string): Promise<number | undefined> {
    return this.once(`gid:${name}`, async () => {
      const text = (await this.reader.readText('/etc/group')) ?? '';
      for (const line of text.split('\n')) {
        const [n, , id] = line.split(':');
        if (n === name && id !== undefined && /^\d+$/.test(id)) return Number(id);
      }
      return undefined;
    });
  }

  /** First line of each file in a directory (e.g. CPU vulnerabilities), by entry name. */
  readDirValues(dir: string): Promise<Record<string, string>> {
    return this.once(`dirvals:${dir}`, async () => {
      const names = (await this.reader.readdir(dir)) ?? [];
      const vals = await Promise.all(names.map((n) => this.reader.readText(`${dir}/${n}`)));
      const out: Record<string, string> = {};
      names.forEach((n, i) => {
        const v = vals[i]?.trim();
        if (v !== undefined) out[n] = v;
      });
      return out;
    });
  }

  /** scaling_governor of every CPU that has cpufreq, by CPU name. */
  governors(): Promise<Record<string, string>> {
    return this.once('governors', async () => {
      const cpus = ((await this.reader.readdir('/sys/devices/system/cpu')) ?? []).filter((n) => /^cpu\d+$/.test(n));
      const vals = await Promise.all(
        cpus.map((c) => this.reader.readText(`/sys/devices/system/cpu/${c}/cpufreq/scaling_governor`)),
      );
      const out: Record<string, string> = {};
      cpus.forEach((c, i) => {
        if (vals[i] !== undefined) out[c] = vals[i]!.trim();
      });
      return out;
    });
  }
}

const factsByReader = new WeakMap<HostReader, HostFacts>();

/** The memoized facts of a reader: the doctor and the fingerprint share one instance. */
export function hostFacts(reader: HostReader): HostFacts {
  let f = factsByReader.get(reader);
  if (!f) {
    f = new HostFacts(reader);
    factsByReader.set(reader, f);
  }
  return f;
}

export interface VendorInfo {
  /** Short name: Intel, AMD, Hygon, Zhaoxin. */
  name: string;
  /** The cpuinfo flag of its hardware virtualization. */
  flag: 'vmx' | 'svm';
  tech: string;
  /** The KVM vendor module for it. */
  module: 'kvm_intel' | 'kvm_amd';
  /** Firmware menu wording people will find. */
  biosSetting: string;
}

/** What a `vendor_id` means for KVM; undefined for non-x86 or unknown vendors. */
export function vendorInfo(vendorId: string | undefined): VendorInfo | undefined {
  switch (vendorId) {
    case 'GenuineIntel':
      return {
        name: 'Intel',
        flag: 'vmx',
        tech: 'VT-x',
        module: 'kvm_intel',
        biosSetting: 'Intel Virtualization Technology (VT-x)',
      };
    case 'AuthenticAMD':
      return { name: 'AMD', flag: 'svm', tech: 'AMD-V', module: 'kvm_amd', biosSetting: 'SVM Mode (AMD-V)' };
    case 'HygonGenuine':
      return { name: 'Hygon', flag: 'svm', tech: 'AMD-V', module: 'kvm_amd', biosSetting: 'SVM Mode' };
    case 'CentaurHauls':
    case '  Shanghai  ':
    case 'Shanghai':
      return { name: 'Zhaoxin', flag: 'vmx', tech: 'VT-x', module: 'kvm_intel', biosSetting: 'Virtualization Technology (VT-x)' };
    default:
      return undefined;
  }
}
