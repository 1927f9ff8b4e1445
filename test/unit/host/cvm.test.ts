/**
 * Profile cvm (confidential VMs) in detail: the parsers of CPUID 0x8000001F and of the kernel's
 * SEV/TDX messages, what each new fixture's checks say, and variations of those hosts that
 * move the cause to another layer (firmware ASIDs, KVM parameters, the SEV firmware, QEMU).
 * Verdicts and failing ids of the fixtures themselves are pinned in test/unit/doctor/fixtures.test.ts.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Chalk } from 'chalk';
import { afterAll, describe, expect, it } from 'vitest';
import { runDoctor, type DoctorReport, type ProfileSelection } from '../../../src/doctor/index.js';
import { renderText } from '../../../src/report/doctor/text.js';
import { parseSevCpuid, parseSevLog, parseTdxLog } from '../../../src/host/cvm.js';
import { FixtureHostReader } from '../../../src/host/fixture-reader.js';

const HOSTS = join(import.meta.dirname, '../../fixtures/hosts');
const CVM = ['cvm.cpu', 'cvm.mem-encrypt', 'cvm.kvm', 'cvm.firmware', 'cvm.sev-device', 'cvm.qemu'];

const doctor = (dir: string, profile: ProfileSelection = 'cvm'): Promise<DoctorReport> =>
  runDoctor(new FixtureHostReader(dir), { profile });
const check = (r: DoctorReport, id: string) => {
  const c = r.checks.find((x) => x.id === id);
  if (!c) throw new Error(`no check ${id}`);
  return c;
};
const statuses = (r: DoctorReport): Record<string, string> =>
  Object.fromEntries(r.checks.filter((c) => c.profile === 'cvm').map((c) => [c.id, c.status]));
const text = (r: DoctorReport, id: string): string => check(r, id).evidence.join('\n');

describe('parsers', () => {
  it('decodes CPUID 0x8000001F: modes, C-bit, ASIDs', () => {
    const id = parseSevCpuid({ eax: 0x0101fd3f, ebx: 0x4073, ecx: 1006, edx: 100 });
    expect(id).toMatchObject({
      sme: true,
      sev: true,
      sevEs: true,
      sevSnp: true,
      cbitPos: 51,
      physBitsReduction: 1,
      maxAsid: 1006,
      minSevAsid: 100,
    });
    expect(parseSevCpuid({ eax: 0, ebx: 0, ecx: 0, edx: 0 })).toMatchObject({ sev: false, sevEs: false, sevSnp: false });
  });

  it("reads kvm_amd's summaries in the old and new wording, the SEV firmware version and failures", () => {
    const log = parseSevLog([
      '[    6.2] ccp 0000:42:00.1: SEV-SNP API:1.55 build:37',
      '[    8.3] kvm_amd: SEV enabled (ASIDs 100 - 1006)',
      '[    8.3] kvm_amd: SEV-ES disabled (ASIDs 0 - 0)',
      '[    8.3] kvm_amd: SEV-SNP unusable (ASIDs 1 - 99)',
      '[    1.4] AMD-Vi: SNP: IOMMU disabled or configured in passthrough mode, SNP cannot be supported.',
      '[    5.1] ccp 0000:42:00.1: SEV: failed to INIT error 0x1, rc -5',
    ]);
    expect(log.api).toMatchObject({ major: 1, minor: 55, build: 37, snp: true });
    expect(log.kvm.sev).toMatchObject({ state: 'enabled', asids: '100 - 1006' });
    expect(log.kvm['sev-es']?.state).toBe('disabled');
    expect(log.kvm['sev-snp']?.state).toBe('unusable');
    expect(log.iommuSnp).toMatch(/passthrough/);
    expect(log.failures).toEqual(['ccp 0000:42:00.1: SEV: failed to INIT error 0x1, rc -5']);
    const old = parseSevLog([
      'kvm_amd: SEV supported: 410 ASIDs',
      'kvm_amd: SEV-ES supported: 99 ASIDs',
      'ccp 0000:01:00.5: SEV API:0.17 build:5',
    ]);
    expect(old.kvm.sev).toMatchObject({ state: 'supported', asids: '410 ASIDs' });
    expect(old.api).toMatchObject({ major: 0, minor: 17, snp: false });
  });

  it('reads the TDX KeyID range, the module state and TME', () => {
    const log = parseTdxLog([
      '[    0.0] x86/tme: enabled by BIOS',
      '[    0.0] x86/mktme: disabled by BIOS',
      '[    2.3] virt/tdx: BIOS enabled: private KeyID range [64, 128)',
      '[   11.8] virt/tdx: module initialized',
      '[    3.0] virt/tdx: initialization failed: Hibernation support is enabled',
    ]);
    expect(log.keyids).toMatchObject({ start: 64, end: 128 });
    expect(log.initialized).toBe('virt/tdx: module initialized');
    expect(log.tme?.enabled).toBe(true);
    expect(log.mktme?.enabled).toBe(false);
    expect(log.failures).toHaveLength(1);
    expect(parseTdxLog(['virt/tdx: TDX-Module initialized']).initialized).toBeDefined();
  });
});

describe('the new fixtures', () => {
  it('amd-sev-snp: every layer ready, up to SEV-SNP, with the evidence of each', async () => {
    const r = await doctor(join(HOSTS, 'amd-sev-snp'));
    expect(Object.values(statuses(r))).toEqual(['pass', 'pass', 'pass', 'pass', 'pass', 'pass']);
    expect(text(r, 'cvm.cpu')).toMatch(/available: SEV \(ASIDs 100 - 1006\), SEV-ES \(ASIDs 1 - 99\), SEV-SNP \(ASIDs 1 - 99\)/);
    expect(text(r, 'cvm.cpu')).toMatch(/MemEncryptionModEn 1, SNPEn 1/);
    expect(text(r, 'cvm.kvm')).toMatch(/sev_snp = Y/);
    expect(text(r, 'cvm.firmware')).toMatch(/API 1\.55 build 37, SEV-SNP initialized/);
    expect(text(r, 'cvm.qemu')).toMatch(/query-sev-capabilities: cbitpos 51, reduced-phys-bits 1/);
    expect(text(r, 'cvm.qemu')).toMatch(/SEV-SNP: sev-snp-guest offered/);
    expect(text(r, 'cvm.mem-encrypt')).toMatch(/do not need it/);
  });

  it('amd-sev-bios-disabled: one cause (the firmware), its BIOS fix, and the layers above not reached', async () => {
    const r = await doctor(join(HOSTS, 'amd-sev-bios-disabled'));
    const cpu = check(r, 'cvm.cpu');
    expect(cpu.status).toBe('fail');
    expect(cpu.evidence.join('\n')).toMatch(/SEV 1, SEV-ES 1, SEV-SNP 1/);
    expect(cpu.evidence.join('\n')).toMatch(/MemEncryptionModEn 0/);
    expect(cpu.evidence.at(-1)).toMatch(/firmware has not enabled memory encryption/);
    expect(cpu.fix).toMatch(/SMEE/);
    for (const id of CVM.slice(1)) {
      expect(check(r, id).status, id).toBe('skip');
      expect(check(r, id).evidence[0], id).toMatch(/^not reached: .*\(cvm\.cpu\)$/);
      expect(check(r, id).fix, id).toBe(cpu.fix);
    }
  });

  it('intel-tdx: KeyIDs, TME, kvm_intel tdx=Y, the module initialized, QEMU with tdx-guest', async () => {
    const r = await doctor(join(HOSTS, 'intel-tdx'));
    expect(statuses(r)).toEqual({
      'cvm.cpu': 'pass',
      'cvm.mem-encrypt': 'pass',
      'cvm.kvm': 'pass',
      'cvm.firmware': 'pass',
      'cvm.sev-device': 'skip',
      'cvm.qemu': 'pass',
    });
    expect(text(r, 'cvm.cpu')).toMatch(/TDX \(private KeyIDs \[64, 128\): 63 for guests\)/);
    expect(text(r, 'cvm.mem-encrypt')).toMatch(/TME enable 1/);
    expect(text(r, 'cvm.firmware')).toMatch(/Initializing TDX module: 1\.5\.06/);
    expect(text(r, 'cvm.qemu')).toMatch(/TDX: tdx-guest offered/);
  });

  it.each([
    ['pvm-nested', /virtual machine/],
    ['vm-no-nested', /virtual machine/],
    ['intel-baremetal', /has no TDX/],
    ['container-eacces', /has no TDX/],
    ['amd-svm-disabled', /SVM\) is disabled in the firmware/],
  ])('%s has no confidential-VM hardware to use: skips that say why, each with a fix', async (name, why) => {
    const r = await doctor(join(HOSTS, name));
    expect(r.verdict).toBe('pass');
    for (const id of CVM) {
      expect(check(r, id).status, id).toBe('skip');
      expect(check(r, id).fix, id).toBeTruthy();
    }
    expect(check(r, 'cvm.cpu').evidence.at(-1)).toMatch(why);
  });
});

describe('variations of the confidential-VM hosts', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'kvmbench-cvm-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  let n = 0;
  /** A copy of a fixture with files replaced (JSON objects merged into JSON files, strings written as is; null deletes). */
  function variant(base: string, files: Record<string, unknown>): string {
    const dir = join(tmp, `${base}-${n++}`);
    cpSync(join(HOSTS, base), dir, { recursive: true });
    for (const [f, v] of Object.entries(files)) {
      const p = join(dir, f);
      mkdirSync(dirname(p), { recursive: true });
      if (v === null) rmSync(p, { force: true });
      else if (typeof v === 'string') writeFileSync(p, v);
      else
        writeFileSync(
          p,
          JSON.stringify({ ...(f.endsWith('.json') ? (JSON.parse(readFileSync(p, 'utf8')) as object) : {}), ...(v as object) }),
        );
    }
    return dir;
  }
  const dmesg = (base: string, edit: (s: string) => string): Record<string, unknown> => {
    const cmds = JSON.parse(readFileSync(join(HOSTS, base, 'commands.json'), 'utf8')) as Record<string, { stdout: string }>;
    return { 'commands.json': { dmesg: { exitCode: 0, stdout: edit(cmds.dmesg!.stdout) } } };
  };

  it('SEV-ES ASID Space Limit left at 1: SEV works, SEV-ES and SEV-SNP have no ASIDs (warn, BIOS fix)', async () => {
    const dir = variant('amd-sev-snp', {
      'cpuid.json': { '0x8000001f': { eax: '0x0101fd3f', ebx: '0x4073', ecx: '0x3ee', edx: '0x1' } },
    });
    const r = await doctor(dir);
    const cpu = check(r, 'cvm.cpu');
    expect(cpu.status).toBe('warn');
    expect(cpu.evidence.join('\n')).toMatch(/no ASIDs are left for SEV-ES/);
    expect(cpu.fix).toMatch(/SEV-ES ASID Space Limit/);
    expect(text(r, 'cvm.kvm')).not.toMatch(/SEV-SNP/); // only modes the firmware left on are judged further
    expect(r.verdict).toBe('warn');
  });

  it('a QEMU older than 9.1 launches SEV and SEV-ES but not SEV-SNP (warn, upgrade fix)', async () => {
    const key = 'kvm: qom-list-types {"implements":"confidential-guest-support","abstract":false}; query-sev-capabilities';
    const dir = variant('amd-sev-snp', {
      'commands.json': {
        'qemu-system-x86_64 --version': { exitCode: 0, stdout: 'QEMU emulator version 8.2.2 (Debian 1:8.2.2+ds-0ubuntu1.4)\n' },
      },
      'qmp.json': {
        [key]: {
          answered: true,
          replies: [
            { execute: 'qom-list-types', return: [{ name: 'sev-guest' }] },
            { execute: 'query-sev-capabilities', return: { cbitpos: 51, 'reduced-phys-bits': 1 } },
          ],
        },
      },
    });
    const q = check(await doctor(dir), 'cvm.qemu');
    expect(q.status).toBe('warn');
    expect(q.evidence.join('\n')).toMatch(/SEV-SNP: sev-snp-guest missing/);
    expect(q.fix).toMatch(/QEMU 9\.1 or later/);
  });

  it('without the QMP answer the QEMU version decides', async () => {
    const dir = variant('amd-sev-snp', {
      'qmp.json': null,
      'commands.json': {
        'qemu-system-x86_64 --version': {
          exitCode: 0,
          stdout: 'QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\n',
        },
      },
    });
    const q = check(await doctor(dir), 'cvm.qemu');
    expect(q.status).toBe('warn');
    expect(q.evidence.join('\n')).toMatch(/QMP: no answer/);
    expect(q.evidence.join('\n')).toMatch(/SEV-SNP: QEMU 7\.2\.22 < 9\.1/);
  });

  it('kvm_amd turned SEV-SNP off because the IOMMU is in passthrough: cvm.kvm says so and how to fix it', async () => {
    const dir = variant('amd-sev-snp', {
      'sys/module/kvm_amd/parameters/sev_snp': 'N\n',
      'proc/cmdline': 'BOOT_IMAGE=/boot/vmlinuz-6.12.41+deb13-amd64 ro iommu=pt\n',
      ...dmesg('amd-sev-snp', (s) =>
        s
          .replace(
            'AMD-Vi: IOMMU SNP support enabled.',
            'AMD-Vi: SNP: IOMMU disabled or configured in passthrough mode, SNP cannot be supported.',
          )
          .replace('SEV-SNP enabled (ASIDs', 'SEV-SNP disabled (ASIDs'),
      ),
    });
    const r = await doctor(dir);
    const k = check(r, 'cvm.kvm');
    expect(k.status).toBe('warn');
    expect(k.evidence.join('\n')).toMatch(/sev_snp = N.*passthrough mode/);
    expect(k.fix).toMatch(/remove `iommu=pt`/);
  });

  it('a modprobe.d option that turned SEV-SNP off is named in the fix', async () => {
    const dir = variant('amd-sev-snp', {
      'sys/module/kvm_amd/parameters/sev_snp': 'N\n',
      'etc/modprobe.d/kvm-amd.conf': 'options kvm_amd nested=1 sev_snp=0\n',
    });
    const k = check(await doctor(dir), 'cvm.kvm');
    expect(k.status).toBe('warn');
    expect(k.fix).toMatch(/\/etc\/modprobe\.d\/kvm-amd\.conf/);
  });

  it('Linux older than 6.11 has no sev_snp parameter: upgrade the kernel (warn: SEV and SEV-ES still work)', async () => {
    const dir = variant('amd-sev-snp', {
      'sys/module/kvm_amd/parameters/sev_snp': null,
      'proc/sys/kernel/osrelease': '6.8.0-49-generic\n',
    });
    const k = check(await doctor(dir), 'cvm.kvm');
    expect(k.status).toBe('warn');
    expect(k.evidence.join('\n')).toMatch(
      /no `sev_snp` parameter: Linux 6\.8\.0-49-generic predates SEV-SNP hosting \(upstream 6\.11\)/,
    );
    expect(k.fix).toMatch(/Linux 6\.11 or later/);
  });

  it('an SEV firmware older than 1.51 cannot run SEV-SNP', async () => {
    const dir = variant(
      'amd-sev-snp',
      dmesg('amd-sev-snp', (s) => s.replace('SEV-SNP API:1.55 build:37', 'SEV-SNP API:1.49 build:3')),
    );
    const f = check(await doctor(dir), 'cvm.firmware');
    expect(f.status).toBe('warn');
    expect(f.fix).toMatch(/amd_sev_fam/);
  });

  it('as a user: flags still show the modes, /dev/sev 0600 root is the cause, the firmware version is not readable', async () => {
    const dir = variant('amd-sev-snp', {
      'identity.json': { uid: 1000, gid: 1000, groups: [993, 1000], user: 'ops', env: {} },
      'cpuid.json': null,
      'msr.json': null,
      'qmp.json': null,
      'commands.json': {
        dmesg: { exitCode: 1, stdout: '', stderr: 'dmesg: read kernel buffer failed: Operation not permitted\n' },
      },
    });
    const r = await doctor(dir);
    expect(check(r, 'cvm.cpu').status).toBe('pass');
    expect(text(r, 'cvm.cpu')).toMatch(/CPUID 0x8000001F not read: needs root/);
    expect(check(r, 'cvm.firmware').status).toBe('warn');
    const dev = check(r, 'cvm.sev-device');
    expect(dev.status).toBe('fail');
    expect(dev.fix).toMatch(/KERNEL=="sev", GROUP="kvm", MODE="0660"/);
    expect(dev.fix).toMatch(/usermod -aG kvm ops/);
    expect(r.verdict).toBe('fail');
  });

  it('an EPYC whose CPUID cannot be read and whose kernel lists no sev: cannot tell, says how to find out', async () => {
    const dir = variant('amd-sev-bios-disabled', {
      'identity.json': { uid: 1000, gid: 1000, groups: [1000], user: 'ops', env: {} },
      'cpuid.json': null,
      'msr.json': null,
    });
    const cpu = check(await doctor(dir), 'cvm.cpu');
    expect(cpu.status).toBe('warn');
    expect(cpu.fix).toMatch(/modprobe cpuid msr/);
  });

  it('TDX left off in kvm_intel (its default): cvm.kvm fails with tdx=1, the module check waits for it', async () => {
    const dir = variant('intel-tdx', {
      'sys/module/kvm_intel/parameters/tdx': 'N\n',
      ...dmesg('intel-tdx', (s) =>
        s
          .split('\n')
          .filter((l) => !/module initialized|Initializing TDX module|PAMT/.test(l))
          .join('\n'),
      ),
    });
    const r = await doctor(dir);
    const k = check(r, 'cvm.kvm');
    expect(k.status).toBe('fail');
    expect(k.fix).toMatch(/options kvm_intel tdx=1/);
    expect(check(r, 'cvm.firmware').status).toBe('skip');
    expect(check(r, 'cvm.firmware').fix).toBe(k.fix);
    expect(r.verdict).toBe('fail');
  });

  it('TDX module refused while hibernation is possible: nohibernate', async () => {
    const dir = variant(
      'intel-tdx',
      dmesg('intel-tdx', (s) =>
        s.replace('virt/tdx: module initialized', 'virt/tdx: initialization failed: Hibernation support is enabled'),
      ),
    );
    const f = check(await doctor(dir), 'cvm.firmware');
    expect(f.status).toBe('fail');
    expect(f.fix).toMatch(/nohibernate/);
  });

  it('an Intel generation with TDX whose firmware gives it no KeyIDs: warn with the BIOS settings', async () => {
    const dir = variant('intel-tdx', {
      'msr.json': { '0x87': '0x3f' },
      'proc/cpuinfo': readFileSync(join(HOSTS, 'intel-tdx/proc/cpuinfo'), 'utf8').replaceAll(' tdx_host_platform', ''),
      ...dmesg('intel-tdx', (s) =>
        s
          .split('\n')
          .filter((l) => !/virt\/tdx/.test(l))
          .join('\n'),
      ),
    });
    const r = await doctor(dir);
    const cpu = check(r, 'cvm.cpu');
    expect(cpu.status).toBe('warn');
    expect(cpu.evidence.join('\n')).toMatch(/0 TDX KeyIDs/);
    expect(cpu.fix).toMatch(/TME-MT\/TDX key split/);
  });
});

