import { readFileSync, readdirSync } from 'node:fs';

/**
 * PIDs of live (non-zombie) QEMU processes whose environment holds `KVMB_E2E_MARK=<mark>`.
 * Tests set that variable on the kvmbench they spawn; QEMU inherits it, so a test counts
 * only its own guests, not those of tests running beside it.
 */
export function markedQemu(mark: string): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (!readFileSync(`/proc/${d}/environ`, 'latin1').includes(`KVMB_E2E_MARK=${mark}`)) continue;
      if (!readFileSync(`/proc/${d}/cmdline`, 'latin1').includes('qemu-system')) continue;
      if (/^State:\s+Z/m.test(readFileSync(`/proc/${d}/status`, 'latin1'))) continue;
      pids.push(Number(d));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return pids;
}
