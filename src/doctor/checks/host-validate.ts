/**
 * The host checks libvirt's `virt-host-validate` makes that the other profiles did not:
 * cgroup controllers for the user running VMs (profile `vmm`), /dev/net/tun and an IOMMU the
 * kernel actually enabled (profile `io`). kvmbench's own cases need none of them (no guest
 * networking, no passthrough, no cgroups), so they warn rather than fail.
 */
import { vendorInfo } from '../../host/facts.js';
import type { CheckDef } from '../types.js';
import { pass, skip, warn } from './outcome.js';

/** The controllers a VMM confines a guest with (v1 calls `io` `blkio`). */
const CONTROLLERS = ['cpu', 'cpuset', 'memory', 'io', 'pids'] as const;

interface CgroupLine {
  id: string;
  controllers: string[];
  path: string;
}

function parseProcCgroup(text: string): CgroupLine[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [id = '', ctrl = '', ...rest] = l.split(':');
      return { id, controllers: ctrl ? ctrl.split(',') : [], path: rest.join(':') || '/' };
    });
}

interface Mount {
  where: string;
  type: string;
  opts: string[];
}

function parseMounts(text: string): Mount[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [, where = '', type = '', opts = ''] = l.split(' ');
      return { where, type, opts: opts.split(',') };
    });
}

const join = (base: string, path: string): string => (path === '/' ? base : `${base}${path}`);

export const cgroups: CheckDef = {
  id: 'vmm.cgroups',
  title: 'cgroup controllers for VMs (cpu, cpuset, memory, io, pids)',
  profile: 'vmm',
  async run(ctx) {
    const self = await ctx.reader.readText('/proc/self/cgroup');
    if (self === undefined)
      return skip(['/proc/self/cgroup: not readable'], 'nothing to check on this host: it shows no cgroups');
    const lines = parseProcCgroup(self);
    const mounts = parseMounts((await ctx.reader.readText('/proc/mounts')) ?? '');
    const id = ctx.reader.identity();
    const ev: string[] = [];
    const available = new Map<string, string>();
    let readOnly: string | undefined;

    // cgroup v2: the controllers this process's cgroup may use, and for a user those systemd delegates to them.
    const unified = lines.find((l) => l.id === '0' && l.controllers.length === 0);
    const v2 = mounts.find((m) => m.type === 'cgroup2');
    let v2Root: Set<string> | undefined;
    if (unified && v2) {
      const read = async (dir: string): Promise<Set<string> | undefined> => {
        const t = await ctx.reader.readText(`${dir}/cgroup.controllers`);
        return t === undefined ? undefined : new Set(t.trim().split(/\s+/).filter(Boolean));
      };
      v2Root = await read(v2.where);
      const own = await read(join(v2.where, unified.path));
      ev.push(
        `cgroup v2 at ${v2.where}: this process's cgroup ${unified.path} has ${own ? [...own].join(' ') || 'no controllers' : 'no cgroup.controllers'}`,
      );
      let usable = own;
      if (id.uid !== 0) {
        const svc = `${v2.where}/user.slice/user-${id.uid}.slice/user@${id.uid}.service`;
        const delegated = await read(svc);
        if (delegated) {
          ev.push(`delegated to user ${id.user ?? id.uid} by systemd (${svc}): ${[...delegated].join(' ') || 'none'}`);
          usable = delegated;
        }
      }
      for (const c of usable ?? []) available.set(c, 'v2');
      if (v2.opts.includes('ro')) readOnly = v2.where;
    }
    // cgroup v1 (or hybrid): one hierarchy per controller, mounted where /proc/mounts says.
    const v1 = lines.filter((l) => l.controllers.length && !l.controllers.every((c) => c.startsWith('name=')));
    if (v1.length) {
      const names = v1.flatMap((l) => l.controllers.filter((c) => !c.startsWith('name=')));
      ev.push(`cgroup v1 hierarchies of this process: ${names.join(', ')}`);
      for (const n of names) {
        const c = n === 'blkio' ? 'io' : n;
        if (!available.has(c)) available.set(c, 'v1');
      }
      const ro = mounts.filter((m) => m.type === 'cgroup' && m.opts.includes('ro')).map((m) => m.where);
      if (ro.length) readOnly ??= ro.join(', ');
    }
    if (!ev.length)
      return skip(
        [`/proc/self/cgroup: ${self.trim().split('\n').join(' | ') || '(empty)'}; no cgroup filesystem mounted`],
        'nothing to check: no cgroup filesystem is mounted here',
      );

    const missing = CONTROLLERS.filter((c) => !available.has(c));
    ev.push(
      `available: ${
        CONTROLLERS.filter((c) => available.has(c))
          .map((c) => `${c} (${available.get(c)})`)
          .join(', ') || 'none'
      }`,
    );
    if (missing.length) {
      const notInKernel = v2Root ? missing.filter((c) => !v2Root!.has(c)) : [];
      const fix =
        notInKernel.length && !v1.length
          ? `the kernel offers no ${notInKernel.join(', ')} controller: remove \`cgroup_disable=\` from the kernel command line, or use a kernel built with it; reboot`
          : id.uid === 0
            ? `enable them for child cgroups: \`echo "${missing.map((c) => `+${c}`).join(' ')}" | sudo tee /sys/fs/cgroup/cgroup.subtree_control\` (and in each cgroup down to the VMs'; systemd does it for units with Delegate=yes, as libvirt's machine.slice)`
            : `let systemd delegate them to your user: \`sudo systemctl edit user@.service\` with \`[Service]\` \`Delegate=cpu cpuset io memory pids\`, log in again, and start VMs with \`systemd-run --user --scope -p Delegate=yes ...\``;
      return warn([...ev, `missing: ${missing.join(', ')}: a VMM cannot confine guests by them`], fix);
    }
    if (readOnly) {
      return warn(
        [...ev, `the cgroup filesystem is mounted read-only (${readOnly}): a VMM here cannot create cgroups for its guests`],
        'inside a container: run it with a writable cgroup namespace (docker/podman `--cgroupns=private` and a cgroup manager that delegates), or run the VMM on the host',
      );
    }
    return pass(ev);
  },
};

