/**
 * Profile `cvm`: can this host run confidential VMs (AMD SEV, SEV-ES, SEV-SNP; Intel TDX)?
 * Layer by layer, each check names the layer that stops the best mode this CPU offers: the
 * CPU and its firmware (cvm.cpu), host memory encryption (cvm.mem-encrypt), the kernel and
 * KVM (cvm.kvm), the security firmware (cvm.firmware: the AMD Secure Processor's SEV
 * firmware, the TDX module), /dev/sev (cvm.sev-device) and QEMU (cvm.qemu: its version, its
 * confidential-guest types and `query-sev-capabilities`). A host without such hardware (a
 * VM, a client CPU, another vendor) gets skips that say so, never a fail.
 */
import {
  cvmFacts,
  cvmQemuAnswer,
  moduleParam,
  atLeast,
  parseRelease,
  SNP_MIN_API,
  type CvmFacts,
  type CvmModeState,
} from '../../host/cvm.js';
import { QEMU_BINARY, type HostFacts } from '../../host/facts.js';
import type { QmpAnswer } from '../../host/actions.js';
import type { HostIdentity, HostStat } from '../../host/reader.js';
import type { CheckContext, CheckDef, CheckOutcome } from '../types.js';
import { fail, pass, skip, warn } from './outcome.js';

const NO_HARDWARE_FIX =
  'nothing to do on this host: confidential VMs need a bare-metal AMD EPYC (SEV; SEV-ES from the 2nd generation, SEV-SNP from the 3rd) ' +
  'or an Intel Xeon with TDX (4th generation Xeon Scalable and later, SKU-dependent)';
const INSTALL_QEMU =
  '`sudo apt-get install -y qemu-system-x86` (Debian/Ubuntu; a distribution too old for it needs backports) or a QEMU built from source';

const v2s = (v: readonly number[]): string => v.join('.');

/** Later checks stand back when cvm.cpu found no hardware (skip) or a firmware that disabled it (fail). */
function gate(ctx: CheckContext): CheckOutcome | undefined {
  const cpu = ctx.results.get('cvm.cpu');
  if (!cpu) return undefined;
  const why = cpu.evidence.at(-1) ?? 'see cvm.cpu';
  if (cpu.status === 'skip') return skip([`not applicable: ${why}`], cpu.fix ?? NO_HARDWARE_FIX);
  if (cpu.status === 'fail') return skip([`not reached: ${why} (cvm.cpu)`], cpu.fix ?? 'resolve cvm.cpu first');
  return undefined;
}

/** The modes the CPU offers that the firmware has not ruled out, weakest first. */
function candidates(c: CvmFacts): CvmModeState[] {
  return c.modes.filter((m) => m.cpu !== false && m.enabled !== false);
}

function modeList(ms: readonly CvmModeState[]): string {
  return ms.map((m) => `${m.spec.label}${m.capacity ? ` (${m.capacity})` : ''}`).join(', ');
}

function canOpenRw(st: HostStat, id: HostIdentity): boolean {
  return (
    id.uid === 0 ||
    (st.uid === id.uid && (st.mode & 0o600) === 0o600) ||
    (id.groups.includes(st.gid) && (st.mode & 0o060) === 0o060) ||
    (st.mode & 0o006) === 0o006
  );
}

