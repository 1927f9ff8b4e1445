/** `check` lines and the doctor's conform profile over captured host trees (test/fixtures/hosts). */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runDoctor } from '../../../src/doctor/index.js';
import { kutStanzasCheck } from '../../../src/doctor/checks/conform.js';
import { FixtureHostReader } from '../../../src/host/fixture-reader.js';
import { checkFix, evaluateCheck, parseCheck, unmetText } from '../../../src/kut/check.js';
import { parseCfg } from '../../../src/kut/cfg.js';

const HOSTS = join(import.meta.dirname, '../../fixtures/hosts');
const host = (name: string) => new FixtureHostReader(join(HOSTS, name));

describe('check lines', () => {
  it('parses path=value conditions and refuses anything else', () => {
    expect(parseCheck('/sys/module/kvm/parameters/enable_pmu=Y /proc/sys/kernel/nmi_watchdog=0')).toEqual([
      { path: '/sys/module/kvm/parameters/enable_pmu', value: 'Y' },
      { path: '/proc/sys/kernel/nmi_watchdog', value: '0' },
    ]);
    expect(parseCheck(undefined)).toEqual([]);
    expect(parseCheck('enable_pmu=Y')).toBeUndefined();
    expect(parseCheck('/sys/../etc/shadow=x')).toBeUndefined();
    expect(parseCheck('/sys/module/kvm')).toBeUndefined();
  });

  it('reads module parameters in both spellings (kvm_amd prints 1 for Y)', async () => {
    const amd = await evaluateCheck(
      parseCheck('/sys/module/kvm_amd/parameters/nested=Y /sys/module/kvm/parameters/ignore_msrs=N')!,
      host('amd-sev-snp'),
    );
    expect(amd.map((o) => o.holds)).toEqual([true, true]);
    const intel = await evaluateCheck(
      parseCheck('/sys/module/kvm_intel/parameters/nested=1 /sys/module/kvm_intel/parameters/allow_smaller_maxphyaddr=Y')!,
      host('intel-baremetal'),
    );
    expect(intel.map((o) => o.holds)).toEqual([true, false]);
    expect(unmetText(intel)).toEqual(['/sys/module/kvm_intel/parameters/allow_smaller_maxphyaddr is absent, not Y']);
  });

  it('names the fix for module parameters and the NMI watchdog', () => {
    expect(checkFix({ path: '/sys/module/kvm/parameters/enable_pmu', value: 'Y' })).toContain('modprobe kvm enable_pmu=Y');
    expect(checkFix({ path: '/proc/sys/kernel/nmi_watchdog', value: '0' })).toBe('sudo sysctl kernel.nmi_watchdog=0');
    expect(checkFix({ path: '/sys/devices/system/clocksource/clocksource0/current_clocksource', value: 'tsc' })).toBeUndefined();
  });
});

describe('doctor --profile conform', () => {
  it('passes nested on Intel (Y) and on AMD (1)', async () => {
    for (const name of ['intel-baremetal', 'amd-sev-snp']) {
      const r = await runDoctor(host(name), { profile: 'conform' });
      expect(r.checks.find((c) => c.id === 'conform.nested')?.status, name).toBe('pass');
    }
  });

  it('fails where /dev/kvm exists but may not be opened, with the group fix', async () => {
    const r = await runDoctor(host('container-eacces'), { profile: 'conform' });
    const c = r.checks.find((x) => x.id === 'conform.kvm-access')!;
    expect(c.status).toBe('fail');
    expect(c.fix).toContain('usermod -aG kvm');
    expect(r.verdict).toBe('fail');
  });

  it('names each stanza that would skip and why, with the fixes', async () => {
    const cfg = parseCfg(
      '[pmu]\nfile = pmu.flat\ncheck = /sys/module/kvm/parameters/enable_pmu=Y /sys/module/kvm/parameters/ignore_msrs=N\naccel = kvm\n\n[old]\nfile = t.flat\narch = i386\n\n[ok]\nfile = a.flat\n',
      'x86/unittests.cfg',
    );
    const def = kutStanzasCheck({ dir: '/t', cfgPath: '/t/x86/unittests.cfg', arch: 'x86_64', efi: false, cfg });
    const r = await runDoctor(host('intel-baremetal'), { profile: 'conform', extraChecks: [def] });
    const c = r.checks.find((x) => x.id === 'conform.stanzas')!;
    expect(c.status).toBe('warn');
    expect(c.evidence).toEqual(['3 stanzas in /t/x86/unittests.cfg, 1 would skip here', 'old: i386 only']);
  });
});
