/**
 * Profiles `vmm` (QEMU and its firmware), `nested` (can guests here run KVM themselves)
 * and `io` (vhost-net, hugepages, IOMMU groups).
 */
import { parseBool, parseMeminfo, vendorInfo, QEMU_BINARY } from '../../host/facts.js';
import type { CheckDef } from '../types.js';
import { fail, pass, skip, warn } from './outcome.js';

const INSTALL_QEMU =
  '`sudo apt-get install -y --no-install-recommends qemu-system-x86` (Debian/Ubuntu) or `sudo dnf install qemu-system-x86-core` (Fedora)';
/** microvm with acpi=on and the options kvmbench passes need QEMU 6.0 or later. */
const MIN_QEMU = [6, 0];

export const qemu: CheckDef = {
  id: 'vmm.qemu',
  title: `${QEMU_BINARY} found`,
  profile: 'vmm',
  async run(ctx) {
    const q = await ctx.facts.qemu();
    if (!q.found) return fail([`${QEMU_BINARY}: ${q.error ?? 'not usable'}`], INSTALL_QEMU);
    const ev = [`${QEMU_BINARY} --version: ${q.versionLine ?? '(no output)'}`];
    if (!q.version)
      return warn(ev, 'cannot parse the QEMU version; kvmbench expects upstream-style `QEMU emulator version X.Y.Z`');
    const [maj, min] = q.version.split('.').map(Number);
    if (maj! < MIN_QEMU[0]! || (maj === MIN_QEMU[0] && min! < MIN_QEMU[1]!)) {
      return warn(ev, `QEMU ${q.version} is older than ${MIN_QEMU.join('.')}: microvm cases may fail; ${INSTALL_QEMU}`);
    }
    return pass(ev);
  },
};

export const qemuAccel: CheckDef = {
  id: 'vmm.qemu-accel',
  title: 'QEMU accelerators (-accel help)',
  profile: 'vmm',
  async run(ctx) {
    const q = await ctx.facts.qemu();
    if (!q.found) return skip(['QEMU not found'], 'resolve vmm.qemu first');
    if (!q.accels)
      return warn([`${QEMU_BINARY} -accel help: no answer`], 'check that the QEMU binary runs: `qemu-system-x86_64 -accel help`');
    const ev = [`${QEMU_BINARY} -accel help: ${q.accels.join(', ') || '(none)'}`];
    const kvm = q.accels.includes('kvm');
    const tcg = q.accels.includes('tcg');
    if (!kvm && !tcg) return fail(ev, `this QEMU has neither kvm nor tcg; ${INSTALL_QEMU}`);
    if (!kvm)
      return warn([...ev, 'built without KVM: guests can only run under TCG'], `install a QEMU built with KVM: ${INSTALL_QEMU}`);
    if (!tcg)
      return warn(
        [...ev, 'built without TCG: no fallback where KVM is unusable'],
        `install a QEMU with TCG for hosts without KVM: ${INSTALL_QEMU}`,
      );
    ev.push(
      ctx.probe.usable
        ? 'kvm is listed and the probe says KVM works'
        : 'kvm is listed, but this host cannot use it (see kvm.dev-open); TCG will be used',
    );
    return pass(ev);
  },
};

const FIRMWARE: Array<{ files: string[]; what: string; required: boolean }> = [
  { files: ['bios-256k.bin'], what: 'SeaBIOS for the pc and q35 machines', required: true },
  { files: ['bios-microvm.bin', 'qboot.rom'], what: 'firmware for the microvm machine', required: false },
  { files: ['linuxboot_dma.bin'], what: 'option ROM for `-kernel` on pc/q35', required: false },
  { files: ['multiboot_dma.bin'], what: 'option ROM for multiboot `-kernel` on pc/q35', required: false },
];
/** Where distribution and source builds of QEMU look for firmware (what `-L help` prints for them). */
const DATA_DIRS = [
  '/usr/share/qemu',
  '/usr/share/seabios',
  '/usr/lib/ipxe/qemu',
  '/usr/local/share/qemu',
  '/usr/local/share/seabios',
  '/usr/share/qemu-firmware',
];

