/**
 * The raw guests' contract: src/kvm/layout.ts against guests/raw/layout.h (which the blobs and
 * the C helper include), the memory map's consistency, and the long-mode state the host sets up
 * (page tables, GDT descriptors decoded bit by bit, control registers).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { X86 } from '../../../src/kvm/abi.js';
import { CMD, MB, RAW } from '../../../src/kvm/layout.js';
import { LONG_CR0, LONG_CS, LONG_DS, LONG_EFER, LONG_GDT, longModePageTables } from '../../../src/kvm/vm.js';

const header = readFileSync(join(import.meta.dirname, '../../../guests/raw/layout.h'), 'utf8');
const defines = new Map(
  [...header.matchAll(/^#define\s+([A-Z0-9_]+)\s+(0x[0-9a-f]+|\d+)\b/gim)].map((m) => [m[1]!, Number(m[2])]),
);

describe('layout.ts agrees with guests/raw/layout.h', () => {
  it('every RAW_*, MB_* and CMD_* define has the same value', () => {
    const ts = new Map<string, number>([
      ...Object.entries(RAW).map(([k, v]) => [`RAW_${k}`, v] as [string, number]),
      ...Object.entries(MB).map(([k, v]) => [`MB_${k}`, v] as [string, number]),
      ...Object.entries(CMD).map(([k, v]) => [`CMD_${k}`, v] as [string, number]),
    ]);
    expect([...defines.keys()].sort()).toEqual([...ts.keys()].sort());
    for (const [k, v] of ts) expect(defines.get(k), k).toBe(v);
  });

  it('keeps the memory map consistent', () => {
    const pages = [RAW.PML4, RAW.PDPT, RAW.PD, RAW.GDT, RAW.MAILBOX];
    expect(new Set(pages).size).toBe(pages.length);
    for (const p of pages) {
      expect(p % 4096).toBe(0);
      expect(p + 4096).toBeLessThanOrEqual(RAW.LOAD_ADDR);
    }
    expect(RAW.STACK_TOP).toBeLessThanOrEqual(RAW.MEM_SIZE);
    expect(RAW.MEM_SIZE % 0x200000).toBe(0);
    // The MMIO address is mapped (first GiB) but backed by no slot.
    expect(RAW.MMIO_ADDR).toBeGreaterThanOrEqual(RAW.MEM_SIZE);
    expect(RAW.MMIO_ADDR).toBeLessThan(1 << 30);
    expect(new Set([RAW.CTL_PORT, RAW.PIO_PORT, RAW.REAL_PORT]).size).toBe(3);
    expect(RAW.REAL_VALUE).toBe(0x2a + 1);
  });
});

describe('long-mode state', () => {
  it('identity-maps the first GiB with 2 MiB pages', () => {
    const t = longModePageTables();
    expect(t.get(RAW.PML4)).toEqual([BigInt(RAW.PDPT | X86.PTE_P | X86.PTE_W)]);
    expect(t.get(RAW.PDPT)).toEqual([BigInt(RAW.PD | X86.PTE_P | X86.PTE_W)]);
    const pd = t.get(RAW.PD)!;
    expect(pd).toHaveLength(512);
    expect(pd[0]).toBe(0x83n);
    expect(pd[511]).toBe((511n << 21n) | 0x83n);
    const mmio = pd[Math.floor(RAW.MMIO_ADDR / 0x200000)]!;
    expect(mmio & ~0xfffn).toBe(BigInt(RAW.MMIO_ADDR) & ~0x1fffffn);
  });

  it('its GDT descriptors say what KVM_SET_SREGS loads into CS and the data segments', () => {
    // Intel SDM vol. 3, 3.4.5: limit 0-15, base 16-39, type 40-43, S 44, DPL 45-46, P 47, limit 48-51, AVL 52, L 53, D/B 54, G 55, base 56-63.
    const decode = (d: bigint) => ({
      type: Number((d >> 40n) & 0xfn),
      s: Number((d >> 44n) & 1n),
      dpl: Number((d >> 45n) & 3n),
      present: Number((d >> 47n) & 1n),
      l: Number((d >> 53n) & 1n),
      db: Number((d >> 54n) & 1n),
      g: Number((d >> 55n) & 1n),
      limit: Number((d & 0xffffn) | ((d >> 32n) & 0xf0000n)),
      base: Number(((d >> 16n) & 0xffffffn) | ((d >> 32n) & 0xff000000n)),
    });
    expect(LONG_GDT[0]).toBe(0n);
    for (const [desc, seg] of [
      [LONG_GDT[1], LONG_CS],
      [LONG_GDT[2], LONG_DS],
    ] as const) {
      const d = decode(desc);
      expect(d).toMatchObject({
        type: seg.type,
        s: seg.s,
        dpl: seg.dpl,
        present: seg.present,
        l: seg.l,
        db: seg.db,
        g: seg.g,
        base: seg.base,
      });
      // G = 1: the 20-bit limit counts 4 KiB pages, so 0xfffff is the 4 GiB limit KVM takes in bytes.
      expect(d.limit * 4096 + 4095).toBe(seg.limit);
    }
    expect(LONG_CS.selector).toBe(8);
    expect(LONG_DS.selector).toBe(16);
  });

  it('sets paging, protection and long mode', () => {
    expect(LONG_CR0 & X86.CR0_PE).toBeTruthy();
    expect(LONG_CR0 & X86.CR0_PG).toBeTruthy();
    expect(LONG_CR0 >>> 0).toBe(0x80050033); // PG AM WP NE ET MP PE
    expect(LONG_EFER).toBe(0x500);
  });
});
