/**
 * The doctor against captured and hand-written host trees: each host's verdict and the exact
 * set of failing checks are pinned, so a change in judgement shows up as a test failure.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runDoctor, type DoctorReport, type ProfileSelection } from '../../../src/doctor/index.js';
import { FixtureHostReader } from '../../../src/host/fixture-reader.js';

const HOSTS = join(import.meta.dirname, '../../fixtures/hosts');

async function doctor(name: string, profile: ProfileSelection = 'kvm', dir = join(HOSTS, name)): Promise<DoctorReport> {
  return runDoctor(new FixtureHostReader(dir), { profile });
}
const failing = (r: DoctorReport, profile?: string): string[] =>
  r.checks
    .filter((c) => c.status === 'fail' && (!profile || c.profile === profile))
    .map((c) => c.id)
    .sort();
const check = (r: DoctorReport, id: string) => {
  const c = r.checks.find((x) => x.id === id);
  if (!c) throw new Error(`no check ${id}`);
  return c;
};

interface Expectation {
  usable: boolean;
  verdict: 'pass' | 'warn' | 'fail';
  /** Failing checks of the kvm profile (the default, deciding one). */
  kvmFails: string[];
  /** Failing checks across all profiles. */
  allFails: string[];
  /** Verdict of profile cvm (confidential VMs); hosts without SEV/TDX hardware skip every cvm check, so `pass`. */
  cvmVerdict: 'pass' | 'warn' | 'fail';
}

const EXPECTED: Record<string, Expectation> = {
  'intel-baremetal': { usable: true, verdict: 'pass', kvmFails: [], allFails: [], cvmVerdict: 'pass' },
  'amd-svm-disabled': {
    usable: false,
    verdict: 'fail',
    kvmFails: ['kvm.bios', 'kvm.dev-open', 'kvm.modules'],
    allFails: ['io.vhost-net', 'kvm.bios', 'kvm.dev-open', 'kvm.modules', 'nested.state'],
    cvmVerdict: 'pass',
  },
  // kvm_pvm provides KVM without vmx/svm: the one cause is the missing device, with its fix.
  'vm-no-nested': {
    usable: false,
    verdict: 'fail',
    kvmFails: ['kvm.dev-open'],
    allFails: ['io.vhost-net', 'kvm.dev-open', 'nested.state'],
    cvmVerdict: 'pass',
  },
  'container-eacces': {
    usable: false,
    verdict: 'fail',
    kvmFails: ['kvm.dev-open'],
    allFails: ['conform.kvm-access', 'io.vhost-net', 'kvm.dev-open', 'nested.state', 'vmm.qemu'],
    cvmVerdict: 'pass',
  },
  'container-eperm': {
    usable: false,
    verdict: 'fail',
    kvmFails: ['kvm.dev-open'],
    allFails: ['conform.kvm-access', 'io.vhost-net', 'kvm.dev-open', 'nested.state', 'vmm.qemu'],
    cvmVerdict: 'pass',
  },
  'pvm-nested': { usable: true, verdict: 'pass', kvmFails: [], allFails: ['io.vhost-net'], cvmVerdict: 'pass' },
  // Confidential VMs: every layer ready, SEV up to SEV-SNP.
  'amd-sev-snp': { usable: true, verdict: 'pass', kvmFails: [], allFails: [], cvmVerdict: 'pass' },
  // KVM works; the CPU has SEV but the firmware left SMEE off: the one cvm cause, later cvm checks skip.
  'amd-sev-bios-disabled': { usable: true, verdict: 'pass', kvmFails: [], allFails: ['cvm.cpu'], cvmVerdict: 'fail' },
  'intel-tdx': { usable: true, verdict: 'pass', kvmFails: [], allFails: [], cvmVerdict: 'pass' },
};

describe.each(Object.entries(EXPECTED))('fixture host %s', (name, want) => {
  it('has the expected verdict, kvm.usable and failing checks', async () => {
    const r = await doctor(name);
    expect(r.kvm.usable).toBe(want.usable);
    expect(r.verdict).toBe(want.verdict);
    expect(failing(r, 'kvm')).toEqual(want.kvmFails);
    expect(failing(r)).toEqual(want.allFails);
    expect(r.source).toBe(`fixture:${name}`);
    expect((await doctor(name, 'cvm')).verdict).toBe(want.cvmVerdict);
  });

  it('gives every non-passing check evidence and a fix', async () => {
    const r = await doctor(name, 'all');
    for (const c of r.checks) {
      expect(c.evidence.length, c.id).toBeGreaterThan(0);
      if (c.status !== 'pass') expect(c.fix, c.id).toBeTruthy();
    }
  });
});