export const cvmCpu: CheckDef = {
  id: 'cvm.cpu',
  title: 'Confidential-VM support in the CPU and its firmware (SEV, SEV-ES, SEV-SNP, TDX)',
  profile: 'cvm',
  async run(ctx) {
    const c = await cvmFacts(ctx.facts);
    const cpu = await ctx.facts.cpu();
    const model = cpu.modelName ?? cpu.vendor ?? 'this CPU';
    if (!c.tech)
      return skip(
        [`/proc/cpuinfo vendor_id = ${cpu.vendor ?? '(absent)'}: neither AMD SEV nor Intel TDX exists on this CPU`],
        NO_HARDWARE_FIX,
      );
    const ev = [...c.evidence];
    if (c.guest) {
      const virt = await ctx.facts.virtualization();
      if (c.sevLog.memEncrypt) ev.push(`kernel log: ${c.sevLog.memEncrypt} (this VM is itself a confidential guest)`);
      return skip(
        [
          ...ev,
          `this host is a virtual machine${virt.kind ? ` (${virt.kind})` : ''}: SEV and TDX serve bare-metal hosts only (they do not nest), so no confidential guest can start here`,
        ],
        NO_HARDWARE_FIX,
      );
    }
    const bios = ctx.results.get('kvm.bios');
    if (c.tech === 'sev' && bios?.status === 'fail') {
      return skip(
        [...ev, 'AMD-V (SVM) is disabled in the firmware (kvm.bios), and SEV builds on it'],
        bios.fix ?? 'enable SVM in the firmware first',
      );
    }
    if (c.tech === 'sev') {
      const sev = c.modes[0]!;
      if (sev.cpu === false) return skip([...ev, `${model} has no SEV (CPUID 0x8000001F EAX bit 1 is 0)`], NO_HARDWARE_FIX);
      if (sev.cpu === undefined && sev.enabled === undefined) {
        if (!/EPYC|Hygon/i.test(model))
          return skip(
            [...ev, `${model}: AMD client CPUs (Ryzen, Athlon, Threadripper) have no SEV; it is an EPYC feature`],
            NO_HARDWARE_FIX,
          );
        return warn(
          [
            ...ev,
            'EPYC CPUs have SEV, but the kernel lists no sev flag and CPUID 0x8000001F was not read: either the firmware disabled it or this kernel does not show it',
          ],
          `as root: \`sudo modprobe cpuid msr && sudo kvmbench doctor --profile cvm\` reads CPUID 0x8000001F and MSR SYSCFG and tells which; if the firmware disabled it: ${c.modes[0]!.fix ?? 'enable SMEE and SEV in the firmware setup'}`,
        );
      }
      if (sev.enabled === false) return fail([...ev, sev.why ?? 'SEV is disabled in the firmware'], sev.fix!);
    } else {
      const t = c.modes[0]!;
      if (t.cpu === false)
        return skip(
          [...ev, `${model} has no TDX (TDX arrived with 4th generation Xeon Scalable, Sapphire Rapids)`],
          NO_HARDWARE_FIX,
        );
      if (t.enabled === false && t.cpu === true) return fail([...ev, t.why!], t.fix!);
      if (t.enabled === false) {
        const blind =
          !c.root && !c.log.readable
            ? ' (not root: MSRs and the kernel log were not read, so a disabled setting cannot be told from a missing one)'
            : '';
        return warn([...ev, `${t.why}: either this SKU has no TDX or the firmware has not enabled it${blind}`], t.fix!);
      }
    }
    const on = c.modes.filter((m) => m.enabled === true);
    const off = c.modes.filter((m) => m.cpu !== false && m.enabled === false);
    const unknown = c.modes.filter((m) => m.enabled === undefined && m.cpu !== false);
    if (unknown.length)
      ev.push(`cannot tell (not root, or the kernel does not list them): ${unknown.map((m) => m.spec.label).join(', ')}`);
    for (const m of off) ev.push(`${m.spec.label} not available: ${m.why}`);
    if (off.length)
      return warn(
        [...ev, `available: ${modeList(on) || 'none'}; the CPU offers more (${off.map((m) => m.spec.label).join(', ')})`],
        off[0]!.fix!,
      );
    return pass([...ev, `available: ${modeList(on)}`]);
  },
};