export const tun: CheckDef = {
  id: 'io.tun',
  title: "/dev/net/tun (tap networking, vhost-net's backend)",
  profile: 'io',
  async run(ctx) {
    const st = await ctx.reader.stat('/dev/net/tun');
    const why =
      "tap networking (`-netdev tap`, bridges, vhost-net) is unavailable; kvmbench's net suite falls back to QEMU user networking (no host baseline)";
    const ev: string[] = [];
    if (!st) {
      ev.push(`/sys/module/tun: ${(await ctx.reader.exists('/sys/module/tun')) ? 'present' : 'absent (not loaded)'}`);
      const c = await ctx.facts.container();
      return warn(
        [...ev, `/dev/net/tun: does not exist: ${why}`],
        c.container
          ? 'start the container with `--device /dev/net/tun` (docker/podman) and the NET_ADMIN capability'
          : '`sudo modprobe tun` (add `tun` to /etc/modules-load.d/ to keep it)',
      );
    }
    const id = ctx.reader.identity();
    ev.push(
      `/dev/net/tun: ${st.type === 'char' ? 'character device' : st.type}${st.rdev ? ` ${st.rdev}` : ''}, mode 0${st.mode.toString(8)}`,
    );
    const open =
      id.uid === 0 ||
      (st.mode & 0o006) === 0o006 ||
      (id.groups.includes(st.gid) && (st.mode & 0o060) === 0o060) ||
      (st.uid === id.uid && (st.mode & 0o600) === 0o600);
    if (!open)
      return warn(
        [...ev, `user ${id.user ?? id.uid} cannot open it: ${why} for this user`],
        '`sudo chmod 0666 /dev/net/tun` (its usual mode; creating a tap device still needs CAP_NET_ADMIN or a pre-created persistent tap)',
      );
    return pass(ev);
  },
};