describe('KVM flavour', () => {
  it.each([
    ['intel-baremetal', 'bare-metal', 'pass'],
    ['pvm-nested', 'pvm', 'warn'],
    ['vm-no-nested', 'pvm', 'warn'],
    ['amd-svm-disabled', 'none', 'skip'],
  ] as const)('%s is %s; bench.kvm-flavor %s', async (name, flavor, bench) => {
    const r = await doctor(name);
    expect(r.kvm.flavor.name).toBe(flavor);
    expect(check(r, 'kvm.flavor').status).toBe(flavor === 'none' ? 'skip' : 'pass');
    expect(check(r, 'kvm.flavor').evidence[0]).toMatch(new RegExp(`^${flavor}`));
    expect(check(r, 'bench.kvm-flavor').status).toBe(bench);
  });

  it('says what PVM means for figures and which guests it runs', async () => {
    const r = await doctor('pvm-nested');
    expect(r.kvm.flavor.module).toBe('kvm_pvm');
    expect(r.kvm.flavor.meaning).toMatch(/instruction emulator/);
    expect(r.kvm.flavor.meaning).toMatch(/only PVM-enabled guest kernels/);
    expect(check(r, 'bench.kvm-flavor').fix).toMatch(/emulated/);
  });
});

describe('judgement details', () => {
  it('lets a working probe outrank a missing vmx flag (paravirtualized KVM)', async () => {
    const r = await doctor('pvm-nested');
    const flags = check(r, 'kvm.cpu-flags');
    expect(flags.status).toBe('pass');
    expect(flags.evidence.join(' ')).toMatch(/vmx absent/);
    expect(flags.evidence.join(' ')).toMatch(/kvm_pvm/);
    expect(check(r, 'kvm.create-vm').status).toBe('pass');
    expect(check(r, 'nested.state').status).toBe('warn');
  });

  it('names /dev/kvm and the outer host as the one cause on a PVM guest whose host offers no PVM', async () => {
    const r = await doctor('vm-no-nested');
    const dev = check(r, 'kvm.dev-open');
    expect(dev.title).toContain('/dev/kvm');
    expect(dev.evidence.join('\n')).toMatch(/\/dev\/kvm: does not exist[\s\S]*ENOENT/);
    expect(dev.evidence.join('\n')).toMatch(/kvm_pvm is present but registered no \/dev\/kvm/);
    expect(dev.fix).toMatch(/PVM \(or nested VT-x\/AMD-V\) support on the outer host/);
    // kvm_pvm needs no vmx/svm: the flag is not a second cause.
    expect(check(r, 'kvm.cpu-flags').status).toBe('pass');
    expect(check(r, 'kvm.cpu-flags').evidence.join(' ')).toMatch(
      /no (vmx|svm) flag is needed: KVM here is paravirtualized \(kvm_pvm\)/,
    );
    expect(check(r, 'kvm.modules').status).toBe('warn'); // kvm and kvm_pvm present, device absent
    expect(check(r, 'kvm.bios').status).toBe('skip'); // a VM's firmware belongs to the outer host
    expect(['kvm.api-version', 'kvm.create-vm', 'kvm.capabilities'].map((id) => check(r, id).status)).toEqual([
      'skip',
      'skip',
      'skip',
    ]);
    expect(r.kvm).toMatchObject({ usable: false, stage: 'open', errno: 'ENOENT', device: '/dev/kvm' });
  });

  it('finds SVM disabled in the firmware from both the kernel log and VM_CR', async () => {
    const r = await doctor('amd-svm-disabled');
    const b = check(r, 'kvm.bios');
    expect(b.evidence.join('\n')).toMatch(/SVM disabled \(by BIOS\)/);
    expect(b.evidence.join('\n')).toMatch(/VM_CR \(0xc0010114\) = 0x18: SVMDIS 1/);
    expect(b.fix).toMatch(/SVM Mode/);
    expect(check(r, 'kvm.cpu-flags').status).toBe('pass'); // AMD keeps `svm` listed even when disabled
    expect(check(r, 'kvm.dev-open').fix).toBe(b.fix); // the root cause's fix, not a generic one
  });

  it('tells EACCES (group) from EPERM (device cgroup)', async () => {
    const acc = check(await doctor('container-eacces'), 'kvm.dev-open');
    const perm = check(await doctor('container-eperm'), 'kvm.dev-open');
    expect(acc.evidence.join('\n')).toMatch(/EACCES/);
    expect(acc.fix).toMatch(/--group-add 108/);
    expect(perm.evidence.join('\n')).toMatch(/EPERM/);
    expect(perm.evidence.join('\n')).toMatch(/podman/);
    expect(perm.fix).toMatch(/--device \/dev\/kvm/);
    expect(acc.fix).not.toBe(perm.fix);
  });

  it('parses Y/N module parameters (kvm_intel) for nested state', async () => {
    const r = await doctor('intel-baremetal', 'nested');
    expect(check(r, 'nested.state')).toMatchObject({ status: 'pass' });
    expect(check(r, 'nested.state').evidence.join('\n')).toMatch(/kvm_intel\/parameters\/nested = Y/);
  });

  it('io.iommu: the fix names a kernel parameter that exists on the vendor (AMD takes no amd_iommu=on)', async () => {
    const amd = check(await doctor('amd-svm-disabled', 'io'), 'io.iommu');
    const intel = check(await doctor('intel-baremetal', 'io'), 'io.iommu');
    if (amd.status === 'warn') {
      expect(amd.fix).not.toMatch(/amd_iommu=on/);
      expect(amd.fix).toMatch(/AMD-Vi/);
    }
    if (intel.status === 'warn') expect(intel.fix).toMatch(/intel_iommu=on/);
    expect([amd.status, intel.status]).toContain('warn'); // at least one fixture exercises the fix
  });

  it('decides only on the selected profile', async () => {
    const kvm = await doctor('pvm-nested', 'kvm');
    const io = await doctor('pvm-nested', 'io');
    const all = await doctor('pvm-nested', 'all');
    expect([kvm.verdict, io.verdict, all.verdict]).toEqual(['pass', 'fail', 'fail']);
    expect(kvm.checks.map((c) => c.id)).toEqual(io.checks.map((c) => c.id)); // every check runs either way
    expect((await doctor('intel-baremetal', 'bench')).verdict).toBe('warn'); // SMT and mitigations
  });
});