export const cvmMemEncrypt: CheckDef = {
  id: 'cvm.mem-encrypt',
  title: 'Host memory encryption (AMD SME, Intel TME)',
  profile: 'cvm',
  async run(ctx) {
    const g = gate(ctx);
    if (g) return g;
    const c = await cvmFacts(ctx.facts);
    const cmd = /(?:^|\s)mem_encrypt=(\S+)/.exec(c.cmdline)?.[1];
    if (c.tech === 'sev') {
      const active = c.flags.has('sme') || /\bSME\b/.test(c.sevLog.memEncrypt ?? '');
      const ev = [
        `SME in the CPU: ${c.cpuid ? (c.cpuid.sme ? 'yes' : 'no') : 'not read (CPUID)'}; /proc/cpuinfo flag sme (listed only while active): ${c.flags.has('sme') ? 'yes' : 'no'}`,
        `kernel command line: ${cmd ? `mem_encrypt=${cmd}` : "no mem_encrypt= option (the kernel's build default applies)"}`,
        ...(c.sevLog.memEncrypt ? [`kernel log: ${c.sevLog.memEncrypt}`] : []),
      ];
      if (active) return pass([...ev, "SME is active: the host's own memory is encrypted too"]);
      if (cmd === 'on') {
        return warn(
          [...ev, '`mem_encrypt=on` is set, yet SME is not active'],
          'enable "SMEE" (Secure Memory Encryption) in the firmware setup and run a kernel built with CONFIG_AMD_MEM_ENCRYPT; reboot',
        );
      }
      return pass([
        ...ev,
        "SME is not active: the host's own memory is not encrypted; SEV, SEV-ES and SEV-SNP guests do not need it (`mem_encrypt=on` on the kernel command line turns it on)",
      ]);
    }
    // Intel: TDX keys are TME-MT keys, so TDX needs TME and its multi-key mode enabled by the firmware.
    const ev: string[] = [`/proc/cpuinfo flag tme (TME in the CPU): ${c.flags.has('tme') ? 'yes' : 'no'}`];
    let enabled: boolean | undefined;
    if (c.msr.tmeActivate !== undefined) {
      enabled = ((c.msr.tmeActivate >> 1n) & 1n) === 1n;
      ev.push(
        `MSR IA32_TME_ACTIVATE (0x982) = 0x${c.msr.tmeActivate.toString(16)}: lock ${c.msr.tmeActivate & 1n}, TME enable ${enabled ? 1 : 0}, KeyID bits ${Number((c.msr.tmeActivate >> 32n) & 0xfn)}`,
      );
    }
    if (c.tdxLog.tme) {
      ev.push(`kernel log: ${c.tdxLog.tme.line}`);
      enabled ??= c.tdxLog.tme.enabled;
    }
    if (c.tdxLog.mktme) ev.push(`kernel log: ${c.tdxLog.mktme.line}`);
    const tdxOn = c.modes[0]?.enabled === true;
    if (enabled === undefined && tdxOn) {
      enabled = true;
      ev.push('TDX has private KeyIDs, which the firmware carves out of TME-MT: TME is on');
    }
    if (enabled === true && c.tdxLog.mktme?.enabled === false) {
      return warn(
        [...ev, 'TME is on but its multi-key mode (TME-MT), which TDX takes its KeyIDs from, is off'],
        'enable "TME Multi-Tenant (TME-MT)" in the firmware setup; save and power-cycle',
      );
    }
    if (enabled === true) return pass([...ev, 'TME is active: all memory is encrypted, and TDX can take KeyIDs from TME-MT']);
    if (enabled === false) {
      return warn(
        [...ev, 'TME is off: TDX cannot be enabled without it'],
        'enable "Total Memory Encryption (TME)" and "TME Multi-Tenant (TME-MT)" in the firmware setup; save and power-cycle',
      );
    }
    return warn(
      [...ev, 'cannot tell whether TME is on (not root: MSR 0x982 and the kernel log were not read)'],
      'as root: `sudo modprobe msr && sudo kvmbench doctor --profile cvm`',
    );
  },
};

/** Where a module option turning `param` off was set: the kernel command line or a modprobe.d file. */
async function userDisabled(ctx: CheckContext, c: CvmFacts, module: string, param: string): Promise<string | undefined> {
  const off = '(?:0|n|N|no|off|false)';
  if (new RegExp(`(?:^|\\s)${module}\\.${param}=${off}(?:\\s|$)`).test(c.cmdline))
    return `the kernel command line (${module}.${param}=...)`;
  const dir = '/etc/modprobe.d';
  const files = ((await ctx.reader.readdir(dir)) ?? []).filter((f) => f.endsWith('.conf'));
  for (const f of files) {
    const text = (await ctx.reader.readText(`${dir}/${f}`)) ?? '';
    if (new RegExp(`^\\s*options\\s+${module}\\s+.*\\b${param}=${off}\\b`, 'm').test(text)) return `${dir}/${f}`;
  }
  return undefined;
}

interface ModeVerdict {
  mode: CvmModeState;
  ok: boolean;
  line: string;
  fix?: string;
}

