/**
 * Profile `bench`: is this host fit for benchmarking? Each warning says how much noise to
 * expect and what would reduce it; none of them stops a run (they are recorded with it).
 */
import { parseBool, selected } from '../../host/facts.js';
import { describeFlavor, kvmFlavor } from '../../host/flavor.js';
import type { CheckDef } from '../types.js';
import { pass, skip, warn } from './outcome.js';

const CPU = '/sys/devices/system/cpu';

export const governor: CheckDef = {
  id: 'bench.governor',
  title: 'CPU frequency governor',
  profile: 'bench',
  async run(ctx) {
    const g = await ctx.facts.governors();
    const values = [...new Set(Object.values(g))];
    if (!values.length) {
      return skip(
        [`${CPU}/cpu*/cpufreq/scaling_governor: absent (frequency managed by firmware or the hypervisor)`],
        'nothing to set from this OS; on bare metal set the firmware power profile to "performance"',
      );
    }
    const ev = [
      `scaling_governor: ${values.map((v) => `${v} (${Object.values(g).filter((x) => x === v).length} CPUs)`).join(', ')}`,
    ];
    if (values.length === 1 && values[0] === 'performance') return pass(ev);
    return warn(
      ev,
      'expect 5-20 % run-to-run spread from frequency scaling; `sudo cpupower frequency-set -g performance` (or write `performance` to each scaling_governor)',
    );
  },
};

export const turbo: CheckDef = {
  id: 'bench.turbo',
  title: 'Turbo / boost',
  profile: 'bench',
  async run(ctx) {
    const noTurbo = await ctx.reader.readText(`${CPU}/intel_pstate/no_turbo`);
    const boost = await ctx.reader.readText(`${CPU}/cpufreq/boost`);
    if (noTurbo !== undefined) {
      const off = parseBool(noTurbo) === true;
      const ev = [`${CPU}/intel_pstate/no_turbo = ${noTurbo.trim()}`];
      return off
        ? pass(ev)
        : warn(
            ev,
            'turbo makes clock speed depend on temperature and load (5-15 % drift over a run); `echo 1 | sudo tee /sys/devices/system/cpu/intel_pstate/no_turbo`',
          );
    }
    if (boost !== undefined) {
      const on = parseBool(boost) === true;
      const ev = [`${CPU}/cpufreq/boost = ${boost.trim()}`];
      return on
        ? warn(
            ev,
            'boost makes clock speed depend on temperature and load (5-15 % drift over a run); `echo 0 | sudo tee /sys/devices/system/cpu/cpufreq/boost`',
          )
        : pass(ev);
    }
    return skip(
      ['no intel_pstate/no_turbo or cpufreq/boost: boost is not controllable from this OS'],
      'on bare metal, disable turbo/boost in the firmware setup for steadier figures',
    );
  },
};

export const smt: CheckDef = {
  id: 'bench.smt',
  title: 'Simultaneous multithreading (SMT)',
  profile: 'bench',
  async run(ctx) {
    const control = (await ctx.reader.readText(`${CPU}/smt/control`))?.trim();
    const active = (await ctx.reader.readText(`${CPU}/smt/active`))?.trim();
    if (control === undefined && active === undefined) return skip([`${CPU}/smt: absent`], 'nothing to do');
    const ev = [`${CPU}/smt/control = ${control ?? '?'}, active = ${active ?? '?'}`];
    if (active === '1')
      return warn(
        ev,
        'sibling hyperthreads share execution units and caches (up to 2x slowdown when both are busy); pin guests to distinct cores or `echo off | sudo tee /sys/devices/system/cpu/smt/control`',
      );
    return pass(ev);
  },
};

export const thp: CheckDef = {
  id: 'bench.thp',
  title: 'Transparent huge pages',
  profile: 'bench',
  async run(ctx) {
    const enabled = await ctx.reader.readText('/sys/kernel/mm/transparent_hugepage/enabled');
    const defrag = await ctx.reader.readText('/sys/kernel/mm/transparent_hugepage/defrag');
    if (enabled === undefined) return skip(['/sys/kernel/mm/transparent_hugepage: absent'], 'nothing to do (kernel without THP)');
    const ev = [`transparent_hugepage/enabled = ${selected(enabled)}, defrag = ${selected(defrag) ?? '?'}`];
    if (selected(defrag) === 'always') {
      return warn(
        ev,
        'defrag=always makes page faults stall on compaction (millisecond outliers in boot and I/O figures); `echo madvise | sudo tee /sys/kernel/mm/transparent_hugepage/defrag`',
      );
    }
    if (selected(enabled) === 'never') {
      return warn(
        ev,
        'guest RAM is backed by 4 KiB pages: more TLB misses and slower guest memory than usual; `echo madvise | sudo tee /sys/kernel/mm/transparent_hugepage/enabled` (QEMU madvises guest RAM)',
      );
    }
    return pass(ev);
  },
};

