/**
 * Profile `kvm`: can this user run KVM guests here? The functional probe decides; CPU
 * flags, firmware state and modules are read to explain a failure, and never turn a
 * working probe into a failure (paravirtualized and nested hosts have no vmx flag yet work).
 */
import { vendorInfo, type KernelModule } from '../../host/facts.js';
import { KVM_CAPABILITIES } from '../../kvm/probe.js';
import { describeFlavor, kvmFlavor } from '../../host/flavor.js';
import type { CheckContext, CheckDef } from '../types.js';
import { fail, pass, skip, warn } from './outcome.js';

const IA32_FEATURE_CONTROL = 0x3a;
const AMD_VM_CR = 0xc0010114;
/**
 * Kernel log lines that say the firmware disabled VT-x/AMD-V ("kvm: disabled by bios",
 * "VMX (outside TXT) disabled by BIOS", "SVM disabled (by BIOS)"); not other features the
 * firmware turned off, such as "x86/mktme: disabled by BIOS".
 */
const BIOS_LOG =
  /\b(?:kvm[\w-]*|vmx|svm):?[^\n]*disabled by bios|VMX \(outside TXT\) disabled|SVM (?:is )?disabled|virtualization disabled in (?:the )?bios/i;

function probeOpened(ctx: CheckContext): boolean {
  return ctx.probe.stage !== 'open' && ctx.probe.stage !== 'ffi-unavailable';
}

function probeLine(ctx: CheckContext): string {
  const p = ctx.probe;
  if (p.usable) return `probe: ${p.device} opened, API version ${p.apiVersion}, KVM_CREATE_VM succeeded`;
  return `probe: stopped at ${p.stage}${p.errno ? ` with ${p.errno}` : ''} on ${p.device}`;
}

/** Key parameters per module, so evidence stays readable; unknown modules show everything. */
const KEY_PARAMS: Record<string, string[]> = {
  kvm: ['halt_poll_ns', 'nx_huge_pages', 'tdp_mmu', 'enable_pmu', 'ignore_msrs'],
  kvm_intel: ['nested', 'ept', 'vpid', 'unrestricted_guest', 'enable_apicv', 'ple_gap', 'enable_shadow_vmcs'],
  kvm_amd: ['nested', 'npt', 'avic', 'sev', 'vls', 'vgif'],
};

export function moduleLine(m: KernelModule): string {
  const keys = KEY_PARAMS[m.name] ?? Object.keys(m.params).slice(0, 10);
  const params = keys
    .filter((k) => k in m.params)
    .map((k) => `${k}=${m.params[k]}`)
    .join(' ');
  return `/sys/module/${m.name}: ${m.state === 'builtin' ? 'built into the kernel' : m.state}${params ? `; ${params}` : ''}`;
}

export const cpuVendor: CheckDef = {
  id: 'kvm.cpu-vendor',
  title: 'CPU vendor (vendor_id)',
  profile: 'kvm',
  async run(ctx) {
    const cpu = await ctx.facts.cpu();
    const v = vendorInfo(cpu.vendor);
    const ev = [`/proc/cpuinfo vendor_id = ${cpu.vendor ?? '(absent)'}`, `model name = ${cpu.modelName ?? '(absent)'}`];
    if (!cpu.vendor) {
      return warn(
        [...ev, 'no vendor_id: not an x86 CPU or /proc/cpuinfo unreadable'],
        'kvmbench guests are x86-64; run on an x86-64 host (the probe still decides whether KVM works)',
      );
    }
    if (!v)
      return warn(
        [...ev, 'vendor not known to kvmbench'],
        'nothing to do if the probe passes; report the vendor_id so kvmbench learns it',
      );
    return pass([...ev, `${v.name}: hardware virtualization is ${v.tech} (flag \`${v.flag}\`, module ${v.module})`]);
  },
};