async function kvmModeVerdict(ctx: CheckContext, c: CvmFacts, m: CvmModeState): Promise<ModeVerdict> {
  const mod = c.module!;
  const p = moduleParam(mod, m.spec.param);
  const kernelOk = atLeast(c.kernel, m.spec.kernel);
  const label = m.spec.label;
  const path = `/sys/module/${mod.name}/parameters/${m.spec.param}`;
  if (p.on) {
    const note =
      kernelOk === false
        ? ` (Linux ${c.release} predates upstream ${label} hosting (${v2s(m.spec.kernel)}): a distribution backport)`
        : '';
    return { mode: m, ok: true, line: `${label}: ${path} = ${p.raw}${note}` };
  }
  if (p.raw === undefined) {
    if (kernelOk === false) {
      return {
        mode: m,
        ok: false,
        line: `${label}: ${mod.name} has no \`${m.spec.param}\` parameter: Linux ${c.release} predates ${label} hosting (upstream ${v2s(m.spec.kernel)})`,
        fix: `run Linux ${v2s(m.spec.kernel)} or later (Debian backports, Ubuntu HWE, a current Fedora or your distribution's virtualization kernel)`,
      };
    }
    return {
      mode: m,
      ok: false,
      line: `${label}: ${mod.name} has no \`${m.spec.param}\` parameter although Linux ${c.release} is new enough: built without ${m.spec.tech === 'sev' ? 'CONFIG_KVM_AMD_SEV' : 'CONFIG_INTEL_TDX_HOST'}`,
      fix: `use a kernel built with ${m.spec.tech === 'sev' ? 'CONFIG_KVM_AMD_SEV=y' : 'CONFIG_INTEL_TDX_HOST=y and CONFIG_KVM_INTEL_TDX=y'} (distribution kernels have it)`,
    };
  }
  const reload = `then with no VMs running \`sudo modprobe -r ${mod.name} && sudo modprobe ${mod.name}\` (or reboot)`;
  const where = await userDisabled(ctx, c, mod.name, m.spec.param);
  const line = `${label}: ${path} = ${p.raw}`;
  if (where)
    return {
      mode: m,
      ok: false,
      line: `${line}, set off in ${where}`,
      fix: `remove the \`${m.spec.param}\` override from ${where}, ${reload}`,
    };
  if (m.spec.tech === 'tdx') {
    // kvm_intel leaves TDX off unless asked (tdx=1); it then initializes the TDX module at load.
    const why = c.tdxLog.failures.length ? `; kernel log: ${c.tdxLog.failures.join(' | ')}` : ' (its default: TDX is opt-in)';
    return {
      mode: m,
      ok: false,
      line: `${line}${why}`,
      fix: `\`echo "options kvm_intel tdx=1" | sudo tee /etc/modprobe.d/kvm-tdx.conf\`, ${reload}; kvm_intel then initializes the TDX module`,
    };
  }
  // kvm_amd sets the parameter to what it could enable at load: something stopped it.
  const kvmLine = c.sevLog.kvm[m.spec.mode as 'sev' | 'sev-es' | 'sev-snp'];
  const seen = kvmLine ? `; kernel log: ${kvmLine.line}` : '';
  if (m.spec.mode === 'sev-snp' && c.sevLog.iommuSnp) {
    return {
      mode: m,
      ok: false,
      line: `${line}${seen}; kernel log: ${c.sevLog.iommuSnp}`,
      fix: 'SEV-SNP needs the IOMMU in translated mode: remove `iommu=pt` and `amd_iommu=off` from the kernel command line, keep the IOMMU enabled in the firmware, and reboot',
    };
  }
  if (moduleParam(mod, 'npt').on === false) {
    return {
      mode: m,
      ok: false,
      line: `${line}${seen}; kvm_amd npt = ${mod.params.npt}`,
      fix: `SEV needs nested paging: remove \`npt=0\` from the kvm_amd options, ${reload}`,
    };
  }
  if (c.sevLog.failures.length) {
    return {
      mode: m,
      ok: false,
      line: `${line}${seen}; kernel log: ${c.sevLog.failures.join(' | ')}`,
      fix: 'the AMD Secure Processor refused to initialize it: see cvm.firmware',
    };
  }
  return {
    mode: m,
    ok: false,
    line: `${line}${seen}: kvm_amd turned it off at load`,
    fix: `\`sudo dmesg | grep -i -e sev -e snp -e ccp\` says why (usually the SEV firmware or the firmware settings: ${m.fix ?? 'see cvm.cpu'})`,
  };
}

