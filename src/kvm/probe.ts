/**
 * The functional KVM probe: does what a VMM does first (open /dev/kvm read-write,
 * KVM_GET_API_VERSION, KVM_CREATE_VM, KVM_CHECK_EXTENSION) and reports exactly where it
 * stopped. CPU flags cannot answer "can I run a guest here" (nested/paravirtualized hosts
 * have no vmx flag yet work; containers have the flag and a node yet are denied); this can.
 *
 * Calls libc through koffi so no C compiler is needed at run time. Synchronous on purpose:
 * accelerator selection calls it inline, and the whole probe takes well under a millisecond.
 */
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';
import { KVM } from './abi.js';

export type KvmProbeStage = 'open' | 'api-version' | 'create-vm' | 'ok' | 'ffi-unavailable';

export interface KvmProbeResult {
  usable: boolean;
  device: string;
  /** Where the probe stopped; `ok` when a VM was created. */
  stage: KvmProbeStage;
  /** Symbolic errno of the failing call, e.g. `EACCES`. */
  errno?: string;
  apiVersion?: number;
  /** KVM_CHECK_EXTENSION answers by capability name (see KVM_CAPABILITIES); empty unless the device opened. */
  capabilities: Record<string, number>;
  reason?: string;
  fix?: string;
  elapsedMs?: number;
}

export const KVM_DEVICE = '/dev/kvm';

/**
 * The device the probe opens: /dev/kvm, or `KVMBENCH_KVM_DEVICE` when set. Tests point it at
 * a path that does not exist to run kvmbench end to end as on a host without KVM (the probe
 * fails with ENOENT, `auto` picks TCG, `--accel kvm` exits 3), on a host that has KVM.
 */
export function kvmDevice(env: NodeJS.ProcessEnv = process.env): string {
  return env.KVMBENCH_KVM_DEVICE || KVM_DEVICE;
}
export const KVM_API_VERSION = 12;

// ioctl numbers from <linux/kvm.h> (src/kvm/abi.ts, checked against the header in its tests).
const KVM_GET_API_VERSION = KVM.GET_API_VERSION;
const KVM_CREATE_VM = KVM.CREATE_VM;
const KVM_CHECK_EXTENSION = KVM.CHECK_EXTENSION;
const O_RDWR = 0o2;
const O_CLOEXEC = 0o2000000;

export interface KvmCapability {
  name: string;
  /** KVM_CAP_* number from <linux/kvm.h>. */
  nr: number;
  meaning: string;
  /** `vmm`: without it no VMM can run a guest; `qemu`: QEMU refuses to start without it. */
  needed?: 'vmm' | 'qemu';
}

/**
 * The capabilities QEMU and lean VMMs (Firecracker, Cloud Hypervisor, kvmtool) check at
 * start-up, each with what it buys. Numbers are ABI and never change.
 */
