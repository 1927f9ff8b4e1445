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
import { VIRT_FEATURES } from '../host/virt-features.js';

export interface PhaseSnapshot {
  loop: 'init' | 'null' | 'test';
  i: number;
  /** vCPU 0's statistics at the phase line; undefined when KVM could not be asked. */
  stats?: VcpuStats;
}

export interface SampleAccounting {
  i: number;
  /** Loop iterations per window. */
  iterations: number;
  /** Counter deltas over the null loop's window and the test loop's window. */
  nullDelta: VcpuStats;
  testDelta: VcpuStats;
  /** (test − null) / iterations, per counter: what one test iteration caused. */
  perIteration: VcpuStats;
  /** insn_emulation over the null loop's window / iterations: how much of plain code KVM emulated. */
  nullEmulationsPerIteration: number;
}

/**
 * Counters derived from KVM's: `caused_exits` = `exits` − `irq_exits`, for vCPU 0 and each
 * `cpuN.`. An external-interrupt exit is the host's interrupt arriving while the vCPU runs, not
 * something the guest's instruction did; a test whose vCPU waits milliseconds per iteration (an
 * IPI's sender one level down, waiting for its acknowledgement) takes about one per iteration from
 * the host's ticks and reschedules alone, where on bare metal it takes a thousandth (docs/exits.md §2).
 */
export function withDerivedCounters(delta: VcpuStats): VcpuStats {
  const out: VcpuStats = { ...delta };
  for (const [name, v] of Object.entries(delta)) {
    const m = /^((?:cpu\d+\.)?)exits$/.exec(name);
    const irq = m ? delta[`${m[1]}irq_exits`] : undefined;
    if (m && irq !== undefined) out[`${m[1]}caused_exits`] = v - irq;
  }
  return out;
}

/**
 * Pairs the windows of each sample: the null window runs from the phase before the null
 * loop to the phase after it, the test window from there to the phase after the test loop.
 * Each window holds its loop, one phase line of the same length and the wait for the
 * acknowledgement, so the console's exits cancel in test − null.
 */