export const cvmKvm: CheckDef = {
  id: 'cvm.kvm',
  title: 'Kernel and KVM for confidential guests (version, kvm_amd sev/sev_es/sev_snp, kvm_intel tdx)',
  profile: 'cvm',
  async run(ctx) {
    const g = gate(ctx);
    if (g) return g;
    const c = await cvmFacts(ctx.facts);
    const modName = c.tech === 'sev' ? 'kvm_amd' : 'kvm_intel';
    const ev = [`Linux ${c.release || '(unknown release)'}`];
    if (!c.module) {
      const mods = ctx.results.get('kvm.modules');
      return fail(
        [...ev, `${modName} is not loaded: no KVM to run confidential guests with`],
        mods?.status === 'fail' && mods.fix ? mods.fix : `\`sudo modprobe ${modName}\``,
      );
    }
    const modes = candidates(c);
    if (!modes.length)
      return skip([...ev, 'no mode left to host: see cvm.cpu'], ctx.results.get('cvm.cpu')?.fix ?? 'see cvm.cpu');
    const verdicts: ModeVerdict[] = [];
    for (const m of modes) verdicts.push(await kvmModeVerdict(ctx, c, m));
    ev.push(...verdicts.map((v) => v.line));
    if (c.tech === 'tdx' && c.tdxLog.kvm.length) ev.push(...c.tdxLog.kvm.map((l) => `kernel log: ${l}`));
    const ok = verdicts.filter((v) => v.ok);
    const best = verdicts.at(-1)!;
    if (best.ok) return pass([...ev, `KVM hosts ${ok.map((v) => v.mode.spec.label).join(', ')}`]);
    if (ok.length)
      return warn([...ev, `KVM hosts ${ok.map((v) => v.mode.spec.label).join(', ')}, not ${best.mode.spec.label}`], best.fix!);
    return fail([...ev, `KVM hosts none of ${verdicts.map((v) => v.mode.spec.label).join(', ')}`], verdicts[0]!.fix!);
  },
};