export const cpuFlags: CheckDef = {
  id: 'kvm.cpu-flags',
  title: 'Virtualization flags (vmx/svm, vmx flags)',
  profile: 'kvm',
  async run(ctx) {
    const cpu = await ctx.facts.cpu();
    const v = vendorInfo(cpu.vendor);
    const hasVmx = cpu.flags.has('vmx');
    const hasSvm = cpu.flags.has('svm');
    const ev = [
      `/proc/cpuinfo flags: vmx ${hasVmx ? 'present' : 'absent'}, svm ${hasSvm ? 'present' : 'absent'}, hypervisor ${cpu.flags.has('hypervisor') ? 'present' : 'absent'}`,
    ];
    if (cpu.vmxFlags.size) {
      const key = [
        'ept',
        'vpid',
        'unrestricted_guest',
        'ept_ad',
        'posted_intr',
        'apicv',
        'shadow_vmcs',
        'pml',
        'ple',
        'tsc_scaling',
      ];
      ev.push(`vmx flags: ${key.map((k) => `${k} ${cpu.vmxFlags.has(k) ? 'yes' : 'no'}`).join(', ')}`);
    }
    if (hasVmx || hasSvm) return pass(ev);
    const pvm = await ctx.facts.module('kvm_pvm');
    if (ctx.probe.usable) {
      return pass([
        ...ev,
        probeLine(ctx),
        `no ${v?.flag ?? 'vmx/svm'} flag, yet KVM works: ${pvm ? 'paravirtualized KVM (kvm_pvm)' : 'the hypervisor hides the flag'}; the probe decides, the flag does not`,
      ]);
    }
    if (pvm) {
      // kvm_pvm provides KVM without VT-x/AMD-V: a missing flag is not why the probe failed.
      return pass([
        ...ev,
        `no ${v?.flag ?? 'vmx/svm'} flag is needed: KVM here is paravirtualized (kvm_pvm), which runs guests without VT-x/AMD-V; ${probeLine(ctx)} (see kvm.dev-open for why)`,
      ]);
    }
    if (cpu.flags.has('hypervisor')) {
      return fail(
        [
          ...ev,
          'this host is itself a virtual machine and its hypervisor does not pass VT-x/AMD-V through (no nested virtualization)',
        ],
        'enable nested virtualization on the outer host (KVM: `options kvm_intel nested=1` or `kvm_amd nested=1` and `-cpu host`; clouds: an instance type with nested virtualization), or run on bare metal; until then kvmbench runs guests under TCG (`--accel tcg`)',
      );
    }
    if (v?.flag === 'vmx') {
      return fail(
        [...ev, 'since Linux 5.6 the kernel removes `vmx` from /proc/cpuinfo when the firmware disabled VT-x (see kvm.bios)'],
        `enable "${v.biosSetting}" in the firmware setup, power-cycle, then \`sudo modprobe ${v.module}\``,
      );
    }
    return fail(
      [...ev, 'the CPU reports no hardware virtualization'],
      `enable ${v ? `"${v.biosSetting}"` : 'hardware virtualization'} in the firmware setup if the CPU has it; otherwise use TCG (\`--accel tcg\`)`,
    );
  },
};

