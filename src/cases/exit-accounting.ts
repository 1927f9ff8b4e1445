/**
 * Exit accounting for the exits guest (docs/exits.md): KVM's own vCPU statistics, read by
 * the host at each `phase` line of the guest (the guest waits for the host's acknowledgement
 * before it goes on), turned into counts per loop iteration, and judged against what each
 * test declares it causes when the CPU runs it natively. Pure arithmetic, no I/O.
 */
import type { ExitHistogram } from '../results/model.js';
import type { VcpuStats } from '../vmm/qmp.js';
import { statsDelta } from '../vmm/qmp.js';
import { median } from '../stats/summary.js';

export interface PhaseSnapshot {
  loop: 'init' | 'null' | 'test';
  i: number;
  /** vCPU 0's statistics at the phase line; undefined when KVM could not be asked. */
  stats?: VcpuStats;
}

export interface SampleAccounting {
  i: number;
  /** Counter deltas over the null loop's window and the test loop's window. */
  nullDelta: VcpuStats;
  testDelta: VcpuStats;
  /** (test − null) / iterations, per counter: what one test iteration caused. */
  perIteration: VcpuStats;
  /** insn_emulation over the null loop's window / iterations: how much of plain code KVM emulated. */
  nullEmulationsPerIteration: number;
}

/**
 * Pairs the windows of each sample: the null window runs from the phase before the null
 * loop to the phase after it, the test window from there to the phase after the test loop.
 * Each window holds its loop, one phase line of the same length and the wait for the
 * acknowledgement, so the console's exits cancel in test − null.
 */
export function attributeSamples(phases: readonly PhaseSnapshot[], iterations: number): SampleAccounting[] {
  const out: SampleAccounting[] = [];
  for (let k = 1; k + 1 < phases.length; k++) {
    const before = phases[k - 1]!, afterNull = phases[k]!, afterTest = phases[k + 1]!;
    if (afterNull.loop !== 'null' || afterTest.loop !== 'test' || afterNull.i !== afterTest.i) continue;
    if (!before.stats || !afterNull.stats || !afterTest.stats) continue;
    const nullDelta = statsDelta(before.stats, afterNull.stats);
    const testDelta = statsDelta(afterNull.stats, afterTest.stats);
    const perIteration: VcpuStats = {};
    for (const [name, t] of Object.entries(testDelta)) {
      const n = nullDelta[name];
      if (n !== undefined) perIteration[name] = (t - n) / iterations;
    }
    out.push({ i: afterTest.i, nullDelta, testDelta, perIteration, nullEmulationsPerIteration: (nullDelta.insn_emulation ?? NaN) / iterations });
  }
  return out;
}

/**
 * The counters that get a metric of their own for a test: those its declaration names (besides
 * `exits`, which always has one) and `insn_emulation`, the evidence of emulated execution. A
 * fixed set per test, never one that depends on the values measured: compare pairs metrics by
 * name across runs, and a metric present in one run only would never be judged. Every other
 * counter's deltas stay in `facts.exitAccounting.perSample`.
 */
export function metricCounters(expect: Expectation): string[] {
  return [...new Set([...Object.keys(expect).filter((k) => k !== 'exits'), 'insn_emulation'])];
}

export type Expectation = Record<string, [number, number]>;

/**
 * `exits=1 io_exits=1` or `exits=0-1` (per iteration, inclusive ranges); `peers.exits=0-2` declares
 * a counter of every vCPU but 0 (src/cases/smp.ts). Unknown syntax throws.
 */
export function parseExpectation(text: string): Expectation {
  const out: Expectation = {};
  for (const word of text.trim().split(/\s+/).filter(Boolean)) {
    const m = /^((?:peers\.)?[a-z_][a-z0-9_]*)=(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))?$/.exec(word);
    if (!m) throw new Error(`bad expectation '${word}' (want name=N, name=LO-HI or peers.name=...)`);
    const lo = Number(m[2]), hi = m[3] === undefined ? lo : Number(m[3]);
    if (hi < lo) throw new Error(`bad expectation '${word}': range runs backwards`);
    out[m[1]!] = [lo, hi];
  }
  return out;
}

/** Absolute slack per iteration around a declared count: attribution noise, not a second exit. */
export const EXPECT_TOLERANCE = 0.1;

export interface ExpectationCheck {
  counter: string;
  expected: [number, number];
  /** Median per iteration over the samples; undefined when KVM did not report the counter. */
  measured?: number;
  ok: boolean;
}

export function checkExpectation(expect: Expectation, samples: readonly SampleAccounting[]): ExpectationCheck[] {
  return Object.entries(expect).map(([counter, expected]) => {
    const values = samples.map((s) => s.perIteration[counter]).filter((v): v is number => v !== undefined && Number.isFinite(v));
    if (!values.length) return { counter, expected, ok: false };
    const measured = median(values);
    return { counter, expected, measured, ok: measured >= expected[0] - EXPECT_TOLERANCE && measured <= expected[1] + EXPECT_TOLERANCE };
  });
}

export function describeCheck(c: ExpectationCheck): string {
  const want = c.expected[0] === c.expected[1] ? `${c.expected[0]}` : `${c.expected[0]}–${c.expected[1]}`;
  return c.measured === undefined
    ? `${c.counter}: expected ${want} per iteration, KVM did not report it`
    : `${c.counter}: ${c.measured.toFixed(3)} per iteration, expected ${want}`;
}

export type HistogramSummary = ExitHistogram;

/** Bin 4e + q holds values in [2^e (1 + q/4), 2^e (1 + (q+1)/4)): four equal bins per power of two. */
export function binBounds(b: number): [number, number] {
  const e = Math.floor(b / 4), q = b % 4;
  return [2 ** e * (1 + q / 4), 2 ** e * (1 + (q + 1) / 4)];
}

/** The guest's `hist` line (`bins=60:188,61:1`) as bins and percentiles (each bin's geometric middle, ±7–12 %). */
export function parseHistogram(fields: Record<string, string>): HistogramSummary | undefined {
  const n = Number(fields.n), overheadTicks = Number(fields.overhead);
  if (!(n > 0) || !fields.bins) return undefined;
  const bins: HistogramSummary['bins'] = [];
  for (const item of fields.bins.split(',')) {
    const m = /^(\d+):(\d+)$/.exec(item);
    if (!m) return undefined;
    const [lo, hi] = binBounds(Number(m[1]));
    bins.push({ lo, hi, count: Number(m[2]) });
  }
  bins.sort((a, b) => a.lo - b.lo);
  const total = bins.reduce((s, b) => s + b.count, 0);
  const at = (q: number): number => {
    const rank = q * total;
    let seen = 0;
    for (const b of bins) {
      seen += b.count;
      if (seen >= rank) return Math.sqrt(b.lo * b.hi);
    }
    return Math.sqrt(bins.at(-1)!.lo * bins.at(-1)!.hi);
  };
  return { n: total, overheadTicks: Number.isFinite(overheadTicks) ? overheadTicks : 0, bins, p50: at(0.5), p99: at(0.99), p999: at(0.999) };
}