export const cvmFirmware: CheckDef = {
  id: 'cvm.firmware',
  title: "Security firmware: the AMD Secure Processor's SEV firmware, or the Intel TDX module",
  profile: 'cvm',
  async run(ctx) {
    const g = gate(ctx);
    if (g) return g;
    const c = await cvmFacts(ctx.facts);
    if (!c.log.readable) {
      return warn(
        [
          `kernel log not readable (${c.log.error ?? 'denied'}): it is where the ${c.tech === 'sev' ? 'SEV firmware version' : 'TDX module state'} shows`,
        ],
        `as root: \`sudo dmesg | grep -i ${c.tech === 'sev' ? '-e "SEV API" -e ccp' : 'tdx'}\`, or allow it: \`sudo sysctl kernel.dmesg_restrict=0\``,
      );
    }
    if (c.tech === 'sev') {
      const log = c.sevLog;
      const ev = [
        log.api ? `kernel log: ${log.api.line}` : 'kernel log: no "SEV API" line from the AMD Secure Processor driver (ccp)',
      ];
      ev.push(...log.failures.map((l) => `kernel log: ${l}`));
      const snp = c.modes.find((m) => m.spec.mode === 'sev-snp');
      const fwFix =
        "update the SEV firmware: install linux-firmware's amd/amd_sev_fam*h_model*.sbin for this CPU (the ccp driver loads it at boot) or update the system BIOS, then reboot";
      if (log.failures.length && !log.api)
        return fail(
          ev,
          `the AMD Secure Processor did not initialize SEV: ${fwFix}; \`sudo dmesg | grep -i -e sev -e ccp\` shows the error`,
        );
      if (
        log.api &&
        snp?.enabled &&
        (log.api.major < SNP_MIN_API[0] || (log.api.major === SNP_MIN_API[0] && log.api.minor < SNP_MIN_API[1]))
      ) {
        return warn(
          [
            ...ev,
            `SEV firmware API ${log.api.major}.${log.api.minor} is older than ${SNP_MIN_API.join('.')}, which SEV-SNP needs`,
          ],
          fwFix,
        );
      }
      if (log.failures.length)
        return warn(
          [...ev, 'SEV initialized, but part of it failed (see the lines above)'],
          `${fwFix}; \`sudo dmesg | grep -i -e sev -e ccp\` shows the error`,
        );
      if (log.api)
        return pass([
          ...ev,
          `SEV firmware API ${log.api.major}.${log.api.minor} build ${log.api.build}${log.api.snp ? ', SEV-SNP initialized' : ''}`,
        ]);
      if (moduleParam(c.module, 'sev').on) {
        return pass([
          ...ev,
          'kvm_amd enabled SEV, which it does only once the firmware answers; the version line may have left the kernel ring buffer (`sudo journalctl -k -b | grep "SEV API"`)',
        ]);
      }
      return warn(
        ev,
        '`sudo journalctl -k -b | grep -i -e "SEV API" -e ccp` (the ring buffer may have rotated); if nothing: `sudo modprobe ccp` and check that the AMD Secure Processor (PSP) is enabled in the firmware',
      );
    }
    const log = c.tdxLog;
    const ev: string[] = [];
    const tdxDir = await ctx.reader.readdir('/sys/firmware/tdx');
    if (tdxDir) ev.push(`/sys/firmware/tdx: ${tdxDir.join(', ') || '(empty)'}`);
    if (log.initialized) ev.push(`kernel log: ${log.initialized}`);
    ev.push(...log.moduleInfo.map((l) => `kernel log: ${l}`));
    const failures = log.failures.filter((l) => !/too few private KeyIDs/i.test(l));
    ev.push(...failures.map((l) => `kernel log: ${l}`));
    if (log.initialized) return pass([...ev, 'the TDX module is initialized']);
    if (failures.length) {
      const all = failures.join(' ');
      const fix = /hibernation/i.test(all)
        ? 'add `nohibernate` to the kernel command line (TDX refuses to initialize while hibernation is possible) and reboot'
        : /enable_virt_at_load/.test(all)
          ? 'add `kvm.enable_virt_at_load=1` (kvm module option or kernel command line) and reload kvm_intel'
          : /not supported by the host platform|no TDX private KeyIDs/i.test(all)
            ? 'the firmware has not enabled TDX: see cvm.cpu'
            : 'the TDX module failed to initialize: update the system BIOS (it carries the TDX module and the SEAM loader), then reboot; the lines above say what failed';
      return fail([...ev, 'the TDX module did not initialize'], fix);
    }
    if (!moduleParam(c.module, 'tdx').on) {
      return skip(
        [...ev, 'no TDX module message: kvm_intel initializes the TDX module only when loaded with tdx=1 (see cvm.kvm)'],
        ctx.results.get('cvm.kvm')?.fix ?? 'load kvm_intel with tdx=1',
      );
    }
    return warn(
      [...ev, 'kvm_intel has tdx=1 but the kernel log has no "module initialized" line (it may have rotated)'],
      '`sudo journalctl -k -b | grep -i tdx` says whether the TDX module initialized',
    );
  },
};

