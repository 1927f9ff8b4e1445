/**
 * End to end: the built `kvmbench doctor` on this machine and on captured host trees,
 * checked the way CI sees it (exit code, stdout JSON, the JUnit file).
 * What to expect here is decided independently of the doctor: Node itself tries to open
 * /dev/kvm read-write, so the test cannot agree with a doctor that is wrong about the device.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';

const root = resolve(import.meta.dirname, '../..');
const hosts = join(root, 'test/fixtures/hosts');

/** The device the doctor probes: /dev/kvm, or the one KVMBENCH_KVM_DEVICE names (KVM hidden). */
const DEVICE = process.env.KVMBENCH_KVM_DEVICE || '/dev/kvm';

/** What open(DEVICE, O_RDWR) gives this process, found without the doctor. */
function devKvmOpenErrno(): string | undefined {
  try {
    closeSync(openSync(DEVICE, 'r+'));
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? 'EIO';
  }
}

interface DoctorJson {
  kvm: { usable: boolean; stage: string; errno?: string; device: string; reason?: string; fix?: string };
  verdict: string;
  profile: string;
  checks: Array<{ id: string; title: string; profile: string; status: string; evidence: string[]; fix: string | null }>;
  host: Record<string, unknown>;
}

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'kvmbench-doctor-e2e-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('kvmbench doctor on this machine', () => {
  it('--json tells the truth about /dev/kvm and sets the exit code', () => {
    const errno = devKvmOpenErrno();
    const r = cli('doctor', '--json');
    const j = JSON.parse(r.stdout) as DoctorJson;
    expect(j.profile).toBe('kvm');
    for (const c of j.checks)
      expect(Object.keys(c)).toEqual(expect.arrayContaining(['id', 'title', 'profile', 'status', 'evidence', 'fix']));
    expect(j.host.kvmUsable).toBe(j.kvm.usable);
    expect(j.host.nodeVersion).toBe(process.versions.node);
    const dev = j.checks.find((c) => c.id === 'kvm.dev-open')!;
    if (errno) {
      // The development machine: no /dev/kvm (ENOENT). Containers may give EACCES or EPERM.
      expect(r.code).toBe(1);
      expect(j.kvm.usable).toBe(false);
      expect(j.verdict).toBe('fail');
      expect(j.kvm).toMatchObject({ stage: 'open', errno, device: DEVICE });
      expect(dev.status).toBe('fail');
      expect(`${dev.title} ${dev.evidence.join(' ')}`).toContain(DEVICE);
      expect(dev.evidence.join(' ')).toContain(errno);
      expect(dev.fix).toBeTruthy();
      expect(j.kvm.fix).toBe(dev.fix);
    } else {
      // A KVM host: the device opens, so the doctor may only fail later stages, and the exit code follows the verdict.
      expect(dev.status).toBe('pass');
      expect(r.code).toBe(j.verdict === 'fail' ? 1 : 0);
      expect(j.kvm.usable).toBe(j.checks.find((c) => c.id === 'kvm.create-vm')!.status === 'pass');
    }
    expect(r.stderr).not.toMatch(/Error|at .*\.js:\d+/);
  });

  it('prints a table without colour under NO_COLOR, in well under a second of its own work', () => {
    const r = cli('doctor');
    expect(r.code).toBe(devKvmOpenErrno() ? 1 : r.code);
    expect(r.stdout.includes('\u001b[')).toBe(false);
    expect(r.stdout).toMatch(/kvm\.dev-open\s+Open \/dev\/kvm read-write/);
    const m = /; (\d+) ms; source live/.exec(r.stdout);
    expect(m).not.toBeNull();
    process.stdout.write(`doctor: checks took ${m![1]} ms, whole process ${r.ms.toFixed(0)} ms\n`);
    // A generous ceiling: it catches a hang or a missing timeout, not a slow shared machine.
    expect(Number(m![1])).toBeLessThan(5000);
  });

  it('--junit writes a JUnit file a parser reads, failures matching the deciding profile', () => {
    const file = join(tmp, 'sub/doctor.xml');
    const r = cli('doctor', '--json', '--junit', file);
    const j = JSON.parse(r.stdout) as DoctorJson;
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(readFileSync(file, 'utf8'));
    const suites = [doc.testsuites.testsuite].flat() as Array<{ name: string; testcase: unknown }>;
    const cases = suites.flatMap((s) => [s.testcase].flat()) as Array<Record<string, unknown>>;
    expect(cases.length).toBe(j.checks.length);
    const failures = cases
      .filter((c) => c.failure !== undefined)
      .map((c) => String(c.name).split(':')[0])
      .sort();
    expect(failures).toEqual(
      j.checks
        .filter((c) => c.profile === 'kvm' && c.status === 'fail')
        .map((c) => c.id)
        .sort(),
    );
  });

  it('--boot boots a real micro guest: under KVM when the probe passes, else under TCG as evidence', () => {
    const r = cli('doctor', '--boot', '--json');
    const out = JSON.parse(r.stdout) as DoctorJson;
    const smoke = out.checks.find((c) => c.id === 'kvm.boot-smoke');
    expect(smoke).toBeDefined();
    if (devKvmOpenErrno() === undefined) {
      expect(smoke!.status).toBe('pass');
    } else {
      expect(smoke!.status).toBe('skip');
      expect(smoke!.evidence.join('\n')).toMatch(/TCG instead: micro guest booted to long mode and exited cleanly/);
      expect(smoke!.fix).toBeTruthy();
    }
  });

  it('exits 2 on a bad flag or profile', () => {
    const bad = cli('doctor', '--no-such-flag');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/no-such-flag/);
    expect(cli('doctor', '--profile', 'nope').code).toBe(2);
    expect(cli('doctor', '--host-tree', join(tmp, 'missing')).code).toBe(2);
  });
});

describe('kvmbench doctor on captured host trees', () => {
  it('exits 0 where KVM works, even with no vmx flag (paravirtualized)', () => {
    for (const name of ['intel-baremetal', 'pvm-nested']) {
      const r = cli('doctor', '--json', '--host-tree', join(hosts, name));
      const j = JSON.parse(r.stdout) as DoctorJson;
      expect([name, r.code, j.kvm.usable, j.verdict]).toEqual([name, 0, true, 'pass']);
    }
  });

  it('exits 1 for the selected profile only', () => {
    const tree = join(hosts, 'pvm-nested');
    expect(cli('doctor', '--host-tree', tree, '--profile', 'kvm').code).toBe(0);
    expect(cli('doctor', '--host-tree', tree, '--profile', 'io').code).toBe(1); // no /dev/vhost-net
    expect(cli('doctor', '--host-tree', tree, '--profile', 'all', '--json').code).toBe(1);
    expect(cli('doctor', '--host-tree', join(hosts, 'container-eperm'), '--json').code).toBe(1);
  });
});