describe('variations of a captured host', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'kvmbench-doctor-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  function variant(base: string, files: Record<string, unknown>): string {
    const dir = mkdtempSync(join(tmp, `${base}-${Object.keys(files).join('-').replace(/\W/g, '')}-`));
    cpSync(join(HOSTS, base), dir, { recursive: true });
    for (const [f, v] of Object.entries(files)) writeFileSync(join(dir, f), typeof v === 'string' ? v : JSON.stringify(v));
    return dir;
  }

  it('fails kvm.create-vm on EBUSY (another hypervisor owns VT-x) and says so', async () => {
    const dir = variant('intel-baremetal', {
      'probe.json': { stage: 'create-vm', errno: 'EBUSY', apiVersion: 12, capabilities: { USER_MEMORY: 1 } },
    });
    const r = await runDoctor(new FixtureHostReader(dir));
    expect(failing(r, 'kvm')).toEqual(['kvm.create-vm']);
    expect(check(r, 'kvm.create-vm').evidence.join(' ')).toMatch(/another hypervisor/);
    expect(check(r, 'kvm.dev-open').status).toBe('pass');
    expect(r.kvm.usable).toBe(false);
  });

  it('does not take another feature the firmware disabled (x86/mktme) for disabled virtualization', async () => {
    const dmesg = (line: string) => ({
      'commands.json': { dmesg: { exitCode: 0, stdout: `[    0.000000] ${line}\n`, stderr: '' } },
      'probe.json': { stage: 'open', errno: 'ENOENT' },
    });
    const mktme = check(
      await runDoctor(new FixtureHostReader(variant('intel-baremetal', dmesg('x86/mktme: disabled by BIOS')))),
      'kvm.bios',
    );
    expect(mktme.status).not.toBe('fail');
    expect(mktme.evidence.join('\n')).toMatch(/no "disabled by BIOS" message/);
    const kvm = check(
      await runDoctor(new FixtureHostReader(variant('intel-baremetal', dmesg('kvm: disabled by bios')))),
      'kvm.bios',
    );
    expect(kvm.status).toBe('fail');
  });

  it('fails kvm.api-version on a wrong API version', async () => {
    const dir = variant('intel-baremetal', { 'probe.json': { stage: 'api-version', apiVersion: 11, capabilities: {} } });
    const r = await runDoctor(new FixtureHostReader(dir));
    expect(failing(r, 'kvm')).toEqual(['kvm.api-version']);
    expect(check(r, 'kvm.create-vm').status).toBe('skip');
  });

  it('warns when capabilities QEMU needs are missing, fails without USER_MEMORY', async () => {
    const noMsi = variant('intel-baremetal', {
      'probe.json': {
        stage: 'ok',
        apiVersion: 12,
        capabilities: {
          USER_MEMORY: 1,
          EXT_CPUID: 1,
          SET_TSS_ADDR: 1,
          MP_STATE: 1,
          VCPU_EVENTS: 1,
          IOEVENTFD: 1,
          IRQ_ROUTING: 1,
          SIGNAL_MSI: 0,
        },
      },
    });
    expect(check(await runDoctor(new FixtureHostReader(noMsi)), 'kvm.capabilities')).toMatchObject({ status: 'warn' });
    const noMem = variant('intel-baremetal', { 'probe.json': { stage: 'ok', apiVersion: 12, capabilities: { USER_MEMORY: 0 } } });
    expect(check(await runDoctor(new FixtureHostReader(noMem)), 'kvm.capabilities')).toMatchObject({ status: 'fail' });
  });

  it('parses 1/0 module parameters (kvm_amd) for nested state', async () => {
    const dir = variant('amd-svm-disabled', { 'probe.json': { stage: 'ok', apiVersion: 12, capabilities: { USER_MEMORY: 1 } } });
    const mk = (v: string): string => {
      const d = variant('amd-svm-disabled', { 'probe.json': { stage: 'ok', apiVersion: 12, capabilities: { USER_MEMORY: 1 } } });
      cpSync(join(dir, 'sys/module/kvm'), join(d, 'sys/module/kvm_amd'), { recursive: true });
      writeFileSync(join(d, 'sys/module/kvm_amd/parameters/nested'), `${v}\n`);
      return d;
    };
    expect(check(await runDoctor(new FixtureHostReader(mk('1'))), 'nested.state').status).toBe('pass');
    const off = check(await runDoctor(new FixtureHostReader(mk('0'))), 'nested.state');
    expect(off.status).toBe('fail');
    expect(off.fix).toMatch(/options kvm_amd nested=1/);
  });

  it('explains EACCES on a 0600 root-only node with a udev rule', async () => {
    const dir = variant('intel-baremetal', {
      'probe.json': { stage: 'open', errno: 'EACCES' },
      'stat.json': { '/dev/kvm': { type: 'char', mode: '0600', uid: 0, gid: 0, rdev: '10:232' } },
    });
    const c = check(await runDoctor(new FixtureHostReader(dir)), 'kvm.dev-open');
    expect(c.status).toBe('fail');
    expect(c.fix).toMatch(/udev/);
    expect(c.fix).toMatch(/usermod -aG kvm bench/);
  });
});