export const cvmSevDevice: CheckDef = {
  id: 'cvm.sev-device',
  title: '/dev/sev (the AMD Secure Processor, opened by QEMU for SEV guests)',
  profile: 'cvm',
  async run(ctx) {
    const g = gate(ctx);
    if (g) return g;
    const c = await cvmFacts(ctx.facts);
    if (c.tech !== 'sev') return skip(["TDX guests need no /dev/sev: it is the AMD Secure Processor's device"], 'nothing to do');
    const st = await ctx.reader.stat('/dev/sev');
    const ccp = await ctx.reader.exists('/sys/module/ccp');
    const ev = [`/sys/module/ccp (AMD Secure Processor driver): ${ccp ? 'present' : 'absent'}`];
    if (!st) {
      return fail(
        [...ev, '/dev/sev: does not exist, so QEMU cannot start SEV guests'],
        ccp
          ? 'the ccp driver did not register /dev/sev: `sudo dmesg | grep -i ccp` says why (the PSP disabled in the firmware, or no SEV firmware)'
          : '`sudo modprobe ccp` (kernel option CONFIG_CRYPTO_DEV_SP_PSP; add `ccp` to /etc/modules-load.d/ to keep it)',
      );
    }
    const id = ctx.reader.identity();
    const group = await ctx.facts.groupName(st.gid);
    ev.push(
      `/dev/sev: ${st.type === 'char' ? 'character device' : st.type}${st.rdev ? ` ${st.rdev}` : ''}, mode 0${st.mode.toString(8)}, owner ${st.uid === 0 ? 'root' : st.uid}, group ${group ?? st.gid}`,
    );
    if (!canOpenRw(st, id)) {
      const user = id.user ?? '$USER';
      return fail(
        [...ev, `user ${id.user ?? id.uid} cannot open it read-write, and QEMU running as this user must`],
        `give it to the kvm group: \`echo 'KERNEL=="sev", GROUP="kvm", MODE="0660"' | sudo tee /etc/udev/rules.d/65-sev.rules && sudo udevadm control --reload && sudo udevadm trigger --name-match=sev\`, then \`sudo usermod -aG kvm ${user}\` and log in again (libvirt grants it per VM itself)`,
      );
    }
    return pass([...ev, `user ${id.user ?? id.uid} can open it read-write`]);
  },
};

function typesOf(a: QmpAnswer): Set<string> | undefined {
  const r = a.replies.find((x) => x.execute === 'qom-list-types');
  if (!r || !Array.isArray(r.return)) return undefined;
  return new Set((r.return as Array<{ name?: string }>).map((t) => t.name ?? '').filter(Boolean));
}

async function qemuVersion(facts: HostFacts): Promise<[number, number] | undefined> {
  const q = await facts.qemu();
  return q.version ? parseRelease(q.version) : undefined;
}

