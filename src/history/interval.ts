/**
 * The interval each stored run-level median carries: a distribution-free 95 % confidence
 * interval of the median from order statistics (the binomial rank rule with its normal
 * approximation; min–max below 6 samples, where no narrower interval reaches 95 %).
 */
import { median } from '../stats/summary.js';

export function medianInterval(samples: readonly number[]): { median: number; lo: number; hi: number } {
  const s = [...samples].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return { median: Number.NaN, lo: Number.NaN, hi: Number.NaN };
  if (n < 6) return { median: median(s), lo: s[0]!, hi: s[n - 1]! };
  const half = (1.96 * Math.sqrt(n)) / 2;
  const lo = Math.max(1, Math.floor(n / 2 - half)); // 1-based ranks
  const hi = Math.min(n, Math.ceil(n / 2 + half + 1));
  return { median: median(s), lo: s[lo - 1]!, hi: s[hi - 1]! };
}