export const bios: CheckDef = {
  id: 'kvm.bios',
  title: 'Virtualization enabled in firmware (BIOS/UEFI)',
  profile: 'kvm',
  async run(ctx) {
    const cpu = await ctx.facts.cpu();
    const v = vendorInfo(cpu.vendor);
    const log = await ctx.facts.kernelLog();
    const ev: string[] = [];
    const biosLines = log.lines.filter((l) => BIOS_LOG.test(l));
    if (log.readable)
      ev.push(
        biosLines.length
          ? `kernel log (${log.source}): ${biosLines
              .slice(0, 3)
              .map((l) => l.trim())
              .join(' | ')}`
          : `kernel log (${log.source}): no "disabled by BIOS" message`,
      );
    else ev.push(`kernel log not readable (${log.error ?? 'denied'})`);

    let msrSays: 'enabled' | 'disabled' | undefined;
    const uid = ctx.reader.identity().uid;
    if (v && uid === 0) {
      const msrNr = v.flag === 'vmx' ? IA32_FEATURE_CONTROL : AMD_VM_CR;
      const val = await ctx.reader.readMsr(0, msrNr);
      if (val === undefined) {
        ev.push(
          `MSR 0x${msrNr.toString(16)} not readable (/dev/cpu/0/msr absent: \`modprobe msr\`, or the hypervisor refuses it)`,
        );
      } else if (v.flag === 'vmx') {
        const locked = (val & 1n) !== 0n;
        const vmxOutsideSmx = (val & 4n) !== 0n;
        msrSays = locked && !vmxOutsideSmx ? 'disabled' : 'enabled';
        ev.push(
          `MSR IA32_FEATURE_CONTROL (0x3a) = 0x${val.toString(16)}: lock ${locked ? 1 : 0}, VMX outside SMX ${vmxOutsideSmx ? 1 : 0}${locked ? '' : ' (unlocked: the kernel enables VMX itself)'}`,
        );
      } else {
        const svmdis = (val & 0x10n) !== 0n;
        msrSays = svmdis ? 'disabled' : 'enabled';
        ev.push(`MSR VM_CR (0xc0010114) = 0x${val.toString(16)}: SVMDIS ${svmdis ? 1 : 0}, LOCK ${(val & 8n) !== 0n ? 1 : 0}`);
      }
    } else if (uid !== 0) {
      ev.push('MSRs not read (needs root)');
    }

    if (ctx.probe.usable) return pass([...ev, `${probeLine(ctx)}: the firmware allows virtualization`]);
    const biosFix = `enter the firmware setup (reboot, usually Del/F2/F10), enable "${v?.biosSetting ?? 'hardware virtualization'}", save and power-cycle (a reboot is needed), then \`sudo modprobe ${v?.module ?? 'kvm_intel'}\``;
    if (biosLines.length || msrSays === 'disabled') return fail([...ev, 'virtualization is disabled in the firmware'], biosFix);
    if (cpu.flags.has('hypervisor')) {
      return skip(
        [...ev, 'this host is a virtual machine: the firmware setting belongs to the outer host'],
        'nothing to change in this VM; see kvm.cpu-flags for nested virtualization',
      );
    }
    if (msrSays === 'enabled') return pass(ev);
    const vendorMod = v ? await ctx.facts.module(v.module) : undefined;
    if (vendorMod?.state === 'loaded')
      return pass([...ev, `${vendorMod.name} is loaded, and it refuses to load when the firmware disables ${v!.tech}`]);
    const release = (await ctx.reader.readText('/proc/sys/kernel/osrelease'))?.trim() ?? '';
    const [maj = 0, min = 0] = release.split('.').map((x) => parseInt(x, 10));
    if (v?.flag === 'vmx' && cpu.flags.has('vmx') && (maj > 5 || (maj === 5 && min >= 6))) {
      return pass([
        ...ev,
        `\`vmx\` flag present on Linux ${release}: since 5.6 the kernel hides it when the firmware disabled VT-x`,
      ]);
    }
    if (log.readable && v && cpu.flags.has(v.flag)) return pass([...ev, `\`${v.flag}\` flag present and no firmware complaint`]);
    return warn(
      [...ev, 'cannot tell whether the firmware disabled virtualization'],
      'as root: `sudo dmesg | grep -i "disabled by bios"`, or `sudo modprobe msr` and rerun `sudo kvmbench doctor`',
    );
  },
};

export const modules: CheckDef = {
  id: 'kvm.modules',
  title: 'KVM kernel modules and parameters',
  profile: 'kvm',
  async run(ctx) {
    const cpu = await ctx.facts.cpu();
    const v = vendorInfo(cpu.vendor);
    const mods = (await ctx.facts.modules()).filter((m) => /^kvm/.test(m.name));
    const ev = mods.length ? mods.map(moduleLine) : ['/sys/module: no kvm module loaded or built in'];
    const kvm = mods.find((m) => m.name === 'kvm');
    const vendorMods = mods.filter((m) => m.name !== 'kvm');
    if (ctx.probe.usable) return pass([...ev, probeLine(ctx)]);
    const want = v?.module ?? 'kvm_intel';
    if (!kvm && !vendorMods.length) {
      return fail(
        ev,
        `\`sudo modprobe ${want}\` (loads kvm too); if it fails, \`sudo dmesg | tail\` says why (often: virtualization disabled in the firmware)`,
      );
    }
    if (!vendorMods.length) {
      return fail(
        [
          ...ev,
          `kvm is present but no vendor module (${want}) is: it refuses to load when ${v?.tech ?? 'VT-x/AMD-V'} is missing or disabled in the firmware`,
        ],
        `\`sudo modprobe ${want}\` and read \`sudo dmesg | tail\` for why it fails`,
      );
    }
    if (ctx.probe.stage === 'open' && ctx.probe.errno === 'ENOENT') {
      const names = vendorMods.map((m) => m.name).join(', ');
      const hint = vendorMods.some((m) => m.name === 'kvm_pvm')
        ? 'kvm_pvm registers /dev/kvm only when its own host offers PVM'
        : 'the vendor module did not finish initializing';
      return warn(
        [...ev, `${names} present, but no /dev/kvm: ${hint}`],
        'see kvm.dev-open; `sudo dmesg | grep -i kvm` shows why the module did not register the device',
      );
    }
    return pass(ev);
  },
};

