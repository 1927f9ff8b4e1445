/**
 * The host fingerprint every result embeds, so runs are only compared with runs from a
 * comparable host (same CPU, microcode, kernel, mitigations, KVM parameters, QEMU).
 * Reads through the same memoized facts as the doctor: one QEMU and one dmesg run at most.
 */
import type { HostFingerprint } from '../results/model.js';
import { gitRevision, kvmbenchVersion } from '../version.js';
import { hostFacts, parseMeminfo, selected } from './facts.js';
import { kvmFlavor } from './flavor.js';
import { liveHost, type HostReader } from './reader.js';

export async function collectFingerprint(reader: HostReader = liveHost()): Promise<HostFingerprint> {
  const facts = hostFacts(reader);
  const CPU = '/sys/devices/system/cpu';
  const pending = Promise.all([
    facts.cpu(),
    facts.modules(),
    facts.qemu(),
    facts.virtualization(),
    facts.container(),
    facts.wsl(),
    facts.readDirValues(`${CPU}/vulnerabilities`),
    facts.governors(),
    kvmFlavor(facts),
    Promise.all(
      [
        '/proc/sys/kernel/hostname',
        '/proc/sys/kernel/osrelease',
        '/proc/cmdline',
        '/sys/kernel/mm/transparent_hugepage/enabled',
        '/proc/meminfo',
        `${CPU}/smt/control`,
        `${CPU}/smt/active`,
      ].map((p) => reader.readText(p)),
    ),
  ]);
  // git runs synchronously; doing it here overlaps it with the QEMU and dmesg children started above.
  const revision = gitRevision();
  const probe = facts.probe();
  const [cpu, modules, qemu, virt, container, wsl, vulns, governors, flavor, text] = await pending;
  const [host, release, cmdline, thp, meminfo, smtControl, smtActive] = text;
  const fp: HostFingerprint = {};
  const set = <K extends keyof HostFingerprint>(k: K, v: HostFingerprint[K] | undefined): void => {
    if (v !== undefined && v !== '') fp[k] = v;
  };
  set('hostname', host?.trim());
  set('cpuModel', cpu.modelName);
  set('cpuVendor', cpu.vendor);
  set('cpuFamily', cpu.family);
  set('cpuModelNumber', cpu.model);
  set('cpuStepping', cpu.stepping);
  set('microcode', cpu.microcode);
  if (cpu.threads) set('threads', cpu.threads);
  set('cores', cpu.cores);
  if (smtControl !== undefined || smtActive !== undefined)
    set(
      'smt',
      `${smtControl?.trim() ?? '?'}${smtActive?.trim() === '1' ? ' (active)' : smtActive?.trim() === '0' ? ' (inactive)' : ''}`,
    );
  set('kernelRelease', release?.trim());
  set('kernelCmdline', cmdline?.trim());
  const kvmMods = modules.filter((m) => /^kvm/.test(m.name));
  if (kvmMods.length) fp.kvmModules = Object.fromEntries(kvmMods.map((m) => [m.name, m.params]));
  if (Object.keys(vulns).length) fp.mitigations = vulns;
  const govs = [...new Set(Object.values(governors))];
  if (govs.length) set('governor', govs.join(','));
  set('thp', selected(thp));
  const mem = parseMeminfo(meminfo ?? '');
  set('memTotalKiB', mem.MemTotal);
  set('qemuVersion', qemu.version ?? qemu.versionLine);
  set('nodeVersion', process.versions.node);
  set('kvmbenchVersion', kvmbenchVersion());
  set('gitRevision', revision);
  const where = [
    virt.virtualized ? `vm${virt.kind ? `:${virt.kind}` : ''}` : '',
    container.container ? `container${container.kind ? `:${container.kind}` : ''}` : '',
    wsl.wsl ? 'wsl' : '',
  ].filter(Boolean);
  set('virtualized', where.length ? where.join(',') : 'no');
  fp.kvmUsable = probe.usable;
  set('kvmProbe', `${probe.stage}${probe.errno ? ` ${probe.errno}` : ''}`);
  set('kvmApiVersion', probe.apiVersion);
  set('kvmFlavor', flavor.flavor);
  return fp;
}
