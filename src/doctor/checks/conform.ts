/**
 * Profile `conform`: before `run kut`, which kvm-unit-tests stanzas would skip or fail on this
 * host and why. The parameters that decide it are the ones wrappers of kvm-unit-tests set by
 * hand: nested virtualization (kvm_intel prints Y/N, kvm_amd 1/0: both read), KVM's forced
 * emulation prefix, its PMU, ignore_msrs, the NMI watchdog (which holds a PMU counter), and
 * access to /dev/kvm. With `--kut-dir`, `conform.stanzas` evaluates every stanza of the tree.
 * Unmet parameters are warnings (the host runs KVM; stanzas skip), no access to KVM is a fail.
 */
import { parseBool } from '../../host/facts.js';
import { checkFix, evaluateCheck, parseCheck, unmetText } from '../../kut/check.js';
import type { KutTree } from '../../kut/tree.js';
import type { CheckContext, CheckDef } from '../types.js';
import { fail, pass, skip, warn } from './outcome.js';

async function param(ctx: CheckContext, module: string, name: string): Promise<string | undefined> {
  return (await ctx.facts.module(module))?.params[name];
}

function reload(module: string, setting: string): string {
  return `sudo modprobe -r ${module} && sudo modprobe ${module} ${setting} (lasting: "options ${module} ${setting}" in /etc/modprobe.d/kvm.conf)`;
}

export const conformKvmAccess: CheckDef = {
  id: 'conform.kvm-access',
  title: 'KVM for kvm-unit-tests (/dev/kvm opens read-write)',
  profile: 'conform',
  run(ctx) {
    const p = ctx.probe;
    if (p.usable) return pass([`${p.device} opened and KVM_CREATE_VM worked: stanzas run under KVM (accel = kvm ones too)`]);
    const ev = [`probe stopped at ${p.stage}${p.errno ? ` with ${p.errno}` : ''} on ${p.device}`];
    if (p.errno === 'EACCES' || p.errno === 'EPERM') {
      return fail(
        [
          ...ev,
          'KVM is here but this user may not open it: run kut would need --accel tcg, and the accel = kvm stanzas (pmu, vmware_backdoors...) skip',
        ],
        'sudo usermod -aG kvm $USER, then log in again (or: sudo setfacl -m u:$USER:rw /dev/kvm)',
      );
    }
    return warn(
      [
        ...ev,
        'no usable KVM: run kut --accel tcg runs the stanzas under TCG; accel = kvm stanzas skip, and vmx stanzas see no VMX',
      ],
      p.fix ?? 'run on a host with KVM (see `kvmbench doctor`), or use --accel tcg',
    );
  },
};

export const conformNested: CheckDef = {
  id: 'conform.nested',
  title: 'Nested virtualization for the vmx/svm stanzas (kvm_intel/kvm_amd nested)',
  profile: 'conform',
  async run(ctx) {
    const ev: string[] = [];
    for (const m of ['kvm_intel', 'kvm_amd']) {
      const v = await param(ctx, m, 'nested');
      if (v === undefined) continue;
      ev.push(`/sys/module/${m}/parameters/nested = ${v}`);
      if (parseBool(v))
        return pass([...ev, `nested on (${v}): the ${m === 'kvm_intel' ? 'vmx' : 'svm'} stanzas can run their L2 guests`]);
      return warn(
        [
          ...ev,
          `nested off (${v}): the ${m === 'kvm_intel' ? 'vmx' : 'svm'} stanzas skip or fail, their guests see no ${m === 'kvm_intel' ? 'VMX' : 'SVM'}`,
        ],
        reload(m, 'nested=1'),
      );
    }
    return skip(
      [
        'neither kvm_intel nor kvm_amd is loaded: no nested virtualization to set (under TCG, QEMU emulates SVM for the svm stanzas, not VMX)',
      ],
      'nothing to do without VT-x/AMD-V; on such a host load kvm_intel or kvm_amd with nested=1',
    );
  },
};

export const conformForcedEmulation: CheckDef = {
  id: 'conform.force-emulation-prefix',
  title: "KVM's forced emulation prefix for the *_fep stanzas (kvm force_emulation_prefix)",
  profile: 'conform',
  async run(ctx) {
    const v = await param(ctx, 'kvm', 'force_emulation_prefix');
    if (v === undefined)
      return skip(
        ['/sys/module/kvm/parameters/force_emulation_prefix absent (no kvm module, or a kernel without the parameter)'],
        'nothing to do without KVM; on a KVM host: ' + reload('kvm', 'force_emulation_prefix=1'),
      );
    const ev = [`/sys/module/kvm/parameters/force_emulation_prefix = ${v}`];
    if (parseBool(v) || (/^\d+$/.test(v) && Number(v) > 0)) return pass(ev);
    return warn(
      [
        ...ev,
        'off: the forced-emulation stanzas (access_fep, emulator and vmx tests run with force_emulation) skip their emulator checks',
      ],
      reload('kvm', 'force_emulation_prefix=1'),
    );
  },
};