export const loadavg: CheckDef = {
  id: 'bench.loadavg',
  title: 'Load average',
  profile: 'bench',
  async run(ctx) {
    const text = await ctx.reader.readText('/proc/loadavg');
    const cpu = await ctx.facts.cpu();
    if (!text) return skip(['/proc/loadavg unreadable'], 'nothing to do');
    const [l1, l5] = text.trim().split(/\s+/).map(Number);
    const n = Math.max(1, cpu.threads);
    const ev = [`/proc/loadavg: ${text.trim().split(/\s+/).slice(0, 3).join(' ')} on ${n} CPUs`];
    if ((l1 ?? 0) / n > 0.25 || (l5 ?? 0) / n > 0.5) {
      return warn(
        ev,
        `other work is competing for CPUs (load ${(((l1 ?? 0) / n) * 100).toFixed(0)} % of ${n} CPUs): expect noisy, slower figures; stop background jobs or benchmark on an idle host`,
      );
    }
    return pass(ev);
  },
};

export const haltPoll: CheckDef = {
  id: 'bench.halt-poll',
  title: 'kvm.halt_poll_ns',
  profile: 'bench',
  async run(ctx) {
    const kvm = await ctx.facts.module('kvm');
    const v = kvm?.params.halt_poll_ns;
    if (v === undefined)
      return skip(['/sys/module/kvm/parameters/halt_poll_ns: absent (no kvm module)'], 'nothing to do without KVM');
    const ev = [`/sys/module/kvm/parameters/halt_poll_ns = ${v}`];
    if (Number(v) === 0) {
      return warn(
        ev,
        'halt polling is off: idle vCPUs sleep at once, so wake-ups (IPIs, timers) cost tens of microseconds more; `echo 200000 | sudo tee /sys/module/kvm/parameters/halt_poll_ns` (or keep it and compare only with hosts that match)',
      );
    }
    return pass([...ev, 'idle vCPUs poll briefly before sleeping (lower wake-up latency, more host CPU)']);
  },
};

export const nxHugePages: CheckDef = {
  id: 'bench.nx-huge-pages',
  title: 'kvm.nx_huge_pages (iTLB multihit mitigation)',
  profile: 'bench',
  async run(ctx) {
    const kvm = await ctx.facts.module('kvm');
    const v = kvm?.params.nx_huge_pages;
    if (v === undefined)
      return skip(['/sys/module/kvm/parameters/nx_huge_pages: absent (no kvm module)'], 'nothing to do without KVM');
    const ev = [`/sys/module/kvm/parameters/nx_huge_pages = ${v}`];
    const itlb = await ctx.reader.readText(`${CPU}/vulnerabilities/itlb_multihit`);
    if (itlb) ev.push(`vulnerabilities/itlb_multihit: ${itlb.trim()}`);
    if (parseBool(v) === true || v === 'force') {
      return warn(
        ev,
        'executable guest pages are mapped with 4 KiB pages: code-heavy guests see more EPT/NPT faults (a few % up to 10 % slower); compare only with hosts using the same setting; `kvm.nx_huge_pages=off` on the kernel command line removes it where the CPU is not affected',
      );
    }
    return pass(ev);
  },
};

/** Mitigations that add work on every VM entry or exit, so they shift exit-latency figures. */
const EXIT_COSTLY: Array<[string, RegExp]> = [
  ['l1tf', /VMX: cache flushes|conditional cache flushes/i],
  ['retbleed', /IBRS|IBPB/i],
  ['spec_rstack_overflow', /IBPB/i],
  ['mmio_stale_data', /Clear CPU buffers/i],
  ['vmscape', /IBPB/i],
];