async function devEvidence(ctx: CheckContext): Promise<string[]> {
  const p = ctx.probe;
  const st = await ctx.reader.stat(p.device);
  const ev: string[] = [];
  if (st) {
    const group = await ctx.facts.groupName(st.gid);
    const owner = st.uid === 0 ? 'root' : String(st.uid);
    ev.push(
      `${p.device}: ${st.type === 'char' ? 'character device' : st.type}${st.rdev ? ` ${st.rdev}` : ''}, mode 0${st.mode.toString(8)}, owner ${owner}, group ${group ?? st.gid}`,
    );
  } else {
    ev.push(`${p.device}: does not exist`);
  }
  ev.push(
    `open(${p.device}, O_RDWR|O_CLOEXEC) → ${p.stage === 'open' ? (p.errno ?? 'failed') : p.stage === 'ffi-unavailable' ? 'not attempted (no FFI)' : 'ok'}`,
  );
  const id = ctx.reader.identity();
  ev.push(`user ${id.user ?? id.uid} (uid ${id.uid}, gid ${id.gid}, groups ${id.groups.join(',') || 'none'})`);
  return ev;
}

export const devOpen: CheckDef = {
  id: 'kvm.dev-open',
  title: 'Open /dev/kvm read-write',
  profile: 'kvm',
  async run(ctx) {
    const p = ctx.probe;
    const ev = await devEvidence(ctx);
    if (probeOpened(ctx)) return pass(ev);
    ev.push(`reason: ${p.reason ?? 'unknown'}`);
    if (p.stage === 'ffi-unavailable') return fail(ev, p.fix ?? 'reinstall kvmbench');
    if (p.errno === 'ENOENT') {
      const r = ctx.results;
      const cpu = await ctx.facts.cpu();
      if (r.get('kvm.bios')?.status === 'fail') return fail(ev, r.get('kvm.bios')!.fix!);
      if (cpu.flags.has('hypervisor') && r.get('kvm.cpu-flags')?.status === 'fail') {
        return fail(
          [...ev, 'this host is a VM without nested virtualization, so no KVM device can exist here'],
          r.get('kvm.cpu-flags')!.fix!,
        );
      }
      if (r.get('kvm.modules')?.status === 'fail') return fail(ev, r.get('kvm.modules')!.fix!);
      if (await ctx.facts.module('kvm_pvm')) {
        return fail(
          [...ev, 'kvm_pvm is present but registered no /dev/kvm: it does so only when its own host offers PVM'],
          'ask the provider of this VM for PVM (or nested VT-x/AMD-V) support on the outer host, then reload kvm_pvm (or reboot); until then kvmbench runs guests under TCG (`--accel tcg`)',
        );
      }
      return fail(ev, p.fix ?? 'load the kvm modules');
    }
    if (p.errno === 'EACCES') {
      const st = await ctx.reader.stat(p.device);
      const id = ctx.reader.identity();
      const kvmGid = await ctx.facts.groupId('kvm');
      const group = st ? await ctx.facts.groupName(st.gid) : undefined;
      const user = id.user ?? '$USER';
      if (st && st.gid !== 0 && (st.mode & 0o060) === 0o060 && !id.groups.includes(st.gid)) {
        const c = await ctx.facts.container();
        const why = [...ev, `${p.device} is open to group ${group ?? st.gid}, and this user is not in it`];
        // Inside a container the node's gid is the host's; the image may not even name it.
        if (c.container) {
          return fail(
            [...why, `inside a container (${c.kind ?? 'unknown runtime'})`],
            `start the container with the host's kvm group: \`--group-add ${st.gid}\` (docker/podman; Kubernetes: \`securityContext.supplementalGroups: [${st.gid}]\`), or run it as root`,
          );
        }
        return fail(
          why,
          `\`sudo usermod -aG ${group ?? 'kvm'} ${user}\`, then log out and in again (or \`newgrp ${group ?? 'kvm'}\`)`,
        );
      }
      if (st && (st.mode & 0o066) === 0) {
        return fail(
          [...ev, `${p.device} is mode 0${st.mode.toString(8)}: only its owner may open it`],
          `add a udev rule giving it to the kvm group: \`echo 'KERNEL=="kvm", GROUP="kvm", MODE="0660"' | sudo tee /etc/udev/rules.d/65-kvm.rules && sudo udevadm control --reload && sudo udevadm trigger --name-match=kvm\`, then \`sudo usermod -aG kvm ${user}\`${kvmGid === undefined ? ' (create the group first: `sudo groupadd -r kvm`)' : ''} and log in again`,
        );
      }
      return fail(ev, p.fix ?? 'fix the permissions of /dev/kvm');
    }
    if (p.errno === 'EPERM') {
      const c = await ctx.facts.container();
      return fail(
        [...ev, ...(c.container ? [`inside a container (${c.kind ?? 'unknown runtime'}): ${c.evidence.join('; ')}`] : [])],
        p.fix ?? 'allow /dev/kvm in the device cgroup',
      );
    }
    return fail(ev, p.fix ?? 'see the reason');
  },
};