export const KVM_CAPABILITIES: readonly KvmCapability[] = [
  { name: 'USER_MEMORY', nr: 3, meaning: 'guest RAM is ordinary user memory (KVM_SET_USER_MEMORY_REGION)', needed: 'vmm' },
  { name: 'IRQCHIP', nr: 0, meaning: 'in-kernel PIC/IOAPIC/LAPIC emulation, so interrupts need no exit to user space' },
  { name: 'HLT', nr: 1, meaning: 'guest HLT is handled in the kernel (idle vCPUs sleep without a user-space exit)' },
  { name: 'NR_VCPUS', nr: 9, meaning: 'recommended maximum vCPUs per VM' },
  { name: 'MAX_VCPUS', nr: 66, meaning: 'hard maximum vCPUs per VM' },
  { name: 'MAX_VCPU_ID', nr: 128, meaning: 'largest vCPU (APIC) id allowed' },
  { name: 'NR_MEMSLOTS', nr: 10, meaning: 'number of guest memory slots per address space' },
  { name: 'EXT_CPUID', nr: 7, meaning: 'KVM_SET_CPUID2: the VMM defines the CPUID the guest sees', needed: 'qemu' },
  { name: 'SET_TSS_ADDR', nr: 4, meaning: 'VMM can place the real-mode TSS (needed to boot x86 guests on VMX)', needed: 'qemu' },
  { name: 'SET_IDENTITY_MAP_ADDR', nr: 37, meaning: 'VMM can place the EPT identity map page for real mode' },
  { name: 'MP_STATE', nr: 14, meaning: 'vCPU run state (halted, waiting for SIPI) can be read and set', needed: 'qemu' },
  { name: 'VCPU_EVENTS', nr: 41, meaning: 'pending exceptions/NMIs/interrupts can be saved and restored', needed: 'qemu' },
  { name: 'XSAVE', nr: 55, meaning: 'extended FPU/AVX state can be saved and restored' },
  { name: 'XCRS', nr: 56, meaning: 'XCR0 can be saved and restored' },
  { name: 'DEBUGREGS', nr: 50, meaning: 'guest debug registers can be saved and restored' },
  { name: 'ADJUST_CLOCK', nr: 39, meaning: 'kvmclock can be read and set (migration, snapshots)' },
  { name: 'X2APIC_API', nr: 129, meaning: 'x2APIC ids above 255 and in-kernel x2APIC (bit flags)' },
  { name: 'TSC_CONTROL', nr: 60, meaning: 'guest TSC frequency can be scaled by hardware' },
  { name: 'GET_TSC_KHZ', nr: 61, meaning: 'VMM can read the guest TSC frequency' },
  { name: 'TSC_DEADLINE_TIMER', nr: 72, meaning: 'LAPIC TSC-deadline timer is emulated' },
  { name: 'KVMCLOCK_CTRL', nr: 76, meaning: 'VMM can tell the guest it was paused (avoids soft-lockup warnings)' },
  { name: 'IMMEDIATE_EXIT', nr: 136, meaning: 'KVM_RUN can be interrupted without signals (clean vCPU kicks)' },
  {
    name: 'IOEVENTFD',
    nr: 36,
    meaning: 'guest MMIO/PIO writes signal an eventfd in the kernel (virtio doorbells without a user-space exit)',
    needed: 'qemu',
  },
  { name: 'IRQFD', nr: 32, meaning: 'an eventfd injects a guest interrupt (vhost, VFIO, lean VMM device threads)' },
  { name: 'IRQFD_RESAMPLE', nr: 82, meaning: 'level-triggered interrupts through irqfd (VFIO INTx)' },
  { name: 'SIGNAL_MSI', nr: 77, meaning: 'MSIs can be injected directly (virtio-pci with MSI-X)', needed: 'qemu' },
  { name: 'IRQ_ROUTING', nr: 25, meaning: 'GSI routing table for the in-kernel irqchip', needed: 'qemu' },
  { name: 'PIT2', nr: 33, meaning: 'in-kernel i8254 PIT (second version of the API)' },
  { name: 'PIT_STATE2', nr: 35, meaning: 'PIT state can be saved and restored' },
  { name: 'SPLIT_IRQCHIP', nr: 121, meaning: 'LAPIC in the kernel, PIC/IOAPIC in user space (q35 kernel-irqchip=split)' },
  { name: 'SYNC_MMU', nr: 16, meaning: 'guest memory follows host mm changes (swap, KSM, THP migration)' },
  { name: 'READONLY_MEM', nr: 81, meaning: 'read-only memory slots (flash/ROM images such as OVMF)' },
  { name: 'COALESCED_MMIO', nr: 15, meaning: 'batched MMIO writes to a ring instead of one exit each' },
  { name: 'COALESCED_PIO', nr: 162, meaning: 'batched port I/O writes to a ring instead of one exit each' },
  { name: 'X86_DISABLE_EXITS', nr: 143, meaning: 'HLT/MWAIT/PAUSE exits can be turned off for dedicated cores (bit flags)' },
  { name: 'NESTED_STATE', nr: 157, meaning: 'nested guest state can be saved (non-zero: size of the state buffer)' },
  { name: 'GET_MSR_FEATURES', nr: 153, meaning: 'VMM can read which VMX/ARCH_CAPABILITIES MSR features KVM supports' },
  { name: 'X86_USER_SPACE_MSR', nr: 188, meaning: 'unhandled MSR accesses can exit to the VMM' },
  { name: 'X86_MSR_FILTER', nr: 189, meaning: 'VMM can filter which MSRs the guest may touch' },
  { name: 'MANUAL_DIRTY_LOG_PROTECT2', nr: 168, meaning: 'dirty logging with manual re-protection (faster live migration)' },
  { name: 'DIRTY_LOG_RING', nr: 192, meaning: 'per-vCPU dirty page ring (non-zero: ring size in bytes)' },
  { name: 'HALT_POLL', nr: 182, meaning: 'halt polling can be tuned per VM' },
  { name: 'X86_SMM', nr: 117, meaning: 'System Management Mode (needed by OVMF secure boot builds)' },
  { name: 'HYPERV_CPUID', nr: 167, meaning: 'Hyper-V enlightenments for Windows guests' },
  { name: 'PMU_EVENT_FILTER', nr: 173, meaning: 'VMM can restrict guest PMU events' },
  { name: 'ENABLE_CAP_VM', nr: 98, meaning: 'per-VM capabilities can be enabled' },
  { name: 'CHECK_EXTENSION_VM', nr: 105, meaning: 'capabilities can be checked on a VM fd (per-VM answers)' },
  { name: 'SET_BOOT_CPU_ID', nr: 34, meaning: 'the bootstrap processor can be chosen' },
  { name: 'USER_NMI', nr: 22, meaning: 'VMM can inject NMIs' },
  { name: 'SET_GUEST_DEBUG', nr: 23, meaning: 'single-step and breakpoints for the gdb stub' },
  { name: 'INTERNAL_ERROR_DATA', nr: 40, meaning: 'KVM reports details on internal errors' },
  { name: 'SYNC_REGS', nr: 74, meaning: 'registers shared through kvm_run (fewer ioctls per exit)' },
];

