import { join } from 'node:path';
import { Chalk } from 'chalk';
import { XMLParser } from 'fast-xml-parser';
import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { runDoctor } from '../../../src/doctor/index.js';
import { junitXml } from '../../../src/report/doctor/junit.js';
import { toJson } from '../../../src/report/doctor/json.js';
import { renderText } from '../../../src/report/doctor/text.js';
import { collectFingerprint } from '../../../src/host/fingerprint.js';
import { FixtureHostReader } from '../../../src/host/fixture-reader.js';
import { HostFingerprint } from '../../../src/results/model.js';

const HOSTS = join(import.meta.dirname, '../../fixtures/hosts');
const reader = (name: string): FixtureHostReader => new FixtureHostReader(join(HOSTS, name));

describe('doctor views', () => {
  it('renders a plain table without colour codes when colour is off', async () => {
    const r = await runDoctor(reader('vm-no-nested'));
    const text = renderText(r, new Chalk({ level: 0 }));
    expect(text.includes('\u001b[')).toBe(false);
    expect(text).toMatch(/FAIL {2}kvm\.dev-open/);
    expect(text).toMatch(/fix: /);
    expect(text).toMatch(/KVM is NOT usable here/);
    expect(text).toMatch(/verdict \(kvm\): FAIL/);
    const coloured = renderText(r, new Chalk({ level: 1 }));
    expect(coloured.includes('\u001b[')).toBe(true);
  });

  it('gives every check the same six keys in JSON', async () => {
    const r = await runDoctor(reader('intel-baremetal'));
    const j = toJson(r) as { kvm: { usable: boolean }; verdict: string; checks: Array<Record<string, unknown>> };
    expect(j.kvm.usable).toBe(true);
    expect(j.verdict).toBe('pass');
    for (const c of j.checks) {
      for (const k of ['id', 'title', 'profile', 'status', 'evidence', 'fix']) expect(c, `${c.id} ${k}`).toHaveProperty(k);
    }
    expect(j.checks.find((c) => c.id === 'kvm.dev-open')?.fix).toBeNull();
    expect(new Set(j.checks.map((c) => c.id)).size).toBe(j.checks.length);
  });

  it('writes JUnit with failures only for the deciding profile and reasons for skips', async () => {
    const r = await runDoctor(reader('container-eacces'), { profile: 'kvm' });
    const xml = junitXml(r);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml);
    const suites = [doc.testsuites.testsuite].flat();
    expect(suites.map((s: { name: string }) => s.name)).toEqual(
      ['kvm', 'bench', 'vmm', 'nested', 'io', 'cvm', 'conform'].map((p) => `kvmbench doctor: ${p}`),
    );
    const cases = suites.flatMap((s: { testcase: unknown }) => [s.testcase].flat()) as Array<Record<string, unknown>>;
    const failed = cases.filter((c) => c.failure !== undefined).map((c) => String(c.name).split(':')[0]);
    expect(failed).toEqual(['kvm.dev-open']); // vmm.qemu and io.vhost-net fail too, but do not decide
    const skipped = cases.filter((c) => c.skipped !== undefined);
    expect(skipped.find((c) => String(c.name).startsWith('kvm.api-version:'))?.skipped).toMatchObject({
      message: 'not reached: /dev/kvm did not open',
    });
    expect(skipped.length).toBe(r.counts.skip);
    for (const s of skipped) {
      expect(String(s['system-out'])).toMatch(/status: skip[\s\S]+fix: /);
      expect((s.skipped as { message: string }).message.length).toBeGreaterThan(5);
    }
    for (const c of cases) expect(Number(c.time)).toBeLessThan(5); // seconds, not milliseconds
    const other = cases.find((c) => String(c.name).startsWith('vmm.qemu:'));
    expect(String(other?.['system-out'])).toMatch(/status: fail/);
  });
});

describe('collectFingerprint', () => {
  it('fills the fingerprint from a host tree, valid against the results schema', async () => {
    const fp = await collectFingerprint(reader('intel-baremetal'));
    expect(Value.Check(HostFingerprint, fp)).toBe(true);
    expect(fp).toMatchObject({
      hostname: 'bench-xeon-01',
      cpuVendor: 'GenuineIntel',
      cpuModel: 'Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz',
      cpuFamily: 6,
      cpuModelNumber: 106,
      cpuStepping: 6,
      microcode: '0xd0003e7',
      cores: 4,
      threads: 8,
      smt: 'on (active)',
      kernelRelease: '6.8.0-49-generic',
      governor: 'performance',
      thp: 'madvise',
      memTotalKiB: 263842816,
      qemuVersion: '8.2.2',
      virtualized: 'no',
      kvmUsable: true,
      kvmProbe: 'ok',
      kvmApiVersion: 12,
    });
    expect(fp.kernelCmdline).toMatch(/intel_iommu=on/);
    expect(fp.kvmModules?.kvm_intel?.nested).toBe('Y');
    expect(fp.mitigations?.mmio_stale_data).toMatch(/Clear CPU buffers/);
    expect(fp.nodeVersion).toBe(process.versions.node);
    expect(fp.kvmbenchVersion).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('records a VM, a container and an unusable probe as such', async () => {
    const vm = await collectFingerprint(reader('vm-no-nested'));
    expect(vm.virtualized).toMatch(/^vm:PVM/);
    expect(vm.kvmUsable).toBe(false);
    expect(vm.kvmProbe).toBe('open ENOENT');
    const c = await collectFingerprint(reader('container-eperm'));
    expect(c.virtualized).toBe('container:podman');
    expect(c.qemuVersion).toBeUndefined();
  });
});
