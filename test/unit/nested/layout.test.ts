import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { checkLayoutWord, layoutFile, planLayout, virtfsArgs, type LayoutFs } from '../../../src/nested/layout.js';

/** A host described as paths: `d` a directory, `l:TARGET` a link; realpath follows `real`. */
function fakeFs(entries: Record<string, string>, real: Record<string, string> = {}): LayoutFs {
  return {
    kind(p) {
      const e = entries[p];
      if (e === undefined) return undefined;
      return e === 'd' ? { type: 'dir' } : { type: 'link', target: e.slice(2) };
    },
    realpath: (p) => real[p] ?? p,
  };
}

const mergedUsr = { '/usr': 'd', '/bin': 'l:usr/bin', '/sbin': 'l:usr/sbin', '/lib': 'l:usr/lib', '/lib64': 'l:usr/lib64' };

describe('planLayout: what L1 sees of the host', () => {
  it('on a merged-/usr host shares /usr and the package read-only and recreates the top-level links', () => {
    const l = planLayout({
      fs: fakeFs({ ...mergedUsr, '/srv/kvmbench/node_modules': 'd' }),
      packageRoot: '/srv/kvmbench',
      nodeBinary: '/usr/bin/node',
      qemuBinary: '/usr/bin/qemu-system-x86_64',
      home: '/root',
    });
    expect(l.shares.map((s) => [s.tag, s.path, s.readonly])).toEqual([
      ['kvmbs0', '/usr', true],
      ['kvmbs1', '/srv/kvmbench', true],
    ]);
    expect(l.links).toEqual([
      { name: 'bin', target: 'usr/bin' },
      { name: 'sbin', target: 'usr/sbin' },
      { name: 'lib', target: 'usr/lib' },
      { name: 'lib64', target: 'usr/lib64' },
    ]);
    expect(l.node).toBe('/usr/bin/node');
    expect(l.entry).toBe('/srv/kvmbench/bin/run.js');
  });

  it('shares a Node.js and a QEMU installed elsewhere by their prefix, and node_modules linked out of the package', () => {
    const l = planLayout({
      fs: fakeFs(
        { ...mergedUsr, '/work/kb/node_modules': 'l:/work/main/node_modules' },
        { '/work/kb/node_modules': '/work/main/node_modules', '/home/u/.nvm/current/bin/node': '/opt/node-20/bin/node' },
      ),
      packageRoot: '/work/kb',
      nodeBinary: '/home/u/.nvm/current/bin/node',
      qemuBinary: '/opt/qemu/bin/qemu-system-x86_64',
      home: '/home/u',
    });
    expect(l.shares.map((s) => s.path)).toEqual(['/usr', '/opt/node-20', '/opt/qemu', '/work/kb', '/work/main/node_modules']);
    expect(l.shares.every((s) => s.readonly)).toBe(true);
    expect(l.node).toBe('/opt/node-20/bin/node');
  });

  it('never shares /, /etc, a home directory as a whole or what holds one', () => {
    const base = {
      fs: fakeFs(mergedUsr),
      nodeBinary: '/usr/bin/node',
      qemuBinary: '/usr/bin/qemu-system-x86_64',
      home: '/home/u',
    };
    expect(() => planLayout({ ...base, packageRoot: '/home/u' })).toThrow(UsageError);
    expect(() => planLayout({ ...base, packageRoot: '/home' })).toThrow(/never shares/);
    expect(() => planLayout({ ...base, packageRoot: '/etc' })).toThrow(/never shares/);
    // A Node.js whose prefix would be / (e.g. /bin/node on a host without merged /usr)
    expect(() => planLayout({ ...base, fs: fakeFs({ '/usr': 'd' }), packageRoot: '/srv/kb', nodeBinary: '/bin/node' })).toThrow(
      /never shares/,
    );
    // Inside a home directory is fine: only that directory is shared.
    expect(planLayout({ ...base, packageRoot: '/home/u/src/kvmbench' }).shares.map((s) => s.path)).toContain(
      '/home/u/src/kvmbench',
    );
  });

  it('shares a kvm-unit-tests tree (run kut --nested) by its real path, under the same rules', () => {
    const base = {
      fs: fakeFs(mergedUsr, { '/home/u/kut': '/home/u/src/kvm-unit-tests' }),
      packageRoot: '/srv/kb',
      nodeBinary: '/usr/bin/node',
      qemuBinary: '/usr/bin/qemu-system-x86_64',
      home: '/home/u',
    };
    const why = 'the kvm-unit-tests tree of suite kut (--kut-dir)';
    const l = planLayout({ ...base, extra: [{ path: '/home/u/kut', why }] });
    expect(l.shares.map((s) => [s.path, s.readonly, s.why])).toContainEqual(['/home/u/src/kvm-unit-tests', true, why]);
    // A tree inside a directory already shared adds no share.
    expect(planLayout({ ...base, extra: [{ path: '/srv/kb/kut', why }] }).shares).toHaveLength(2);
    expect(() => planLayout({ ...base, extra: [{ path: '/', why }] })).toThrow(/kvm-unit-tests tree .* would need \/ shared/);
    expect(() => planLayout({ ...base, extra: [{ path: '/etc', why }] })).toThrow(/never shares/);
    expect(() => planLayout({ ...base, extra: [{ path: '/home/u', why }] })).toThrow(/never shares/);
    expect(() => planLayout({ ...base, extra: [{ path: '/srv/my kut', why }] })).toThrow(/whitespace/);
    // L1 mounts its own /tmp over the root it assembles: a tree there would be hidden, so it is refused.
    expect(() => planLayout({ ...base, extra: [{ path: '/tmp/kut', why }] })).toThrow(/under \/tmp, which L1 mounts of its own/);
    expect(planLayout({ ...base, extra: [{ path: '/var/tmp/kut', why }] }).shares.map((s) => s.path)).toContain('/var/tmp/kut');
  });

  it("refuses paths L1's /init could not read word by word, and odd environment names", () => {
    expect(() => checkLayoutWord('shared path', '/srv/my kvmbench')).toThrow(/whitespace/);
    expect(() => checkLayoutWord('shared path', '/srv/a\nb')).toThrow(UsageError);
    const base = {
      fs: fakeFs(mergedUsr),
      packageRoot: '/srv/kb',
      nodeBinary: '/usr/bin/node',
      qemuBinary: '/usr/bin/qemu-system-x86_64',
    };
    expect(() => planLayout({ ...base, env: { 'A;rm': 'x' } })).toThrow(/NAME_LIKE_THIS/);
    expect(() => planLayout({ ...base, env: { KVMBENCH_QEMU: '/a b' } })).toThrow(/whitespace/);
  });

  it('writes the layout file and the -virtfs arguments (commas doubled, the channel writable)', () => {
    const l = planLayout({
      fs: fakeFs(mergedUsr),
      packageRoot: '/srv/k,b',
      nodeBinary: '/usr/bin/node',
      qemuBinary: '/usr/bin/qemu-system-x86_64',
      env: { KVMBENCH_QEMU: '/usr/bin/qemu-system-x86_64' },
    });
    expect(layoutFile(l)).toBe(
      [
        'share kvmbs0 /usr ro',
        'share kvmbs1 /srv/k,b ro',
        'link bin usr/bin',
        'link sbin usr/sbin',
        'link lib usr/lib',
        'link lib64 usr/lib64',
        'env KVMBENCH_QEMU /usr/bin/qemu-system-x86_64',
        'node /usr/bin/node',
        'entry /srv/k,b/bin/run.js',
        '',
      ].join('\n'),
    );
    const args = virtfsArgs(l, '/srv/out/layer1');
    expect(args).toEqual([
      '-virtfs',
      'local,path=/usr,mount_tag=kvmbs0,security_model=none,readonly=on',
      '-virtfs',
      'local,path=/srv/k,,b,mount_tag=kvmbs1,security_model=none,readonly=on',
      '-virtfs',
      'local,path=/srv/out/layer1,mount_tag=kvmbio,security_model=none',
    ]);
  });
});
