import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeNewc } from '../../../src/linux/newc.js';

// The archive is read back with a real cpio implementation (busybox's), not with our own code.
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function busyboxCpio(archive: Buffer, args: string[], cwd?: string): string {
  return execFileSync('busybox', ['cpio', ...args], { input: archive, cwd, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

describe('writeNewc', () => {
  const data = Buffer.from('#!/bin/sh\necho hi\n');
  const odd = Buffer.alloc(4097, 0xab); // a length that needs padding
  const archive = writeNewc([
    { type: 'file', path: 'init', data, mode: 0o755 },
    { type: 'file', path: 'usr/lib/deep/odd.bin', data: odd },
    { type: 'symlink', path: 'bin/sh', target: 'busybox' },
    { type: 'dir', path: 'proc' },
    { type: 'chardev', path: 'dev/console', major: 5, minor: 1 },
  ]);

  it('lists every entry, parents first, in busybox cpio -t', () => {
    const names = busyboxCpio(archive, ['-t']).trim().split('\n');
    expect(names).toEqual([
      'init',
      'usr',
      'usr/lib',
      'usr/lib/deep',
      'usr/lib/deep/odd.bin',
      'bin',
      'bin/sh',
      'proc',
      'dev',
      'dev/console',
    ]);
  });

  it('extracts with busybox cpio -i: contents, modes and link targets intact', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvmb-newc-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'a.cpio'), archive);
    // -d makes directories; device nodes need root, so the test drops them from the copy it extracts.
    busyboxCpio(
      writeNewc([
        { type: 'file', path: 'init', data, mode: 0o755 },
        { type: 'file', path: 'usr/lib/deep/odd.bin', data: odd },
        { type: 'symlink', path: 'bin/sh', target: 'busybox' },
      ]),
      ['-i', '-d'],
      dir,
    );
    expect(readFileSync(join(dir, 'init'))).toEqual(data);
    expect(statSync(join(dir, 'init')).mode & 0o777).toBe(0o755);
    expect(readFileSync(join(dir, 'usr/lib/deep/odd.bin'))).toEqual(odd);
    expect(readlinkSync(join(dir, 'bin/sh'))).toBe('busybox');
  });

  it('is deterministic and 4-byte aligned', () => {
    const again = writeNewc([{ type: 'file', path: 'x', data: Buffer.from('abc') }]);
    expect(again).toEqual(writeNewc([{ type: 'file', path: 'x', data: Buffer.from('abc') }]));
    expect(again.length % 4).toBe(0);
    expect(again.subarray(0, 6).toString()).toBe('070701');
    expect(again.includes(Buffer.from('TRAILER!!!\0'))).toBe(true);
  });

  it('rejects paths that escape or repeat', () => {
    expect(() => writeNewc([{ type: 'file', path: '../etc/passwd', data: Buffer.alloc(0) }])).toThrow(/bad path/);
    expect(() =>
      writeNewc([
        { type: 'file', path: 'a', data: Buffer.alloc(0) },
        { type: 'file', path: '/a', data: Buffer.alloc(0) },
      ]),
    ).toThrow(/duplicate/);
  });
});