export const iommuKernel: CheckDef = {
  id: 'io.iommu-kernel',
  title: 'IOMMU enabled by the firmware and the kernel (DMAR/IVRS, IOMMU units)',
  profile: 'io',
  async run(ctx) {
    const cpu = await ctx.facts.cpu();
    const v = vendorInfo(cpu.vendor);
    const amd = v?.name === 'AMD' || v?.name === 'Hygon';
    const [units = [], groups = [], cmdline = '', dmar, ivrs, log] = await Promise.all([
      ctx.reader.readdir('/sys/class/iommu'),
      ctx.reader.readdir('/sys/kernel/iommu_groups'),
      ctx.reader.readText('/proc/cmdline'),
      ctx.reader.exists('/sys/firmware/acpi/tables/DMAR'),
      ctx.reader.exists('/sys/firmware/acpi/tables/IVRS'),
      ctx.facts.kernelLog(),
    ]);
    const opts = cmdline
      .trim()
      .split(/\s+/)
      .filter((o) => /^(intel_iommu|amd_iommu|iommu)=/.test(o));
    const ev = [
      `ACPI tables: DMAR (VT-d) ${dmar ? 'present' : 'absent'}, IVRS (AMD-Vi) ${ivrs ? 'present' : 'absent'}`,
      `/sys/class/iommu: ${units.join(', ') || 'none'}; /sys/kernel/iommu_groups: ${groups.length} groups`,
      `kernel command line: ${opts.join(' ') || 'no iommu options'}`,
    ];
    const logLines = log.lines.filter((l) =>
      /DMAR: IOMMU enabled|AMD-Vi: (Found IOMMU|Interrupt remapping|.*IOMMU.*(enabled|disabled))|iommu: Default domain type/i.test(
        l,
      ),
    );
    if (logLines.length)
      ev.push(
        `kernel log: ${logLines
          .slice(0, 3)
          .map((l) => l.replace(/^\[\s*[\d.]+\]\s*/, '').trim())
          .join(' | ')}`,
      );
    if (units.length) return pass([...ev, `the kernel drives ${units.length} IOMMU unit${units.length === 1 ? '' : 's'}`]);
    if (cpu.flags.has('hypervisor')) {
      return skip(
        [...ev, 'this host is a VM without a virtual IOMMU: device passthrough inside it would need one'],
        'only for passthrough inside this VM: its host must give it a virtual IOMMU (QEMU: `-device intel-iommu` on q35, or `-device virtio-iommu-pci`)',
      );
    }
    const off = opts.filter((o) => /^(intel_iommu|amd_iommu|iommu)=off$/.test(o));
    if (off.length)
      return warn(
        [...ev, `the kernel command line turns the IOMMU off (${off.join(' ')})`],
        `remove \`${off.join(' ')}\` from the kernel command line (GRUB_CMDLINE_LINUX in /etc/default/grub, then \`sudo update-grub\`) and reboot`,
      );
    if (!amd && dmar) {
      return warn(
        [
          ...ev,
          'the firmware describes VT-d (ACPI DMAR) but the kernel did not enable it: kernels built without CONFIG_INTEL_IOMMU_DEFAULT_ON need `intel_iommu=on`',
        ],
        'add `intel_iommu=on iommu=pt` to the kernel command line (GRUB_CMDLINE_LINUX, `sudo update-grub`) and reboot',
      );
    }
    if (amd && ivrs) {
      return warn(
        [...ev, 'the firmware describes AMD-Vi (ACPI IVRS) but the kernel brought up no IOMMU'],
        '`sudo dmesg | grep -i AMD-Vi` says why; check that the kernel has CONFIG_AMD_IOMMU and no `amd_iommu=off`',
      );
    }
    return warn(
      [...ev, 'no ACPI DMAR/IVRS table: the firmware offers no IOMMU (disabled or absent)'],
      `enable ${amd ? '"IOMMU" (AMD-Vi)' : '"VT-d" (Intel Virtualization Technology for Directed I/O)'} in the firmware setup, save and power-cycle`,
    );
  },
};