export const firmware: CheckDef = {
  id: 'vmm.firmware',
  title: 'QEMU firmware files',
  profile: 'vmm',
  async run(ctx) {
    const q = await ctx.facts.qemu();
    if (!q.found) return skip(['QEMU not found'], 'resolve vmm.qemu first');
    const dirs = (await Promise.all(DATA_DIRS.map(async (d) => ((await ctx.reader.exists(d)) ? d : undefined)))).filter(
      (d): d is string => Boolean(d),
    );
    const ev = [`firmware directories present: ${dirs.join(', ') || 'none'}`];
    const missingRequired: string[] = [];
    const missingOptional: string[] = [];
    for (const fw of FIRMWARE) {
      let found: string | undefined;
      for (const f of fw.files) {
        for (const d of dirs) {
          if (await ctx.reader.exists(`${d}/${f}`)) {
            found = `${d}/${f}`;
            break;
          }
        }
        if (found) break;
      }
      ev.push(`${fw.files.join(' or ')} (${fw.what}): ${found ?? 'missing'}`);
      if (!found) (fw.required ? missingRequired : missingOptional).push(fw.files.join(' or '));
    }
    if (missingRequired.length)
      return fail(
        ev,
        `QEMU cannot start pc/q35 guests without ${missingRequired.join(', ')}: \`sudo apt-get install -y seabios\` (Debian/Ubuntu) or reinstall QEMU`,
      );
    if (missingOptional.length)
      return warn(
        ev,
        `some machine types or boot paths will fail without ${missingOptional.join(', ')}; reinstall QEMU's data files (Debian: \`qemu-system-data\`, \`seabios\`)`,
      );
    return pass(ev);
  },
};

export const nestedState: CheckDef = {
  id: 'nested.state',
  title: 'Nested virtualization for guests of this host',
  profile: 'nested',
  async run(ctx) {
    const cpu = await ctx.facts.cpu();
    const v = vendorInfo(cpu.vendor);
    const mods = await ctx.facts.modules();
    const virt = await ctx.facts.virtualization();
    const ev: string[] = [];
    if (virt.virtualized)
      ev.push(
        `this host is itself a guest${virt.kind ? ` (${v ? `${v.name} under ` : ''}${virt.kind})` : ''}: its guests would be nested one level deeper`,
      );
    if (!ctx.probe.usable) {
      return fail(
        [
          ...ev,
          `no usable KVM here (${ctx.probe.stage}${ctx.probe.errno ? ` ${ctx.probe.errno}` : ''}), so guests cannot get nested virtualization either`,
        ],
        ctx.results.get('kvm.dev-open')?.fix ?? 'make KVM usable first (profile kvm)',
      );
    }
    const vendorMod = mods.find((m) => m.name === 'kvm_intel' || m.name === 'kvm_amd');
    if (!vendorMod) {
      const other = mods.filter((m) => /^kvm_/.test(m.name)).map((m) => m.name);
      return warn(
        [...ev, `KVM is provided by ${other.join(', ') || 'an unknown module'}, which has no \`nested\` parameter`],
        'nested guests are not offered by this KVM flavour; run nested tests on a host with kvm_intel or kvm_amd and nested=1',
      );
    }
    const raw = vendorMod.params.nested;
    ev.push(`/sys/module/${vendorMod.name}/parameters/nested = ${raw ?? '(absent)'}`);
    const on = parseBool(raw);
    if (on) {
      const extra =
        vendorMod.name === 'kvm_intel' && cpu.vmxFlags.size
          ? `; vmx flags: shadow_vmcs ${cpu.vmxFlags.has('shadow_vmcs') ? 'yes' : 'no'}`
          : '';
      return pass([...ev, `guests started with \`-cpu host\` (or +${v?.flag ?? 'vmx'}) can run KVM themselves${extra}`]);
    }
    return fail(
      ev,
      `\`echo "options ${vendorMod.name} nested=1" | sudo tee /etc/modprobe.d/kvm-nested.conf\`, then with no VMs running \`sudo modprobe -r ${vendorMod.name} && sudo modprobe ${vendorMod.name}\` (no reboot needed); give guests \`-cpu host\``,
    );
  },
};