/** errno number → symbolic name (Linux), from Node's own table so it matches the platform. */
const ERRNO_NAMES: Map<number, string> = new Map(
  Object.entries(osConstants.errno).map(([name, nr]) => [nr, name] as [number, string]),
);
export function errnoName(nr: number): string {
  return ERRNO_NAMES.get(nr) ?? `errno ${nr}`;
}

/**
 * The reason and fix for a probe that stopped at `stage` with `errno`. Pure, so fixture
 * hosts (which record only stage and errno) get the same explanations as the live probe.
 */
export function explainProbe(
  stage: KvmProbeStage,
  errno: string | undefined,
  device: string = KVM_DEVICE,
  apiVersion?: number,
): { reason?: string; fix?: string } {
  if (stage === 'ok') return {};
  if (stage === 'ffi-unavailable') {
    return {
      reason: `cannot call libc from Node to probe ${device} (koffi did not load)`,
      fix: 'reinstall dependencies (`npm ci`) on this platform; koffi ships prebuilt binaries for linux x64/arm64',
    };
  }
  if (stage === 'open') {
    switch (errno) {
      case 'ENOENT':
        return {
          reason: `${device} does not exist: no KVM module is bound on this host (no hardware virtualization, disabled in the BIOS, or this is a VM without nested virtualization)`,
          fix: 'on bare metal: enable VT-x/AMD-V in the firmware setup and `sudo modprobe kvm_intel` (or kvm_amd); in a VM: enable nested virtualization on the outer host (e.g. `kvm_intel nested=1` and `-cpu host`); in a container: pass the device (`--device /dev/kvm`)',
        };
      case 'EACCES':
        return {
          reason: `permission denied opening ${device} read-write: this user is not allowed by the node's owner/group/mode`,
          fix: 'add the user to the kvm group (`sudo usermod -aG kvm $USER`, then log in again) and make sure a udev rule gives the node to it (`KERNEL=="kvm", GROUP="kvm", MODE="0660"`, then `sudo udevadm trigger`); in a container, run with the kvm group id (`--group-add $(getent group kvm | cut -d: -f3)`)',
        };
      case 'EPERM':
        return {
          reason: `operation not permitted opening ${device}: the node exists but a device cgroup, seccomp or LSM policy denies it (typical of containers)`,
          fix: 'run the container with the device allowed (`docker run --device /dev/kvm`, Kubernetes: a device plugin such as kubevirt/device-plugin-kvm or a privileged pod); on the host, check SELinux/AppArmor denials in the audit log',
        };
      case 'ENXIO':
      case 'ENODEV':
        return {
          reason: `${device} exists but no driver answers it (${errno}): the kvm module is loaded without its vendor module, or the node is stale`,
          fix: 'load the vendor module (`sudo modprobe kvm_intel` or `sudo modprobe kvm_amd`) and read `dmesg` for why it failed (often: virtualization disabled in the BIOS)',
        };
      case 'EROFS':
        return {
          reason: `${device} is on a read-only mount`,
          fix: 'mount /dev read-write or bind the device into the container writable',
        };
      case 'ENOTDIR':
      case 'EISDIR':
        return {
          reason: `${device} is not a device node (${errno})`,
          fix: `remove it and let udev recreate it (\`sudo rm -rf ${device} && sudo modprobe -r kvm_intel kvm_amd; sudo modprobe kvm_intel || sudo modprobe kvm_amd\`)`,
        };
      default:
        return {
          reason: `cannot open ${device} read-write (${errno ?? 'unknown error'})`,
          fix: `check \`ls -l ${device}\`, \`dmesg | grep -i kvm\` and that the kvm modules are loaded`,
        };
    }
  }
  if (stage === 'api-version') {
    if (errno) {
      return {
        reason: `KVM_GET_API_VERSION failed on ${device} (${errno}): the node is not the KVM device`,
        fix: `check \`ls -l ${device}\` (expected a character device 10:232) and reload the kvm modules`,
      };
    }
    return {
      reason: `KVM_GET_API_VERSION returned ${apiVersion}, expected ${KVM_API_VERSION}: this kernel's KVM ABI is not the stable one`,
      fix: 'use a mainline Linux kernel (2.6.22 or later speaks API 12)',
    };
  }
  // create-vm
  switch (errno) {
    case 'EBUSY':
      return {
        reason:
          'KVM_CREATE_VM failed with EBUSY: another hypervisor (VirtualBox, VMware, another KVM instance) holds VT-x/AMD-V on this CPU',
        fix: 'stop the other hypervisor (e.g. `sudo systemctl stop vboxdrv` / quit VMware) or unload its kernel module, then retry',
      };
    case 'ENOMEM':
      return {
        reason: 'KVM_CREATE_VM failed with ENOMEM: the kernel could not allocate a VM',
        fix: 'free memory or raise the memory cgroup limit of this session',
      };
    case 'EPERM':
    case 'EACCES':
      return {
        reason: `KVM_CREATE_VM was denied (${errno}): a seccomp or LSM policy forbids creating VMs`,
        fix: 'run without the seccomp profile that blocks KVM ioctls (containers: `--security-opt seccomp=unconfined` or a profile that allows ioctl on /dev/kvm)',
      };
    case 'EINVAL':
      return {
        reason: 'KVM_CREATE_VM rejected the default VM type (EINVAL)',
        fix: 'the kernel KVM module is unusual; read `dmesg | grep -i kvm`',
      };
    case 'EMFILE':
    case 'ENFILE':
      return { reason: `out of file descriptors (${errno})`, fix: 'raise `ulimit -n`' };
    default:
      return {
        reason: `KVM_CREATE_VM failed (${errno ?? 'unknown error'})`,
        fix: 'read `dmesg | grep -i kvm` for the kernel side of the failure',
      };
  }
}

