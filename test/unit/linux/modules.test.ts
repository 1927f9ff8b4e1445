import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  moduleName,
  parseModinfo,
  resolveModuleOrder,
  resolveModulesInTree,
  type ModuleLookup,
} from '../../../src/linux/modules.js';

const table =
  (t: Record<string, string[] | 'builtin'>): ModuleLookup =>
  (n) => {
    const v = t[n];
    return v === undefined ? undefined : v === 'builtin' ? 'builtin' : { depends: v };
  };

describe('resolveModuleOrder', () => {
  it('puts every dependency before its user (the virtio chain)', () => {
    const order = resolveModuleOrder(
      ['virtio_blk', 'virtio_pci', 'virtio_mmio'],
      table({
        virtio_ring: [],
        virtio: ['virtio_ring'],
        virtio_blk: ['virtio', 'virtio_ring'],
        virtio_pci_modern_dev: [],
        virtio_pci_legacy_dev: [],
        virtio_pci: ['virtio_ring', 'virtio_pci_modern_dev', 'virtio_pci_legacy_dev', 'virtio'],
        virtio_mmio: ['virtio', 'virtio_ring'],
      }),
    );
    expect(order).toEqual([
      'virtio_ring',
      'virtio',
      'virtio_blk',
      'virtio_pci_modern_dev',
      'virtio_pci_legacy_dev',
      'virtio_pci',
      'virtio_mmio',
    ]);
  });
  it('drops built-in modules and normalises dashes', () => {
    expect(resolveModuleOrder(['virtio-blk'], table({ virtio_blk: ['virtio'], virtio: 'builtin' }))).toEqual(['virtio_blk']);
  });
  it('names a missing module and who needed it', () => {
    expect(() => resolveModuleOrder(['a'], table({ a: ['b'] }))).toThrow(/module not found: b \(needed by a\)/);
  });
  it('reports cycles', () => {
    expect(() => resolveModuleOrder(['a'], table({ a: ['b'], b: ['a'] }))).toThrow(/cycle: a -> b -> a/);
  });
  it('moduleName strips suffixes', () => {
    expect(moduleName('/x/virtio-rng.ko.xz')).toBe('virtio_rng');
  });
});

// A real ELF relocatable object with a .modinfo section, made by the host's assembler.
describe('parseModinfo and resolveModulesInTree on real ELF objects', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kvmb-mod-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const mkmod = (rel: string, info: string[]): void => {
    const s = join(dir, 'm.s');
    writeFileSync(s, `.section .modinfo,"a"\n${info.map((i) => `.asciz "${i}"`).join('\n')}\n`);
    mkdirSync(join(dir, 'tree', 'kernel', rel, '..'), { recursive: true });
    execFileSync('as', ['--64', '-o', join(dir, 'tree', 'kernel', rel), s]);
  };
  mkmod('drivers/a/alpha.ko', ['license=GPL', 'depends=beta,gamma', 'name=alpha']);
  mkmod('drivers/b/beta.ko', ['depends=gamma', 'name=beta']);
  mkmod('drivers/c/gamma.ko', ['depends=', 'name=gamma']);
  writeFileSync(join(dir, 'tree', 'modules.builtin'), 'kernel/drivers/d/delta.ko\n');

  it('reads key=value pairs from .modinfo', () => {
    const info = parseModinfo(execFileSync('cat', [join(dir, 'tree/kernel/drivers/a/alpha.ko')]));
    expect(info.get('depends')).toEqual(['beta,gamma']);
    expect(info.get('license')).toEqual(['GPL']);
  });
  it('resolves a tree without modules.dep, in load order', async () => {
    const mods = await resolveModulesInTree(join(dir, 'tree'), ['alpha']);
    expect(mods.map((m) => m.name)).toEqual(['gamma', 'beta', 'alpha']);
  });
  it('decompresses .ko.xz', async () => {
    execFileSync('xz', ['-k', join(dir, 'tree/kernel/drivers/c/gamma.ko')]);
    rmSync(join(dir, 'tree/kernel/drivers/c/gamma.ko'));
    const mods = await resolveModulesInTree(join(dir, 'tree'), ['beta']);
    expect(mods.map((m) => m.name)).toEqual(['gamma', 'beta']);
    expect(mods[0]!.data.readUInt32BE(0)).toBe(0x7f454c46);
  });
  it('rejects non-ELF input', () => {
    expect(() => parseModinfo(Buffer.from('not an elf at all, definitely not'.repeat(4)))).toThrow(/not an ELF/);
  });
});
