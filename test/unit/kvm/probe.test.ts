import { describe, expect, it } from 'vitest';
import { explainProbe, KVM_CAPABILITIES, probeKvm } from '../../../src/kvm/probe.js';

describe('probeKvm (live, through koffi)', () => {
  it('reports ENOENT at the open stage for a missing node, without throwing', () => {
    const r = probeKvm('/nonexistent/kvm');
    expect(r).toMatchObject({ usable: false, stage: 'open', errno: 'ENOENT', device: '/nonexistent/kvm' });
    expect(r.reason).toContain('/nonexistent/kvm');
    expect(r.fix).toBeTruthy();
    expect(r.elapsedMs).toBeGreaterThanOrEqual(0);
  });

  it('stops at api-version with ENOTTY when the node is not the KVM device', () => {
    const r = probeKvm('/dev/null');
    expect(r).toMatchObject({ usable: false, stage: 'api-version', errno: 'ENOTTY' });
    expect(r.capabilities).toEqual({});
  });

  it("agrees with the filesystem about this host's /dev/kvm", async () => {
    const { existsSync } = await import('node:fs');
    const r = probeKvm();
    if (!existsSync('/dev/kvm')) expect(r).toMatchObject({ usable: false, stage: 'open', errno: 'ENOENT' });
    else if (r.usable) {
      expect(r.apiVersion).toBe(12);
      expect(r.capabilities.USER_MEMORY).toBeGreaterThan(0);
    } else expect(['open', 'create-vm']).toContain(r.stage);
  });
});

describe('explainProbe', () => {
  it('gives each open errno its own reason and fix', () => {
    const errnos = ['ENOENT', 'EACCES', 'EPERM', 'ENXIO'];
    const reasons = errnos.map((e) => explainProbe('open', e).reason);
    expect(new Set(reasons).size).toBe(errnos.length);
    expect(explainProbe('open', 'EACCES').fix).toMatch(/kvm group|usermod -aG kvm/);
    expect(explainProbe('open', 'EPERM').reason).toMatch(/cgroup/);
    expect(explainProbe('create-vm', 'EBUSY').reason).toMatch(/another hypervisor/);
    expect(explainProbe('api-version', undefined, '/dev/kvm', 11).reason).toMatch(/returned 11, expected 12/);
    expect(explainProbe('ok', undefined)).toEqual({});
  });

  it('lists each capability once, with a meaning', () => {
    const names = KVM_CAPABILITIES.map((c) => c.name);
    const nrs = KVM_CAPABILITIES.map((c) => c.nr);
    expect(new Set(names).size).toBe(names.length);
    expect(new Set(nrs).size).toBe(nrs.length);
    for (const c of KVM_CAPABILITIES) expect(c.meaning.length).toBeGreaterThan(10);
  });
});
