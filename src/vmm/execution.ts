/**
 * Native, emulated or TCG: how the guest's code was actually executed, decided from
 * measurements, never from what the host claims. Two measurements can decide:
 *
 * - KVM's own statistics (QMP query-stats): `insn_emulation` counts instructions KVM's
 *   emulator ran. Natively the emulator runs only for the odd MMIO access (at most about
 *   one per exit); a guest whose code is emulated shows hundreds per exit and several per
 *   iteration of an empty loop.
 * - The guest's empty loop (`for (i < n)`: about three instructions an iteration): natively
 *   1-3 TSC ticks an iteration, emulated thousands (2,200-10,000 on the PVM hosts measured).
 *
 * Under TCG no KVM statistics exist and none are invented: the mode is `tcg`.
 */
import type { Accelerator, Execution } from '../results/model.js';

/** Empty-loop TSC ticks per iteration: at most this is native, at least EMULATED_MIN_TICKS emulated. */
export const NATIVE_MAX_TICKS = 20;
export const EMULATED_MIN_TICKS = 200;
/** insn_emulation per empty-loop iteration: at most this is native, at least EMULATED_MIN_PER_ITER emulated. */
export const NATIVE_MAX_EMULATIONS_PER_ITER = 0.05;
export const EMULATED_MIN_EMULATIONS_PER_ITER = 0.5;
/** insn_emulation per exit over a whole boot: at most this is native, at least EMULATED_MIN_PER_EXIT emulated. */
export const NATIVE_MAX_EMULATIONS_PER_EXIT = 2;
export const EMULATED_MIN_EMULATIONS_PER_EXIT = 20;

export interface ExecutionInput {
  accel: Accelerator;
  /** Median empty-loop TSC ticks per iteration, measured in the guest. */
  nullLoopTicks?: number;
  /** KVM insn_emulation per empty-loop iteration (from query-stats around the loop). */
  emulationsPerIteration?: number;
  /** KVM counters over a whole run of guest code (a boot): insn_emulation and exits. */
  totals?: { insnEmulation: number; exits: number };
  /** Where the figures come from, e.g. `the calibration boot of the hello guest on microvm`. */
  source?: string;
  /** Iterations of the empty loop behind `nullLoopTicks`; below MIN_TIMING_ITERATIONS the timing does not vote. */
  nullLoopIterations?: number;
}

/**
 * An empty loop shorter than this is timed mostly by its own serialized TSC reads: one level down
 * under TCG a loop of 8 iterations read 517 ticks per iteration while KVM counted no emulation at
 * all (docs/exits.md §3), so such a timing is evidence, not a vote.
 */
export const MIN_TIMING_ITERATIONS = 64;

const fmt = (v: number): string => (v >= 100 ? Math.round(v).toLocaleString('en-US') : v >= 1 ? v.toFixed(1) : v.toPrecision(2));

function byRange(v: number, nativeMax: number, emulatedMin: number): 'native' | 'emulated' | undefined {
  if (v <= nativeMax) return 'native';
  if (v >= emulatedMin) return 'emulated';
  return undefined;
}

export function decideExecution(i: ExecutionInput): Execution {
  if (i.accel === 'tcg') {
    return {
      mode: 'tcg',
      evidence: [`accelerator TCG: QEMU translated and ran the guest's code in software; there are no KVM statistics`],
    };
  }
  const evidence: string[] = [];
  const votes: Array<'native' | 'emulated'> = [];
  if (i.emulationsPerIteration !== undefined && Number.isFinite(i.emulationsPerIteration)) {
    const v = byRange(i.emulationsPerIteration, NATIVE_MAX_EMULATIONS_PER_ITER, EMULATED_MIN_EMULATIONS_PER_ITER);
    evidence.push(
      `KVM insn_emulation: ${fmt(i.emulationsPerIteration)} per empty-loop iteration (native ≤ ${NATIVE_MAX_EMULATIONS_PER_ITER}, emulated ≥ ${EMULATED_MIN_EMULATIONS_PER_ITER})${v ? `: ${v}` : ': undecided'}`,
    );
    if (v) votes.push(v);
  }
  if (i.totals && i.totals.exits + i.totals.insnEmulation > 0) {
    const perExit = i.totals.insnEmulation / Math.max(1, i.totals.exits);
    const v = byRange(perExit, NATIVE_MAX_EMULATIONS_PER_EXIT, EMULATED_MIN_EMULATIONS_PER_EXIT);
    evidence.push(
      `KVM counted ${fmt(i.totals.insnEmulation)} emulated instructions over ${fmt(i.totals.exits)} exits: ${fmt(perExit)} per exit (native ≤ ${NATIVE_MAX_EMULATIONS_PER_EXIT}, emulated ≥ ${EMULATED_MIN_EMULATIONS_PER_EXIT})${v ? `: ${v}` : ': undecided'}`,
    );
    if (v) votes.push(v);
  }
  if (i.nullLoopTicks !== undefined && Number.isFinite(i.nullLoopTicks)) {
    const tooShort = i.nullLoopIterations !== undefined && i.nullLoopIterations < MIN_TIMING_ITERATIONS;
    const v = tooShort ? undefined : byRange(i.nullLoopTicks, NATIVE_MAX_TICKS, EMULATED_MIN_TICKS);
    const verdict = tooShort
      ? `: no vote (${i.nullLoopIterations} iterations, under ${MIN_TIMING_ITERATIONS}: the TSC reads' own cost dominates)`
      : v
        ? `: ${v}`
        : ': undecided';
    evidence.push(
      `empty loop: ${fmt(i.nullLoopTicks)} TSC ticks per iteration (native ≤ ${NATIVE_MAX_TICKS}, emulated ≥ ${EMULATED_MIN_TICKS})${verdict}`,
    );
    if (v) votes.push(v);
  }
  if (i.source) evidence.push(`measured in ${i.source}`);
  if (votes.length === 0) {
    return {
      mode: 'unknown',
      evidence: evidence.length
        ? evidence
        : ['no measurement of how the guest code ran (no KVM statistics, no empty-loop timing)'],
    };
  }
  if (votes.some((v) => v !== votes[0])) {
    evidence.push('the measurements disagree: mode unknown');
    return { mode: 'unknown', evidence };
  }
  return { mode: votes[0]!, evidence };
}