export const vhostNet: CheckDef = {
  id: 'io.vhost-net',
  title: '/dev/vhost-net (in-kernel virtio-net backend)',
  profile: 'io',
  async run(ctx) {
    const st = await ctx.reader.stat('/dev/vhost-net');
    const mod = await ctx.facts.module('vhost_net');
    const ev = [`/sys/module/vhost_net: ${mod ? (mod.state === 'builtin' ? 'built in' : mod.state) : 'absent'}`];
    if (!st)
      return fail(
        [...ev, '/dev/vhost-net: does not exist'],
        '`sudo modprobe vhost_net` (and add `vhost_net` to /etc/modules-load.d/ to keep it)',
      );
    const id = ctx.reader.identity();
    const group = await ctx.facts.groupName(st.gid);
    ev.push(`/dev/vhost-net: mode 0${st.mode.toString(8)}, group ${group ?? st.gid}`);
    const canOpen =
      id.uid === 0 ||
      (st.uid === id.uid && (st.mode & 0o600) === 0o600) ||
      (id.groups.includes(st.gid) && (st.mode & 0o060) === 0o060) ||
      (st.mode & 0o006) === 0o006;
    if (!canOpen)
      return warn(
        [...ev, `user ${id.user ?? id.uid} cannot open it read-write`],
        `\`sudo chgrp kvm /dev/vhost-net && sudo chmod 0660 /dev/vhost-net\` (persist with a udev rule) and be in group kvm; without it QEMU falls back to user-space virtio-net`,
      );
    return pass(ev);
  },
};

export const hugepages: CheckDef = {
  id: 'io.hugepages',
  title: 'Huge pages (hugetlbfs) for guest RAM',
  profile: 'io',
  async run(ctx) {
    const mem = parseMeminfo((await ctx.reader.readText('/proc/meminfo')) ?? '');
    const sizes = (await ctx.reader.readdir('/sys/kernel/mm/hugepages')) ?? [];
    const counts = await Promise.all(sizes.map((s) => ctx.reader.readText(`/sys/kernel/mm/hugepages/${s}/nr_hugepages`)));
    const ev = [`/proc/meminfo: HugePages_Total ${mem.HugePages_Total ?? '?'}, Hugepagesize ${mem.Hugepagesize ?? '?'} kB`];
    if (sizes.length) ev.push(sizes.map((s, i) => `${s}: ${counts[i]?.trim() ?? '?'}`).join(', '));
    const mounts = (await ctx.reader.readText('/proc/mounts')) ?? '';
    const htlb = mounts
      .split('\n')
      .filter((l) => l.split(' ')[2] === 'hugetlbfs')
      .map((l) => l.split(' ')[1]);
    ev.push(`hugetlbfs mounted at: ${htlb.join(', ') || 'nowhere'}`);
    const total = counts.reduce((a, c) => a + (Number(c?.trim()) || 0), 0) || (mem.HugePages_Total ?? 0);
    if (!total)
      return warn(
        ev,
        'no huge pages reserved, so hugepage-backed guest RAM (`-mem-path`/memory-backend-file with hugetlbfs) is unavailable; `echo 512 | sudo tee /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages` reserves 1 GiB',
      );
    return pass(ev);
  },
};

export const iommu: CheckDef = {
  id: 'io.iommu',
  title: 'IOMMU groups (VFIO device passthrough)',
  profile: 'io',
  async run(ctx) {
    const groups = (await ctx.reader.readdir('/sys/kernel/iommu_groups')) ?? [];
    const units = (await ctx.reader.readdir('/sys/class/iommu')) ?? [];
    const cmdline = ((await ctx.reader.readText('/proc/cmdline')) ?? '').trim();
    const opts = cmdline.split(/\s+/).filter((o) => /^(intel_iommu|amd_iommu|iommu)=/.test(o));
    const ev = [
      `/sys/kernel/iommu_groups: ${groups.length} groups`,
      `/sys/class/iommu: ${units.join(', ') || 'none'}`,
      `kernel command line: ${opts.join(' ') || 'no iommu options'}`,
    ];
    if (groups.length) return pass(ev);
    const v = vendorInfo((await ctx.facts.cpu()).vendor);
    // AMD's IOMMU is on by default once the firmware exposes it (amd_iommu= takes no "on"); Intel's needs intel_iommu=on.
    const amd = v?.name === 'AMD' || v?.name === 'Hygon';
    const kernel = amd
      ? `the kernel enables it by default (remove any \`amd_iommu=off\` or \`iommu=off\`; \`iommu=pt\` keeps host DMA fast)`
      : 'add `intel_iommu=on iommu=pt` to the kernel command line';
    return warn(
      ev,
      `no IOMMU groups: VFIO passthrough is unavailable (virtio I/O does not need it); enable ${amd ? 'the IOMMU (AMD-Vi)' : 'VT-d'} in the firmware and ${kernel} (reboot needed)`,
    );
  },
};

export const VMM_CHECKS: CheckDef[] = [qemu, qemuAccel, firmware];
export const NESTED_CHECKS: CheckDef[] = [nestedState];
export const IO_CHECKS: CheckDef[] = [vhostNet, hugepages, iommu];