/** libc through koffi, shared with the raw VMM (src/kvm/sys.ts), which binds what else it needs from `lib`. */
export interface Libc {
  koffi: typeof import('koffi');
  lib: import('koffi').LibraryHandle;
  open: (path: string, flags: number) => number;
  close: (fd: number) => number;
  ioctl: (fd: number, req: number, ...rest: unknown[]) => number;
  errno: () => number;
}

let libc: Libc | undefined;
let libcError: string | undefined;

/** Why libc could not be loaded through koffi, once loadLibc() returned undefined. */
export function libcLoadError(): string | undefined {
  return libcError;
}

/** Loaded lazily and once: a missing or broken koffi must become a probe result, not a crash at import. */
export function loadLibc(): Libc | undefined {
  if (libc || libcError) return libc;
  try {
    const require = createRequire(import.meta.url);
    const koffi = require('koffi') as typeof import('koffi');
    const lib = koffi.load('libc.so.6');
    const open = lib.func('int open(const char *path, int flags)') as (p: string, f: number) => number;
    const close = lib.func('int close(int fd)') as (fd: number) => number;
    const ioctl = lib.func('int ioctl(int fd, unsigned long req, ...)') as (
      fd: number,
      req: number,
      ...rest: unknown[]
    ) => number;
    const errnoLocation = lib.func('int *__errno_location(void)') as () => unknown;
    // Read errno straight after the failing call; nothing in between touches libc.
    const errno = (): number => koffi.decode(errnoLocation(), 'int') as number;
    libc = { koffi, lib, open, close, ioctl, errno };
  } catch (err) {
    libcError = err instanceof Error ? err.message : String(err);
  }
  return libc;
}