export const cvmQemu: CheckDef = {
  id: 'cvm.qemu',
  title: 'QEMU for confidential guests: version, confidential-guest types, query-sev-capabilities',
  profile: 'cvm',
  async run(ctx) {
    const g = gate(ctx);
    if (g) return g;
    const c = await cvmFacts(ctx.facts);
    const modes = candidates(c);
    if (!modes.length)
      return skip(
        ['QEMU not asked: the CPU offers no mode the firmware left on (see cvm.cpu)'],
        ctx.results.get('cvm.cpu')?.fix ?? 'see cvm.cpu',
      );
    const best = modes.at(-1)!;
    const q = await ctx.facts.qemu();
    if (!q.found)
      return fail(
        [`${QEMU_BINARY}: ${q.error ?? 'not usable'}`],
        `install QEMU ${v2s(best.spec.qemu)} or later for ${best.spec.label}: ${INSTALL_QEMU}`,
      );
    const ver = await qemuVersion(ctx.facts);
    const ev = [`${QEMU_BINARY} --version: ${q.versionLine ?? '(no output)'}`];
    const a = await cvmQemuAnswer(ctx.facts, ctx.actions, c.tech!);
    const types = a.answered ? typesOf(a) : undefined;
    if (!a.answered) ev.push(`QMP: no answer (${a.error ?? 'unknown'})`);
    else
      ev.push(
        `QMP (-accel ${a.accel}${a.durationMs ? `, ${a.durationMs} ms` : ''}): confidential-guest types ${types ? [...types].sort().join(', ') || 'none' : 'not listed'}`,
      );

    // The QMP capability query: what QEMU itself can do with SEV here.
    let capsProblem: CheckOutcome | undefined;
    if (c.tech === 'sev' && a.answered) {
      const r = a.replies.find((x) => x.execute === 'query-sev-capabilities');
      if (r?.return && typeof r.return === 'object') {
        const caps = r.return as Record<string, unknown>;
        ev.push(
          `query-sev-capabilities: cbitpos ${String(caps.cbitpos)}, reduced-phys-bits ${String(caps['reduced-phys-bits'])}${typeof caps.pdh === 'string' ? ', PDH and certificate chain present' : ''}`,
        );
        if (c.cpuid && typeof caps.cbitpos === 'number' && caps.cbitpos !== c.cpuid.cbitPos)
          ev.push(`note: CPUID says C-bit ${c.cpuid.cbitPos}`);
      } else if (r?.error) {
        const desc = r.error.desc;
        ev.push(`query-sev-capabilities: ${r.error.class}: ${desc}`);
        if (/KVM not enabled/i.test(desc)) {
          capsProblem = skip(
            [...ev, 'KVM is not usable here (see kvm.dev-open): QEMU can use SEV only through KVM'],
            ctx.results.get('kvm.dev-open')?.fix ?? 'make KVM usable first (profile kvm)',
          );
        } else if (/not enabled in KVM/i.test(desc)) {
          const kvm = ctx.results.get('cvm.kvm');
          capsProblem =
            kvm?.status === 'fail'
              ? skip([...ev, 'QEMU agrees with cvm.kvm: KVM offers no SEV'], kvm.fix ?? 'see cvm.kvm')
              : fail(
                  [...ev, 'QEMU finds SEV disabled in KVM'],
                  '`sudo dmesg | grep -i -e sev -e kvm_amd` says why kvm_amd did not enable SEV',
                );
        } else if (/\/dev\/sev/.test(desc)) {
          const dev = ctx.results.get('cvm.sev-device');
          capsProblem =
            dev?.status === 'fail'
              ? skip([...ev, 'QEMU cannot open /dev/sev (see cvm.sev-device)'], dev.fix ?? 'see cvm.sev-device')
              : fail(
                  [...ev, 'QEMU cannot open /dev/sev'],
                  'QEMU opens /dev/sev read-write as the user it runs as: see cvm.sev-device',
                );
        } else {
          capsProblem = fail(
            [...ev, 'this QEMU cannot use SEV'],
            `install a QEMU built with SEV support (the distribution's qemu-system-x86 is): ${INSTALL_QEMU}`,
          );
        }
      }
    }
    if (capsProblem) return capsProblem;

    // Per mode: does this QEMU launch it? Its types decide where QMP answered; its version otherwise.
    const verdicts = modes.map((m) => {
      const byVersion = atLeast(ver, m.spec.qemu);
      const hasType = types?.has(m.spec.qemuObject);
      // sev-guest has launched SEV-ES guests (policy bit 2) since 6.0; the type alone does not say so.
      const ok = types ? Boolean(hasType) && (m.spec.mode !== 'sev-es' || byVersion !== false) : byVersion !== false;
      const why = types
        ? `${m.spec.qemuObject} ${hasType ? 'offered' : 'missing'}${m.spec.mode === 'sev-es' ? `, QEMU ${q.version ?? '?'} ${byVersion === false ? '<' : '>='} 6.0` : ''}`
        : `QEMU ${q.version ?? '?'} ${byVersion === false ? '<' : '>='} ${v2s(m.spec.qemu)}`;
      const backport =
        ok && byVersion === false ? ` (QEMU ${q.version} predates upstream ${v2s(m.spec.qemu)}: a distribution backport)` : '';
      return { m, ok, line: `${m.spec.label}: ${why}${backport}` };
    });
    ev.push(...verdicts.map((v) => v.line));
    const ok = verdicts.filter((v) => v.ok);
    const fixFor = (m: CvmModeState): string =>
      `install QEMU ${v2s(m.spec.qemu)} or later, which has ${m.spec.qemuObject}${m.spec.mode === 'sev-es' ? ' with SEV-ES policies' : ''}: ${INSTALL_QEMU}`;
    if (verdicts.at(-1)!.ok) return pass([...ev, `this QEMU launches ${ok.map((v) => v.m.spec.label).join(', ')}`]);
    if (ok.length)
      return warn(
        [...ev, `this QEMU launches ${ok.map((v) => v.m.spec.label).join(', ')}, not ${best.spec.label}`],
        fixFor(best),
      );
    return fail([...ev, `this QEMU launches none of ${modes.map((m) => m.spec.label).join(', ')}`], fixFor(best));
  },
};

export const CVM_CHECKS: CheckDef[] = [cvmCpu, cvmMemEncrypt, cvmKvm, cvmFirmware, cvmSevDevice, cvmQemu];
