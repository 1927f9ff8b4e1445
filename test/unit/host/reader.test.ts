import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runDoctor } from '../../../src/doctor/index.js';
import { parseBool, parseCpuinfo, selected } from '../../../src/host/facts.js';
import { FixtureHostReader } from '../../../src/host/fixture-reader.js';
import { RecordingHostReader } from '../../../src/host/snapshot-record.js';
import { liveHostActions } from '../../../src/app/host-actions.js';
import { LiveHostReader } from '../../../src/host/reader.js';

const HOSTS = join(import.meta.dirname, '../../fixtures/hosts');

describe('parsers', () => {
  it('reads Y/N and 1/0 module parameters alike', () => {
    expect(['Y', 'y', '1', 'on'].map(parseBool)).toEqual([true, true, true, true]);
    expect(['N', 'n', '0', 'off'].map(parseBool)).toEqual([false, false, false, false]);
    expect(parseBool('auto')).toBeUndefined();
    expect(selected('always [madvise] never')).toBe('madvise');
  });

  it('counts threads, cores and sockets and reads the vmx flags line', () => {
    const block = (p: number, core: number): string =>
      `processor\t: ${p}\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\nmodel name\t: Xeon\nstepping\t: 7\nmicrocode\t: 0x5003604\nphysical id\t: 0\ncore id\t\t: ${core}\nflags\t\t: fpu vmx hypervisor\nvmx flags\t: ept vpid unrestricted_guest\n`;
    const info = parseCpuinfo([block(0, 0), block(1, 1), block(2, 0), block(3, 1)].join('\n'));
    expect(info).toMatchObject({
      vendor: 'GenuineIntel',
      family: 6,
      model: 85,
      stepping: 7,
      microcode: '0x5003604',
      threads: 4,
      cores: 2,
      sockets: 1,
    });
    expect(info.flags.has('vmx')).toBe(true);
    expect([...info.vmxFlags]).toEqual(['ept', 'vpid', 'unrestricted_guest']);
    expect(parseCpuinfo('').threads).toBe(0);
  });
});

describe('FixtureHostReader', () => {
  const r = new FixtureHostReader(join(HOSTS, 'container-eacces'));

  it('maps host paths into the tree and hides its own metadata files', async () => {
    expect(await r.readText('/proc/sys/kernel/osrelease')).toBe('6.1.0-27-amd64\n');
    expect(await r.readText('/probe.json')).toBeUndefined();
    expect(await r.readdir('/')).not.toContain('probe.json');
    expect(await r.readText('/../../../../etc/passwd')).toBeUndefined(); // cannot climb out of the tree
  });

  it('serves device nodes from stat.json and lists them in their directory', async () => {
    expect(await r.stat('/dev/kvm')).toEqual({ type: 'char', mode: 0o660, uid: 0, gid: 108, rdev: '10:232' });
    expect(await r.readdir('/dev')).toContain('kvm');
    expect(await r.exists('/dev/vhost-net')).toBe(false);
  });

  it('answers unknown commands as not found and replays the probe with fresh explanations', async () => {
    expect(await r.run(['qemu-system-x86_64', '--version'])).toMatchObject({ notFound: true, exitCode: null });
    expect((await r.run(['dmesg'])).exitCode).toBe(1);
    const p = r.probeKvm();
    expect(p).toMatchObject({ usable: false, stage: 'open', errno: 'EACCES', device: '/dev/kvm' });
    expect(p.fix).toMatch(/kvm group/);
  });
});

describe('LiveHostReader', () => {
  const live = new LiveHostReader();

  it('runs argv without a shell, reports a missing program and kills at the deadline', async () => {
    const echo = await live.run(['sh', '-c', 'echo "$0"', '$(not expanded)']);
    expect(echo).toMatchObject({ exitCode: 0, stdout: '$(not expanded)\n' });
    expect(await live.run(['kvmbench-no-such-program'])).toMatchObject({ notFound: true, exitCode: null });
    const t0 = performance.now();
    const slow = await live.run(['sleep', '5'], { timeoutMs: 200 });
    expect(slow).toMatchObject({ timedOut: true, exitCode: null });
    expect(performance.now() - t0).toBeLessThan(3000);
    expect((await live.run(['false'])).exitCode).toBe(1);
  });

  it('reads absent things as undefined instead of throwing', async () => {
    expect(await live.readText('/nonexistent/file')).toBeUndefined();
    expect(await live.readdir('/nonexistent')).toBeUndefined();
    expect(await live.stat('/nonexistent')).toBeUndefined();
    expect(await live.readMsr(4095, 0x3a)).toBeUndefined();
    expect(await live.stat('/dev/null')).toMatchObject({ type: 'char', rdev: '1:3' });
  });
});

describe('RecordingHostReader', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'kvmbench-capture-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('captures this host so that the replay reaches the same judgement', async () => {
    const rec = new RecordingHostReader({ reader: new LiveHostReader(), actions: liveHostActions });
    const live = await runDoctor(rec, { profile: 'all' });
    rec.save(tmp, 'unit test capture');
    expect(JSON.parse(readFileSync(join(tmp, 'host.json'), 'utf8')).description).toBe('unit test capture');
    const replay = await runDoctor(new FixtureHostReader(tmp), { profile: 'all' });
    // Load average moves between the two runs; everything else must match exactly.
    const strip = (r: typeof live) =>
      r.checks
        .filter((c) => c.id !== 'bench.loadavg')
        .map((c) => ({ id: c.id, status: c.status, evidence: c.evidence, fix: c.fix }));
    expect(strip(replay)).toEqual(strip(live));
    expect(replay.kvm).toEqual(live.kvm);
    expect(replay.verdict).toBe(live.verdict);
  });
});
