/**
 * End to end: `kvmbench doctor --save-host DIR` on this machine writes a host snapshot that
 * `kvmbench doctor --root DIR` replays to the same verdict, exit code and check statuses, and
 * the snapshot holds none of the values redaction promises to remove (this host's name, its
 * MAC addresses, DMI serials and UUID, /etc/group entries the doctor does not name).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname, networkInterfaces, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';

const root = resolve(import.meta.dirname, '../..');

interface DoctorJson {
  verdict: string;
  source: string;
  kvm: { usable: boolean; stage: string };
  checks: Array<{ id: string; status: string; fix: string | null }>;
}

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'kvmbench-snapshot-e2e-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function treeFiles(dir: string): Array<{ rel: string; text: string }> {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => ({
      rel: join(e.parentPath, e.name).slice(dir.length + 1),
      text: readFileSync(join(e.parentPath, e.name), 'latin1'),
    }));
}

describe('doctor --save-host and --root', () => {
  it("replays this machine's snapshot to the same verdict and check statuses, without what redaction removes", () => {
    const snap = join(tmp, 'snap');
    const live = cli('doctor', '--profile', 'all', '--json', '--save-host', snap);
    expect(live.stderr).toMatch(/saved a host snapshot to .*\(redacted; review it before sharing\)/);
    const replay = cli('doctor', '--profile', 'all', '--json', '--root', snap);
    const a = JSON.parse(live.stdout) as DoctorJson;
    const b = JSON.parse(replay.stdout) as DoctorJson;
    expect(a.source).toBe('recording:live');
    expect(b.source).toBe('fixture:snap');
    expect(b.verdict).toBe(a.verdict);
    expect(replay.code).toBe(live.code);
    expect(b.kvm).toMatchObject({ usable: a.kvm.usable, stage: a.kvm.stage });
    expect(b.checks.map((c) => [c.id, c.status])).toEqual(a.checks.map((c) => [c.id, c.status]));
    // The cvm profile answers here too (on a host without SEV/TDX: skips, each with its reason).
    expect(a.checks.filter((c) => c.id.startsWith('cvm.')).length).toBe(6);

    const files = treeFiles(snap);
    const host = JSON.parse(readFileSync(join(snap, 'host.json'), 'utf8')) as { source: string; redacted?: string[] };
    expect(host.source).toMatch(/--save-host/);
    expect(host.redacted).toEqual(expect.arrayContaining(['hostname', 'MAC addresses']));

    // This host's name (whole words: a short name like "vm" is also part of "kvm").
    const names = [...new Set([hostname(), hostname().split('.')[0]!])].filter((n) => n && n !== 'localhost');
    for (const n of names) {
      const re = new RegExp(`(?<![A-Za-z0-9_])${n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![A-Za-z0-9_])`);
      for (const f of files) expect(re.test(f.text), `${n} in ${f.rel}`).toBe(false);
    }
    // MAC addresses of this host's interfaces, and DMI serials and UUID where this host has them.
    const secrets = Object.values(networkInterfaces())
      .flat()
      .map((i) => i?.mac)
      .filter((m): m is string => Boolean(m) && m !== '00:00:00:00:00:00');
    for (const f of ['product_serial', 'board_serial', 'chassis_serial', 'product_uuid']) {
      try {
        const v = readFileSync(`/sys/class/dmi/id/${f}`, 'utf8').trim();
        if (v.length >= 4 && !/^(0+|None|Not Specified|To be filled by O\.E\.M\.|Default string)$/i.test(v)) secrets.push(v);
      } catch {
        // absent or root-only here: nothing of it can be in the snapshot either
      }
    }
    for (const s of secrets)
      for (const f of files) expect(f.text.toLowerCase().includes(s.toLowerCase()), `${s} in ${f.rel}`).toBe(false);

    // /etc/group: only the groups owning the device nodes the doctor examined, and kvm; no members.
    if (existsSync(join(snap, 'etc/group'))) {
      const stat = existsSync(join(snap, 'stat.json'))
        ? (JSON.parse(readFileSync(join(snap, 'stat.json'), 'utf8')) as Record<string, { type: string; gid: number }>)
        : {};
      const gids = new Set(
        Object.values(stat)
          .filter((s) => s.type === 'char' || s.type === 'block')
          .map((s) => s.gid),
      );
      for (const line of readFileSync(join(snap, 'etc/group'), 'utf8').split('\n').filter(Boolean)) {
        const [name, , gid, members] = line.split(':');
        expect(name === 'kvm' || gids.has(Number(gid)), line).toBe(true);
        expect(members, line).toBe('');
      }
    }
  });

  it('refuses to save a snapshot of a snapshot, and a missing tree (exit 2)', () => {
    expect(cli('doctor', '--root', join(tmp, 'missing')).code).toBe(2);
    const both = cli('doctor', '--root', join(root, 'test/fixtures/hosts/intel-tdx'), '--save-host', join(tmp, 'x'));
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/exclude each other/);
  });

  it('--root replays a hand-written tree like --host-tree: the TDX host passes cvm', () => {
    const r = cli('doctor', '--profile', 'cvm', '--json', '--root', join(root, 'test/fixtures/hosts/intel-tdx'));
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as DoctorJson).verdict).toBe('pass');
  });
});