export const apiVersion: CheckDef = {
  id: 'kvm.api-version',
  title: 'KVM_GET_API_VERSION = 12',
  profile: 'kvm',
  run(ctx) {
    const p = ctx.probe;
    if (!probeOpened(ctx)) return skip([`not reached: ${p.device} did not open`], 'resolve kvm.dev-open first');
    if (p.stage === 'api-version')
      return fail([`ioctl(KVM_GET_API_VERSION) → ${p.errno ?? p.apiVersion}`, `reason: ${p.reason}`], p.fix ?? '');
    return pass([`ioctl(KVM_GET_API_VERSION) → ${p.apiVersion}`]);
  },
};

export const createVm: CheckDef = {
  id: 'kvm.create-vm',
  title: 'KVM_CREATE_VM',
  profile: 'kvm',
  run(ctx) {
    const p = ctx.probe;
    if (!probeOpened(ctx) || p.stage === 'api-version')
      return skip(
        [`not reached: probe stopped at ${p.stage}`],
        `resolve ${p.stage === 'api-version' ? 'kvm.api-version' : 'kvm.dev-open'} first`,
      );
    if (p.stage === 'create-vm')
      return fail([`ioctl(KVM_CREATE_VM) → ${p.errno ?? 'failed'}`, `reason: ${p.reason}`], p.fix ?? '');
    return pass([`ioctl(KVM_CREATE_VM) → a VM file descriptor (closed again); whole probe ${p.elapsedMs ?? '?'} ms`]);
  },
};

export const capabilities: CheckDef = {
  id: 'kvm.capabilities',
  title: 'KVM_CHECK_EXTENSION: capabilities VMMs rely on',
  profile: 'kvm',
  run(ctx) {
    const p = ctx.probe;
    if (!Object.keys(p.capabilities).length)
      return skip([`not reached: probe stopped at ${p.stage}`], 'resolve the failing kvm.* check above first');
    const ev = [KVM_CAPABILITIES.map((c) => `${c.name}=${p.capabilities[c.name] ?? '?'}`).join(' ')];
    const missingVmm = KVM_CAPABILITIES.filter((c) => c.needed === 'vmm' && !p.capabilities[c.name]);
    const missingQemu = KVM_CAPABILITIES.filter((c) => c.needed === 'qemu' && !p.capabilities[c.name]);
    const list = (cs: typeof KVM_CAPABILITIES): string => cs.map((c) => `${c.name} (${c.meaning})`).join('; ');
    if (missingVmm.length)
      return fail([...ev, `missing: ${list(missingVmm)}`], 'this KVM cannot run any guest; use a current mainline kernel');
    if (missingQemu.length)
      return warn(
        [...ev, `missing what QEMU needs: ${list(missingQemu)}`],
        'QEMU may refuse `-accel kvm`; lean VMMs may still work. A newer kernel usually adds these',
      );
    const notes = [
      `vCPUs per VM: recommended ${p.capabilities.NR_VCPUS}, max ${p.capabilities.MAX_VCPUS}; memory slots ${p.capabilities.NR_MEMSLOTS}`,
    ];
    if (!p.capabilities.IRQCHIP) notes.push('no in-kernel irqchip: interrupts exit to user space (slower)');
    return pass([...ev, ...notes]);
  },
};

export const flavor: CheckDef = {
  id: 'kvm.flavor',
  title: 'KVM flavour: bare metal, nested or paravirtualized (PVM)',
  profile: 'kvm',
  async run(ctx) {
    const f = await kvmFlavor(ctx.facts);
    const ev = [describeFlavor(f), ...f.evidence];
    if (f.apicv !== undefined) ev.push(`APIC virtualization: ${f.apicv ? 'on' : 'off'}`);
    // Informational in this profile: the flavour never makes KVM unusable (the probe decides);
    // `bench.kvm-flavor` judges what it means for figures.
    if (f.flavor === 'none') return skip([...ev, probeLine(ctx)], 'no KVM module is loaded: see kvm.modules');
    return pass(ev);
  },
};

export const KVM_CHECKS: CheckDef[] = [cpuVendor, cpuFlags, bios, modules, flavor, devOpen, apiVersion, createVm, capabilities];