describe('the table', () => {
  it("shows cvm.cpu's evidence when cvm decides, so a skip says why", async () => {
    const plain = new Chalk({ level: 0 });
    const vm = renderText(await doctor(join(HOSTS, 'pvm-nested')), plain);
    expect(vm).toMatch(/SKIP {2}cvm\.cpu[^\n]*\n( {8}[^\n]*\n)* {8}this host is a virtual machine/);
    const off = renderText(await doctor(join(HOSTS, 'amd-sev-bios-disabled')), plain);
    expect(off).toMatch(/FAIL {2}cvm\.cpu[\s\S]*MemEncryptionModEn 0[\s\S]*fix: in the firmware setup enable "SMEE"/);
    expect(renderText(await doctor(join(HOSTS, 'pvm-nested'), 'kvm'), plain)).not.toMatch(/this host is a virtual machine \(/);
  });
});

describe('QEMU is asked only where there is something to ask about', () => {
  // The snapshot as the doctor sees it, with its QMP action counted.
  const counting = (dir: string) => {
    const tree = new FixtureHostReader(dir);
    const host = {
      reader: tree,
      asked: 0,
      actions: {
        ...tree.actions,
        qmpQuery: (q: Parameters<typeof tree.actions.qmpQuery>[0]) => (host.asked++, tree.actions.qmpQuery(q)),
      },
    };
    return host;
  };
  it.each([
    ['pvm-nested', 0],
    ['intel-baremetal', 0],
    ['amd-sev-bios-disabled', 0],
    ['amd-sev-snp', 1],
    ['intel-tdx', 1],
  ])('%s: %i QEMU start(s)', async (name, times) => {
    const r = counting(join(HOSTS, name));
    await runDoctor(r, { profile: 'all' });
    expect(r.asked).toBe(times);
  });
});
