import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { checkHostSnapshot } from '../../../src/host/snapshot-check.js';
import { describeFound } from '../../../src/inputs.js';
import { checkKernelFile, isBootableKernel } from '../../../src/linux/kernel-file.js';

const dir = mkdtempSync(join(tmpdir(), 'kvmbench-inputs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, data: string | Buffer) => {
  const p = join(dir, name);
  writeFileSync(p, data);
  return p;
};
const bzImage = () => {
  const b = Buffer.alloc(0x400);
  b.write('HdrS', 0x202, 'latin1');
  return b;
};
const elf = (type: number) => {
  const b = Buffer.alloc(64);
  b.write('\x7fELF', 0, 'latin1');
  b.writeUInt16LE(type, 16);
  return b;
};

describe('describeFound', () => {
  it('says what a path is', () => {
    mkdirSync(join(dir, 'empty'));
    mkdirSync(join(dir, 'full'));
    for (const n of ['a', 'b', 'c', 'd', 'e', 'f']) writeFileSync(join(dir, 'full', n), '');
    expect(describeFound(join(dir, 'nope'))).toBe('nothing (no such file or directory)');
    expect(describeFound(join(dir, 'empty'))).toBe('an empty directory');
    expect(describeFound(join(dir, 'full'))).toBe('a directory holding 6 entries (a, b, c, d, e, …)');
    expect(describeFound(file('zero', ''))).toBe('an empty file');
    expect(describeFound(file('passwd', 'root:x:0:0:root:/root:/bin/bash\nbin:x:2:2\n'))).toBe(
      "a text file of 42 bytes beginning 'root:x:0:0:root:/root:/bin/bash'",
    );
    expect(describeFound(file('gz', Buffer.from([0x1f, 0x8b, 8, 0, 0, 0])))).toBe('a gzip file of 6 bytes');
    expect(describeFound(file('cpio', '070701000000'))).toBe('a cpio archive (an initramfs?) of 12 bytes');
    expect(describeFound(file('bin', Buffer.from([0, 1, 2, 3])))).toBe('a binary file of 4 bytes');
    expect(describeFound('/dev/null')).toBe('a character device');
  });
});

describe('--kernel', () => {
  it('takes a bzImage or an ELF executable, and refuses anything else saying what it is', () => {
    expect(isBootableKernel(bzImage())).toBe(true);
    expect(isBootableKernel(elf(2))).toBe(true);
    expect(isBootableKernel(elf(1))).toBe(false); // a module: relocatable
    expect(() => checkKernelFile(file('bz', bzImage()))).not.toThrow();
    expect(() => checkKernelFile(file('ko', elf(1)))).toThrow(
      /expected a Linux kernel image \(a bzImage, or an ELF vmlinux\); found an ELF file of 64 bytes/,
    );
    expect(() => checkKernelFile(join(dir, 'missing'), '--a-kernel')).toThrow(/^--a-kernel .*missing: .*found nothing/);
    expect(() => checkKernelFile(join(dir, 'empty'))).toThrow(UsageError);
  });
});

describe('doctor --root', () => {
  it('wants a directory with a host.json manifest, and says what it found instead', () => {
    expect(() => checkHostSnapshot(file('plain', 'x\n'))).toThrow(/expected a host snapshot directory; found a text file/);
    expect(() => checkHostSnapshot(join(dir, 'empty'))).toThrow(
      /not a host snapshot \(no host\.json manifest\); found an empty directory/,
    );
    expect(() => checkHostSnapshot(join(dir, 'full'))).toThrow(/found a directory holding 6 entries/);
    mkdirSync(join(dir, 'snap'));
    writeFileSync(join(dir, 'snap', 'host.json'), '[1]');
    expect(() => checkHostSnapshot(join(dir, 'snap'))).toThrow(/host\.json is not a snapshot manifest/);
    writeFileSync(join(dir, 'snap', 'host.json'), '{"description": "x", "source": "y"}');
    expect(() => checkHostSnapshot(join(dir, 'snap'))).not.toThrow();
    try {
      checkHostSnapshot(join(dir, 'empty'));
    } catch (err) {
      expect((err as UsageError).hint).toMatch(/kvmbench doctor --save-host DIR/);
    }
  });

  it('takes every shipped host fixture', () => {
    const hosts = join(import.meta.dirname, '../../fixtures/hosts');
    for (const name of ['pvm-nested', 'intel-baremetal', 'vm-no-nested'])
      expect(() => checkHostSnapshot(join(hosts, name))).not.toThrow();
  });
});
