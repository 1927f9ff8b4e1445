/**
 * Host facts of the two runs side by side, and whether they ran on the same host, the same
 * hardware or different machines: context for the reader, never a reason to refuse a pair.
 */
import type { HostFingerprint } from '../results/model.js';
import { flattenFacts } from '../results/flatten.js';
import type { FactRow, HostRelation } from './model.js';

/** The facts that make two machines the same hardware (hostname aside). */
export const HARDWARE_FACTS = [
  'cpuModel',
  'cpuVendor',
  'cpuFamily',
  'cpuModelNumber',
  'cpuStepping',
  'cores',
  'threads',
  'memTotalKiB',
] as const;

export function classifyHosts(a: HostFingerprint, b: HostFingerprint): HostRelation {
  if (!a.cpuModel || !b.cpuModel) return 'different';
  for (const k of HARDWARE_FACTS) {
    if (a[k] !== undefined && b[k] !== undefined && a[k] !== b[k]) return 'different';
  }
  if (a.hostname && a.hostname === b.hostname) return 'same-host';
  return 'same-hardware';
}

export function factRows(a: HostFingerprint, b: HostFingerprint): FactRow[] {
  const fa = flattenFacts(a as Record<string, unknown>);
  const fb = flattenFacts(b as Record<string, unknown>);
  const keys = [...new Set([...fa.keys(), ...fb.keys()])];
  return keys.map((key) => ({ key, base: fa.get(key), new: fb.get(key), differs: fa.get(key) !== fb.get(key) }));
}
