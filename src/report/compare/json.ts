/** The JSON view of a Comparison: the model itself, with the power line as text beside its figures. */
import type { Comparison } from '../../compare/compare.js';
import { powerLine } from './common.js';

export function renderCompareJson(cmp: Comparison): string {
  // The power line goes in as text too, beside the figures it is made of.
  const out = { ...cmp, pairs: cmp.pairs.map((p) => ({ ...p, power: { ...p.power, line: powerLine(p) } })) };
  // Infinity/NaN are not JSON: write them as null.
  return JSON.stringify(out, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n';
}