describe('extra checks', () => {
  it('runs appended checks after the built-in ones and lets them decide their profile', async () => {
    const r = await runDoctor(new FixtureHostReader(join(HOSTS, 'intel-baremetal')), {
      extraChecks: [
        {
          id: 'kvm.boot-smoke',
          title: 'Boot a micro guest',
          profile: 'kvm',
          run: (ctx) => ({
            status: ctx.results.get('kvm.create-vm')?.status === 'pass' ? 'fail' : 'skip',
            evidence: ['guest stopped at line 0'],
            fix: 'see the log',
          }),
        },
      ],
    });
    expect(r.checks.at(-1)?.id).toBe('kvm.boot-smoke');
    expect(r.verdict).toBe('fail');
    await expect(
      runDoctor(new FixtureHostReader(join(HOSTS, 'intel-baremetal')), {
        extraChecks: [{ id: 'kvm.dev-open', title: 'dup', profile: 'kvm', run: () => ({ status: 'pass', evidence: [] }) }],
      }),
    ).rejects.toThrow(/duplicate/);
  });

  it('turns a throwing check into a fail, never a pass', async () => {
    const r = await runDoctor(new FixtureHostReader(join(HOSTS, 'intel-baremetal')), {
      extraChecks: [
        {
          id: 'io.broken',
          title: 'broken',
          profile: 'io',
          run: () => {
            throw new Error('boom');
          },
        },
      ],
      profile: 'io',
    });
    expect(check(r, 'io.broken')).toMatchObject({ status: 'fail' });
    expect(r.verdict).toBe('fail');
  });
});