export const conformPmu: CheckDef = {
  id: 'conform.pmu',
  title: 'PMU for the pmu stanzas (kvm enable_pmu, nmi_watchdog)',
  profile: 'conform',
  async run(ctx) {
    const pmu = await param(ctx, 'kvm', 'enable_pmu');
    const wd = (await ctx.reader.readText('/proc/sys/kernel/nmi_watchdog'))?.trim();
    const ev = [
      `/sys/module/kvm/parameters/enable_pmu = ${pmu ?? '(absent)'}`,
      `/proc/sys/kernel/nmi_watchdog = ${wd ?? '(absent)'}`,
    ];
    if (pmu === undefined) return skip([...ev, 'no kvm module: the pmu stanzas (accel = kvm) skip'], 'nothing to do without KVM');
    const fixes: string[] = [];
    if (!parseBool(pmu)) fixes.push(reload('kvm', 'enable_pmu=1'));
    if (wd !== '0') fixes.push('sudo sysctl kernel.nmi_watchdog=0 (the watchdog holds a PMU counter the pmu stanzas want)');
    if (fixes.length === 0) return pass(ev);
    return warn(
      [
        ...ev,
        'the pmu, pmu_lbr and pmu_pebs stanzas check both (check = ...enable_pmu=Y /proc/sys/kernel/nmi_watchdog=0) and skip',
      ],
      fixes.join('; '),
    );
  },
};

export const conformIgnoreMsrs: CheckDef = {
  id: 'conform.ignore-msrs',
  title: 'MSR faults reach the guest (kvm ignore_msrs=N)',
  profile: 'conform',
  async run(ctx) {
    const v = await param(ctx, 'kvm', 'ignore_msrs');
    if (v === undefined)
      return skip(['/sys/module/kvm/parameters/ignore_msrs absent (no kvm module)'], 'nothing to do without KVM');
    const ev = [`/sys/module/kvm/parameters/ignore_msrs = ${v}`];
    if (parseBool(v) === false) return pass(ev);
    return warn(
      [
        ...ev,
        'on: unknown MSRs read 0 instead of faulting, so msr checks that expect #GP fail, and stanzas with check = ...ignore_msrs=N skip',
      ],
      reload('kvm', 'ignore_msrs=0'),
    );
  },
};

export const CONFORM_CHECKS: readonly CheckDef[] = [
  conformKvmAccess,
  conformNested,
  conformForcedEmulation,
  conformPmu,
  conformIgnoreMsrs,
];

/** `doctor --kut-dir DIR`: each stanza of the tree that would skip here, and why, from its check, accel and arch lines. */
export function kutStanzasCheck(tree: KutTree): CheckDef {
  return {
    id: 'conform.stanzas',
    title: `Stanzas of ${tree.cfgPath} that would skip here`,
    profile: 'conform',
    async run(ctx) {
      const lines: string[] = [];
      const fixes = new Set<string>();
      for (const s of tree.cfg.stanzas) {
        const why: string[] = [];
        if (s.arch && s.arch !== tree.arch) why.push(`${s.arch} only`);
        if (s.accel === 'kvm' && !ctx.probe.usable) why.push('accel = kvm, and KVM is not usable here');
        if (s.groups.includes('nodefault')) why.push('group nodefault (runs only with --only)');
        const conditions = parseCheck(s.check);
        if (conditions === undefined) why.push(`check = ${s.check}: not path=value conditions`);
        else {
          const outcomes = await evaluateCheck(conditions, ctx.reader);
          why.push(...unmetText(outcomes));
          for (const o of outcomes)
            if (!o.holds) {
              const f = checkFix(o.condition);
              if (f) fixes.add(f);
            }
        }
        if (why.length) lines.push(`${s.name}: ${why.join('; ')}`);
      }
      const head = `${tree.cfg.stanzas.length} stanzas in ${tree.cfgPath}, ${lines.length} would skip here`;
      if (lines.length === 0) return pass([head]);
      return warn(
        [head, ...lines],
        fixes.size
          ? [...fixes].join('; ')
          : 'nothing on this host changes them (arch, nodefault); give --accel tcg or a KVM host as the lines say',
      );
    },
  };
}