function result(
  device: string,
  stage: KvmProbeStage,
  t0: number,
  extra: Partial<KvmProbeResult> = {},
  detail?: string,
): KvmProbeResult {
  const r: KvmProbeResult = { usable: stage === 'ok', device, stage, capabilities: {}, ...extra };
  const why = explainProbe(stage, r.errno, device, r.apiVersion);
  if (why.reason) r.reason = detail ? `${why.reason}: ${detail}` : why.reason;
  if (why.fix) r.fix = why.fix;
  r.elapsedMs = Math.round((performance.now() - t0) * 1000) / 1000;
  return r;
}

/** Probe `device` (default /dev/kvm). Synchronous and never throws. */
export function probeKvm(device: string = kvmDevice()): KvmProbeResult {
  const t0 = performance.now();
  try {
    const c = loadLibc();
    if (!c) return result(device, 'ffi-unavailable', t0, {}, libcError);
    const fd = c.open(device, O_RDWR | O_CLOEXEC);
    if (fd < 0) return result(device, 'open', t0, { errno: errnoName(c.errno()) });
    try {
      const capabilities: Record<string, number> = {};
      // The kernel takes the third ioctl argument as unsigned long: pass all 64 bits, since
      // KVM_CREATE_VM rejects a machine type with stray upper bits (EINVAL).
      const api = c.ioctl(fd, KVM_GET_API_VERSION, 'unsigned long', 0);
      if (api < 0) return result(device, 'api-version', t0, { errno: errnoName(c.errno()) });
      if (api !== KVM_API_VERSION) return result(device, 'api-version', t0, { apiVersion: api });
      // Capabilities are asked on the system fd so they are known even when VM creation fails.
      for (const cap of KVM_CAPABILITIES) {
        const v = c.ioctl(fd, KVM_CHECK_EXTENSION, 'unsigned long', cap.nr);
        capabilities[cap.name] = v < 0 ? 0 : v;
      }
      const vm = c.ioctl(fd, KVM_CREATE_VM, 'unsigned long', 0);
      if (vm < 0) return result(device, 'create-vm', t0, { errno: errnoName(c.errno()), apiVersion: api, capabilities });
      c.close(vm);
      return result(device, 'ok', t0, { apiVersion: api, capabilities });
    } finally {
      c.close(fd);
    }
  } catch (err) {
    // koffi throws on type errors only; report it as an unusable FFI rather than crash a caller.
    return result(device, 'ffi-unavailable', t0, {}, err instanceof Error ? err.message : String(err));
  }
}