export const mitigations: CheckDef = {
  id: 'bench.mitigations',
  title: 'CPU vulnerability mitigations',
  profile: 'bench',
  async run(ctx) {
    const vals = await ctx.facts.readDirValues(`${CPU}/vulnerabilities`);
    const names = Object.keys(vals);
    if (!names.length) return skip([`${CPU}/vulnerabilities: absent`], 'nothing to do');
    const cmdline = ((await ctx.reader.readText('/proc/cmdline')) ?? '').trim();
    const mitigated = names.filter((n) => /^Mitigation/i.test(vals[n]!));
    const vulnerable = names.filter((n) => /^Vulnerable/i.test(vals[n]!));
    const ev = [
      `${names.length} entries: ${mitigated.length} mitigated, ${vulnerable.length} vulnerable, ${names.length - mitigated.length - vulnerable.length} not affected/unknown`,
    ];
    const m = /(?:^|\s)mitigations=(\S+)/.exec(cmdline);
    if (m) ev.push(`kernel command line: mitigations=${m[1]}`);
    const costly = EXIT_COSTLY.filter(([n, re]) => vals[n] !== undefined && re.test(vals[n]!)).map(([n]) => `${n}: ${vals[n]}`);
    if (costly.length) {
      return warn(
        [...ev, ...costly.map((c) => `costly on VM entry/exit: ${c}`)],
        'these mitigations add work to every VM exit, raising exit latencies by hundreds of cycles or more: compare only runs with identical mitigations (the host fingerprint records them); a dedicated benchmark host may boot with `mitigations=off` (a security trade-off)',
      );
    }
    return pass(ev);
  },
};

export const virtualized: CheckDef = {
  id: 'bench.virtualized',
  title: 'Running inside a virtual machine',
  profile: 'bench',
  async run(ctx) {
    const v = await ctx.facts.virtualization();
    if (!v.virtualized) return pass(['no hypervisor flag, no virtual DMI vendor, no /sys/hypervisor: bare metal']);
    return warn(
      [`virtualized${v.kind ? ` (${v.kind})` : ''}`, ...v.evidence],
      'the outer hypervisor schedules this VM: expect extra noise, and nested exits cost 5-10x bare-metal exits; benchmark on bare metal for absolute figures, or compare only runs on this same instance type',
    );
  },
};

export const container: CheckDef = {
  id: 'bench.container',
  title: 'Running inside a container',
  profile: 'bench',
  async run(ctx) {
    const c = await ctx.facts.container();
    if (!c.container) return pass(['no container markers (/.dockerenv, /run/.containerenv, container=, /proc/1/cgroup)']);
    const ev = [`container${c.kind ? ` (${c.kind})` : ''}`, ...c.evidence];
    const cpuMax = (await ctx.reader.readText('/sys/fs/cgroup/cpu.max'))?.trim();
    if (cpuMax)
      ev.push(
        `/sys/fs/cgroup/cpu.max = ${cpuMax}${cpuMax.startsWith('max') ? ' (no CPU quota)' : ' (CPU quota: throttling shows up as outliers)'}`,
      );
    return warn(
      ev,
      'cgroup CPU quotas and neighbouring containers add noise; give the container dedicated cores (`--cpuset-cpus`) and no CPU quota, or benchmark on the host',
    );
  },
};

export const wsl: CheckDef = {
  id: 'bench.wsl',
  title: 'Windows Subsystem for Linux',
  profile: 'bench',
  async run(ctx) {
    const w = await ctx.facts.wsl();
    if (!w.wsl) return pass(['not WSL (/proc/version has no Microsoft/WSL marker)']);
    return warn(
      w.evidence,
      'WSL2 is a Hyper-V VM: KVM there is nested (set `nestedVirtualization=true` under [wsl2] in %UserProfile%\\.wslconfig, then `wsl --shutdown`), and figures include Hyper-V overhead',
    );
  },
};

export const kvmFlavorFitness: CheckDef = {
  id: 'bench.kvm-flavor',
  title: 'KVM flavour fit for hardware figures',
  profile: 'bench',
  async run(ctx) {
    const f = await kvmFlavor(ctx.facts);
    const ev = [describeFlavor(f)];
    if (f.flavor === 'bare-metal') return pass(ev);
    if (f.flavor === 'pvm') {
      return warn(
        ev,
        'exit and boot figures here are KVM instruction-emulator costs, labelled `emulated`; for hardware exit figures run on a VT-x/AMD-V host (bare metal, or a VM with nested virtualization), and compare emulated runs only with emulated runs',
      );
    }
    if (f.flavor === 'nested') {
      return warn(
        ev,
        'figures include the outer hypervisor; compare only with runs on the same instance type, or benchmark on bare metal for absolute figures',
      );
    }
    return skip(
      ev,
      f.flavor === 'none'
        ? 'no KVM here: figures are TCG only'
        : 'kvmbench cannot tell how guest code runs here; every exits case measures and records its own execution mode',
    );
  },
};

export const BENCH_CHECKS: CheckDef[] = [
  governor,
  turbo,
  smt,
  thp,
  loadavg,
  haltPoll,
  nxHugePages,
  mitigations,
  virtualized,
  kvmFlavorFitness,
  container,
  wsl,
];
