/**
 * `kvm.run` on host trees: a recorded raw run passes with the first-instruction time, a host
 * whose probe fails skips with the probe's reason, a tree without a record skips, a failed KVM
 * call fails naming the call and errno, and a raw VMM kvmbench could not set up skips.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_CHECKS, runDoctor, type DoctorReport } from '../../../src/doctor/index.js';
import { FixtureHostReader } from '../../../src/host/fixture-reader.js';

const HOSTS = join(import.meta.dirname, '../../fixtures/hosts');
const tmp = mkdtempSync(join(tmpdir(), 'kvmb-kvm-run-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const run = (dir: string): Promise<DoctorReport> => runDoctor(new FixtureHostReader(dir));
const kvmRun = (r: DoctorReport) => r.checks.find((c) => c.id === 'kvm.run')!;

/** pvm-nested with its rawrun.json replaced. */
function treeWith(name: string, rawrun: unknown): string {
  const dir = join(tmp, name);
  cpSync(join(HOSTS, 'pvm-nested'), dir, { recursive: true });
  writeFileSync(join(dir, 'rawrun.json'), JSON.stringify(rawrun));
  return dir;
}

describe('kvm.run', () => {
  it('runs right after the probe checks, in the kvm profile', () => {
    const ids = DEFAULT_CHECKS.map((c) => c.id);
    expect(ids.indexOf('kvm.run')).toBe(ids.indexOf('kvm.capabilities') + 1);
    expect(DEFAULT_CHECKS.find((c) => c.id === 'kvm.run')!.profile).toBe('kvm');
  });

  it('passes on a recorded run and reports the first-instruction time split by step', async () => {
    const c = kvmRun(await run(join(HOSTS, 'pvm-nested')));
    expect(c.status).toBe('pass');
    const ev = c.evidence.join('\n');
    expect(ev).toMatch(/wrote 0x2b to port 0x511 \(KVM_EXIT_IO\)/);
    expect(ev).toMatch(
      /VM create → first guest instruction: 1\.17 ms \(median of 3\): KVM_CREATE_VM 0\.39 ms, memory 0\.14 ms, vCPU 0\.43 ms, first KVM_RUN return 0\.24 ms/,
    );
  });

  it("skips with the probe's reason and fix where KVM is not usable", async () => {
    for (const name of ['vm-no-nested', 'container-eacces', 'amd-svm-disabled']) {
      const r = await run(join(HOSTS, name));
      const c = kvmRun(r);
      expect(c.status, name).toBe('skip');
      expect(c.evidence[0]).toBe(`not attempted: ${r.kvm.reason}`);
      expect(c.fix).toBeTruthy();
    }
  });

  it('skips where the tree holds no recorded run', async () => {
    const c = kvmRun(await run(join(HOSTS, 'intel-baremetal')));
    expect(c.status).toBe('skip');
    expect(c.evidence[0]).toMatch(/no record of a raw guest run \(rawrun\.json\)/);
  });

  it('fails naming the call, its errno and its meaning when KVM does not run the guest', async () => {
    const r = await run(
      treeWith('run-fails', {
        ok: false,
        device: '/dev/kvm',
        stage: 'kvm',
        call: 'KVM_CREATE_VCPU',
        errno: 'ENOMEM',
        reason:
          'KVM_CREATE_VCPU failed with ENOMEM (Cannot allocate memory): the kernel could not allocate a vCPU (memory or memory cgroup limit)',
      }),
    );
    const c = kvmRun(r);
    expect(c.status).toBe('fail');
    expect(c.evidence).toEqual([
      'KVM_CREATE_VCPU → ENOMEM',
      expect.stringMatching(/^reason: KVM_CREATE_VCPU failed with ENOMEM .*memory cgroup/),
    ]);
    expect(c.fix).toMatch(/ulimit -n|memory cgroup/);
    expect(r.verdict).toBe('fail');
  });

  it('skips when kvmbench itself could not set the raw VMM up (no blob)', async () => {
    const c = kvmRun(
      await run(
        treeWith('no-blob', { ok: false, device: '/dev/kvm', stage: 'setup', reason: 'build/guests/raw-real.bin is missing' }),
      ),
    );
    expect(c.status).toBe('skip');
    expect(c.fix).toMatch(/npm run build:guests/);
  });
});