export function attributeSamples(
  phases: readonly PhaseSnapshot[],
  iterations: number,
  extra?: ReadonlyMap<number, number>,
): SampleAccounting[] {
  const out: SampleAccounting[] = [];
  for (let k = 1; k + 1 < phases.length; k++) {
    const before = phases[k - 1]!,
      afterNull = phases[k]!,
      afterTest = phases[k + 1]!;
    if (afterNull.loop !== 'null' || afterTest.loop !== 'test' || afterNull.i !== afterTest.i) continue;
    if (!before.stats || !afterNull.stats || !afterTest.stats) continue;
    // A redone iteration (hlt_lapic_timer) is one more attempt with all its exits: count it.
    const attempts = iterations + (extra?.get(afterTest.i) ?? 0);
    const nullDelta = withDerivedCounters(statsDelta(before.stats, afterNull.stats));
    const testDelta = withDerivedCounters(statsDelta(afterNull.stats, afterTest.stats));
    const perIteration: VcpuStats = {};
    for (const [name, t] of Object.entries(testDelta)) {
      const n = nullDelta[name];
      if (n !== undefined) perIteration[name] = (t - n) / attempts;
    }
    out.push({
      i: afterTest.i,
      iterations,
      nullDelta,
      testDelta,
      perIteration,
      nullEmulationsPerIteration: (nullDelta.insn_emulation ?? NaN) / iterations,
    });
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
 * a counter of every vCPU but 0 (src/cases/smp.ts); a word may hold only on
 * CPUs with (`counter@feature=N`) or without (`counter@!feature=N`) a virtualization feature of
 * src/host/virt-features.ts, e.g. `insn_emulation@!nrips=1 insn_emulation@nrips=0`. With
 * `features` the conditions are resolved (a word whose condition holds overrides the plain one;
 * the others drop out); without, every condition drops out (the CPU is not known). Unknown
 * syntax or feature names throw.
 */
export function parseExpectation(text: string, features?: ReadonlySet<string>): Expectation {
  const plain: Expectation = {};
  const conditional: Expectation = {};
  for (const word of text.trim().split(/\s+/).filter(Boolean)) {
    const m = /^((?:peers\.)?[a-z_][a-z0-9_]*)(?:@(!?)([a-z_][a-z0-9_]*))?=(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))?$/.exec(word);
    if (!m)
      throw new Error(
        `bad expectation '${word}' (want name=N, name=LO-HI, peers.name=..., or name@feature=... / name@!feature=...)`,
      );
    const lo = Number(m[4]),
      hi = m[5] === undefined ? lo : Number(m[5]);
    if (hi < lo) throw new Error(`bad expectation '${word}': range runs backwards`);
    if (m[3] === undefined) {
      plain[m[1]!] = [lo, hi];
      continue;
    }
    if (!(VIRT_FEATURES as readonly string[]).includes(m[3]))
      throw new Error(`bad expectation '${word}': unknown CPU feature '${m[3]}' (known: ${VIRT_FEATURES.join(', ')})`);
    const holds = features !== undefined && features.has(m[3]) !== (m[2] === '!');
    if (holds) conditional[m[1]!] = [lo, hi];
  }
  return { ...plain, ...conditional };
}

/** Absolute slack per iteration around a declared count: attribution noise, not a second exit. */
export const EXPECT_TOLERANCE = 0.1;
/**
 * At most this much more slack from the protocol's own noise, so that it never hides a whole
 * extra exit per iteration.
 */
export const MAX_NOISE_ALLOWANCE = 0.4;

export interface ExpectationCheck {
  counter: string;
  expected: [number, number];
  /** Median per iteration over the samples; undefined when KVM did not report the counter. */
  measured?: number;
  /** The protocol's own noise per iteration, measured in the null windows (see protocolNoise). */
  noise?: number;
  ok: boolean;
}

/**
 * The spread (p90 − p10) of a counter over the null windows, per iteration. A null window holds
 * no test, only what every window holds: the phase line, the wait for the host's acknowledgement
 * (whose UART polling grows with the host's latency) and the host's own interrupts (more of them
 * the longer a window lasts). On bare metal this is about zero; one level down under TCG, where
 * the host kvmbench runs emulated, it is a few tenths of an exit per iteration of a short loop
 * (docs/exits.md §2). It widens the tolerance, by at most MAX_NOISE_ALLOWANCE.
 */
export function protocolNoise(samples: readonly SampleAccounting[], counter: string): number {
  const v = samples
    .map((s) => (s.nullDelta[counter] ?? NaN) / s.iterations)
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  if (v.length < 2) return 0;
  const q = (p: number): number => v[Math.min(v.length - 1, Math.max(0, Math.round(p * (v.length - 1))))]!;
  return q(0.9) - q(0.1);
}

export function checkExpectation(expect: Expectation, samples: readonly SampleAccounting[]): ExpectationCheck[] {
  return Object.entries(expect).map(([counter, expected]) => {
    const values = samples.map((s) => s.perIteration[counter]).filter((v): v is number => v !== undefined && Number.isFinite(v));
    if (!values.length) return { counter, expected, ok: false };
    const measured = median(values);
    const noise = Math.min(MAX_NOISE_ALLOWANCE, protocolNoise(samples, counter));
    const slack = EXPECT_TOLERANCE + noise;
    return {
      counter,
      expected,
      measured,
      ...(noise > 0 ? { noise } : {}),
      ok: measured >= expected[0] - slack && measured <= expected[1] + slack,
    };
  });
}

export function describeCheck(c: ExpectationCheck): string {
  const want = c.expected[0] === c.expected[1] ? `${c.expected[0]}` : `${c.expected[0]}–${c.expected[1]}`;
  const slack = c.noise ? ` (± ${EXPECT_TOLERANCE} + ${c.noise.toFixed(2)} measured protocol noise)` : '';
  return c.measured === undefined
    ? `${c.counter}: expected ${want} per iteration, KVM did not report it`
    : `${c.counter}: ${c.measured.toFixed(3)} per iteration, expected ${want}${slack}`;
}

export type HistogramSummary = ExitHistogram;

/** Bin 4e + q holds values in [2^e (1 + q/4), 2^e (1 + (q+1)/4)): four equal bins per power of two. */
export function binBounds(b: number): [number, number] {
  const e = Math.floor(b / 4),
    q = b % 4;
  return [2 ** e * (1 + q / 4), 2 ** e * (1 + (q + 1) / 4)];
}

/** The guest's `hist` line (`bins=60:188,61:1`) as bins and percentiles (each bin's geometric middle, ±7–12 %). */
export function parseHistogram(fields: Record<string, string>): HistogramSummary | undefined {
  const n = Number(fields.n),
    overheadTicks = Number(fields.overhead);
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
  return {
    n: total,
    overheadTicks: Number.isFinite(overheadTicks) ? overheadTicks : 0,
    bins,
    p50: at(0.5),
    p99: at(0.99),
    p999: at(0.999),
  };
}
