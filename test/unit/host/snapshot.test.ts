/**
 * Host snapshots (`doctor --save-host` / `--root`): what a recording writes, what redaction
 * removes from it, and that a replay of the redacted tree reaches the same judgement. Also the
 * two reads the cvm profile added to the seam, CPUID leaves and QMP answers, through record
 * and replay.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runDoctor, type DoctorReport } from '../../../src/doctor/index.js';
import { collectFingerprint } from '../../../src/host/fingerprint.js';
import { FixtureHostReader } from '../../../src/host/fixture-reader.js';
import { RecordingHostReader } from '../../../src/host/snapshot-record.js';
import { qmpQueryKey } from '../../../src/host/actions.js';
import { REDACTED_HOSTNAME, REDACTED_USER, redactGroupFile, redactText } from '../../../src/host/redact.js';

const HOSTS = join(import.meta.dirname, '../../fixtures/hosts');
const tmp = mkdtempSync(join(tmpdir(), 'kvmbench-snapshot-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function allText(dir: string): string {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => readFileSync(join(e.parentPath, e.name), 'utf8'))
    .join('\n');
}
const statuses = (r: DoctorReport): Array<[string, string]> => r.checks.map((c) => [c.id, c.status]);

describe('redaction', () => {
  const o = { hostnames: ['genoa-07.lab.example.net'] };

  it('replaces the host name (full and short) as a whole word only', () => {
    expect(redactText('Hostname set to <genoa-07.lab.example.net>; genoa-07 booted; genoa-070 and xgenoa-07 stay', o)).toBe(
      `Hostname set to <${REDACTED_HOSTNAME}>; ${REDACTED_HOSTNAME} booted; genoa-070 and xgenoa-07 stay`,
    );
    expect(redactText('kvm: vm ready; kvm_pvm loaded', { hostnames: ['vm'] })).toBe(
      `kvm: ${REDACTED_HOSTNAME} ready; kvm_pvm loaded`,
    );
    expect(redactText('localhost stays', { hostnames: ['localhost'] })).toBe('localhost stays');
  });

  it('replaces the user name (not root) and IP addresses, keeping versions, times, loopback and C++ scopes', () => {
    const u = { hostnames: [], users: ['alice'] };
    expect(redactText('user alice (uid 1000); /home/alice/kvm; malice and alice2 stay', u)).toBe(
      `user ${REDACTED_USER} (uid 1000); /home/${REDACTED_USER}/kvm; malice and alice2 stay`,
    );
    expect(redactText('root stays root', { hostnames: [], users: ['root'] })).toBe('root stays root');
    expect(redactText('ip=10.1.2.3::10.1.2.1:255.255.255.0 nfsroot=192.168.7.20:/srv, lo 127.0.0.1', o)).toBe(
      'ip=192.0.2.0::192.0.2.0:192.0.2.0 nfsroot=192.0.2.0:/srv, lo 127.0.0.1',
    );
    expect(redactText('Linux 6.1.0.12.3 and 6.18.44; at 12:34:56; 999.1.1.1', o)).toBe(
      'Linux 6.1.0.12.3 and 6.18.44; at 12:34:56; 999.1.1.1',
    );
    expect(
      redactText('addr fe80::1c2d:3eff:fe4f:5a6b and 2001:0db8:85a3:0000:0000:8a2e:0370:7334, ::1 stays, std::vector stays', o),
    ).toBe('addr 2001:db8:: and 2001:db8::, ::1 stays, std::vector stays');
  });

  it('replaces MAC addresses, UUIDs and serial numbers', () => {
    expect(redactText('eth0: link 3c:ec:ef:12:34:56 up', o)).toBe('eth0: link xx:xx:xx:xx:xx:xx up');
    expect(redactText('root=UUID=3f0c9a55-2b8e-4d7a-9c61-0e5b7d2f4a18 ro', o)).toBe(
      'root=UUID=00000000-0000-0000-0000-000000000000 ro',
    );
    expect(redactText('usb 1-1: SerialNumber: 4C530001230418', o)).toBe('usb 1-1: SerialNumber: redacted');
    expect(redactText('Serial Number: XYZ-1, serial=abc', o)).toBe('Serial Number: redacted, serial=redacted');
  });

  it('keeps only the named groups of /etc/group, without members', () => {
    const group = 'root:x:0:\nsudo:x:27:alice\nkvm:x:993:alice,bob\nlibvirt:x:990:alice\n';
    expect(redactGroupFile(group, new Set([0]), new Set(['kvm']))).toBe('root:x:0:\nkvm:x:993:\n');
  });
});

describe('a snapshot of a host, redacted, replays to the same judgement', () => {
  // An SEV-SNP host with identifying values planted where a real one has them.
  const src = join(tmp, 'src');
  cpSync(join(HOSTS, 'amd-sev-snp'), src, { recursive: true });
  const cmds = JSON.parse(readFileSync(join(src, 'commands.json'), 'utf8')) as Record<string, { stdout: string }>;
  cmds.dmesg!.stdout +=
    [
      '[   12.000000] ixgbe 0000:3b:00.0 eno1: renamed from eth0, MAC 3c:ec:ef:12:34:56',
      '[   13.000000] usb 1-1: SerialNumber: 4C530001230418',
      '[   14.000000] systemd[1]: Hostname set to <genoa-07>.',
      '[   15.000000] kvm_amd: genoa-07 uses 3c:ec:ef:12:34:57 (relevant line, redacted in place)',
    ].join('\n') + '\n';
  writeFileSync(join(src, 'commands.json'), JSON.stringify(cmds));
  writeFileSync(join(src, 'etc/group'), 'root:x:0:\nsudo:x:27:alice\nkvm:x:993:alice\nlibvirt:x:990:alice\n');
  writeFileSync(join(src, 'sys/class/dmi/id/product_serial'), 'S4NNX0R912345\n');
  const qmpFile = join(src, 'qmp.json');
  writeFileSync(qmpFile, readFileSync(qmpFile, 'utf8').replace('"cpu0-id": "redacted"', '"cpu0-id": "Q1BVMC1JRC1TRUNSRVQ="'));
  // A non-root user and a network address on the kernel command line.
  writeFileSync(
    join(src, 'identity.json'),
    JSON.stringify({ uid: 1000, gid: 1000, groups: [1000, 993], user: 'alice', env: {} }),
  );
  writeFileSync(
    join(src, 'proc/cmdline'),
    `${readFileSync(join(src, 'proc/cmdline'), 'utf8').trim()} ip=10.20.30.40::10.20.30.1:255.255.255.0\n`,
  );
  const saved = join(tmp, 'saved');

  it('writes a tree without the host name, MACs, serials, the chip id, other groups or unread log lines', async () => {
    const rec = new RecordingHostReader(new FixtureHostReader(src));
    // What `doctor --save-host` runs: the doctor and the fingerprint (which reads the hostname).
    const [original] = await Promise.all([runDoctor(rec, { profile: 'all' }), collectFingerprint(rec)]);
    await rec.readText('/sys/class/dmi/id/product_serial'); // a DMI serial read through the seam goes too
    rec.save(saved, 'test snapshot', { redact: { hostnames: ['genoa-07'] }, source: 'saved with `kvmbench doctor --save-host`' });

    const all = allText(saved);
    for (const secret of [
      'genoa-07',
      '3c:ec:ef:12:34:56',
      '3c:ec:ef:12:34:57',
      '4C530001230418',
      'S4NNX0R912345',
      'Q1BVMC1JRC1TRUNSRVQ=',
      'sudo:',
      'libvirt:',
      'alice',
      '3f0c9a55-2b8e',
      '10.20.30.40',
      '10.20.30.1',
    ]) {
      expect(all, secret).not.toContain(secret);
    }
    expect(readFileSync(join(saved, 'proc/sys/kernel/hostname'), 'utf8')).toBe(`${REDACTED_HOSTNAME}\n`);
    expect(readFileSync(join(saved, 'etc/group'), 'utf8')).toBe('root:x:0:\nkvm:x:993:\n');
    expect(JSON.parse(readFileSync(join(saved, 'identity.json'), 'utf8'))).toMatchObject({ uid: 1000, user: REDACTED_USER });
    const dmesg = (JSON.parse(readFileSync(join(saved, 'commands.json'), 'utf8')) as Record<string, { stdout: string }>).dmesg!
      .stdout;
    expect(dmesg).not.toMatch(/usb 1-1/); // not a line the doctor reads
    expect(dmesg).toMatch(/kvm_amd: redacted-host uses xx:xx:xx:xx:xx:xx/);
    expect(JSON.parse(readFileSync(join(saved, 'host.json'), 'utf8'))).toMatchObject({
      source: expect.stringMatching(/--save-host/),
      redacted: expect.arrayContaining(['hostname', 'MAC addresses']),
    });

    const replay = await runDoctor(new FixtureHostReader(saved), { profile: 'all' });
    expect(replay.verdict).toBe(original.verdict);
    expect(statuses(replay)).toEqual(statuses(original));
    expect(replay.kvm.usable).toBe(original.kvm.usable);
  });

  it('an unredacted capture (--capture, for fixtures) keeps everything it read', async () => {
    const rec = new RecordingHostReader(new FixtureHostReader(src));
    await runDoctor(rec);
    const raw = join(tmp, 'raw');
    rec.save(raw, 'raw capture');
    expect(allText(raw)).toContain('usb 1-1: SerialNumber: 4C530001230418');
    expect(JSON.parse(readFileSync(join(raw, 'host.json'), 'utf8')).redacted).toBeUndefined();
  });
});

describe('CPUID leaves and QMP answers through record and replay', () => {
  it('records what was read and replays it; what was not recorded reads as absent or not found', async () => {
    const rec = new RecordingHostReader(new FixtureHostReader(join(HOSTS, 'amd-sev-snp')));
    const leaf = await rec.readCpuid(0, 0x8000001f);
    expect(leaf).toEqual({ eax: 0x0101fd3f, ebx: 0x4073, ecx: 0x3ee, edx: 0x64 });
    const q = {
      accel: 'kvm' as const,
      commands: [
        { execute: 'qom-list-types', arguments: { implements: 'confidential-guest-support', abstract: false } },
        { execute: 'query-sev-capabilities' },
      ],
    };
    expect(qmpQueryKey(q)).toBe(
      'kvm: qom-list-types {"implements":"confidential-guest-support","abstract":false}; query-sev-capabilities',
    );
    const answer = await rec.actions.qmpQuery(q);
    expect(answer.answered).toBe(true);
    const dir = join(tmp, 'seam');
    rec.save(dir, 'seam');
    const back = new FixtureHostReader(dir);
    expect(await back.readCpuid(3, 0x8000001f)).toEqual(leaf);
    expect(await back.readCpuid(0, 0x80000000)).toBeUndefined();
    expect((await back.actions.qmpQuery(q)).replies).toEqual(answer.replies);
    expect(await back.actions.qmpQuery({ accel: 'tcg', commands: q.commands })).toMatchObject({
      answered: false,
      notFound: true,
    });
  });
});
