/**
 * Noise bands: the `--threshold NAME=PCT` flag parsed, and the band a row is judged against
 * (the last matching pattern, else the default). Pairing and judging both ask for it.
 */
import { UsageError } from '../errors.js';
import { globToRegExp, isGlob } from '../glob.js';
import { DEFAULT_NOISE_BAND, type CompareOptions } from './model.js';

/** `name=pct` → [name, fraction]; pct may carry a `%`. */
export function parseThreshold(s: string): [string, number] {
  const m = /^(.+)=\s*([0-9]*\.?[0-9]+)\s*%?$/.exec(s);
  if (!m) throw new UsageError(`--threshold ${s}: expected NAME=PCT, e.g. cpuid.latency=10`);
  const pct = Number(m[2]);
  if (!(pct >= 0 && pct < 1000)) throw new UsageError(`--threshold ${s}: percentage out of range`);
  return [m[1]!.trim(), pct / 100];
}

/**
 * Later patterns win, so a specific override can follow a broad one. A pattern is a metric name,
 * a full key, or a glob (src/glob.ts: `*` stops at `/`, `**` crosses it) matched against either.
 */
export function thresholdFor(key: string, name: string, opts: CompareOptions): number {
  return explicitThreshold(key, name, opts) ?? opts.noiseBand ?? DEFAULT_NOISE_BAND;
}

/** The --threshold the user gave for this row, if any (the last matching pattern, as in thresholdFor). */
export function explicitThreshold(key: string, name: string, opts: CompareOptions): number | undefined {
  let band: number | undefined;
  for (const [pat, v] of opts.thresholds ?? []) {
    if (pat === name || pat === key || (isGlob(pat) && (globToRegExp(pat).test(key) || globToRegExp(pat).test(name)))) band = v;
  }
  return band;
}
