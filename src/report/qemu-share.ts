/**
 * QEMU's share of an exit to user space, from one run: `exits/inl_from_qemu` (inl from port
 * 0x1234, answered by QEMU) beside `raw/pio` (the same instruction on the same port, answered
 * by kvmbench's own VMM over /dev/kvm, src/cases/raw.ts). Both are guest-timed (test − null
 * loop) per iteration, so their difference is what QEMU adds to the round trip. A pure
 * function of the results, for the run summary (./summary.ts).
 */
import type { CaseResult, Metric, Results } from '../results/model.js';
import { caseMode } from './common.js';
import { fmtNum } from './format.js';

export const QEMU_EXIT_CASE = 'exits/inl_from_qemu';
export const RAW_EXIT_CASE = 'raw/pio';

function figure(c: CaseResult | undefined, name: string): Metric | undefined {
  return c?.status === 'pass' ? c.metrics.find((m) => m.name === name && m.unit === 'ns') : undefined;
}

export interface QemuShare {
  qemuNs: number;
  rawNs: number;
  /** qemuNs − rawNs. */
  shareNs: number;
  /** shareNs / qemuNs. */
  fraction: number;
  mode?: string;
}

/** The two medians and their difference, when both cases passed on the same accelerator and execution mode. */
export function qemuShare(results: Results): QemuShare | undefined {
  const q = results.cases.find((c) => c.id === QEMU_EXIT_CASE);
  const r = results.cases.find((c) => c.id === RAW_EXIT_CASE);
  const qm = figure(q, 'inl_from_qemu.latency');
  const rm = figure(r, 'pio.latency');
  if (!qm || !rm || qm.accelerator !== rm.accelerator || caseMode(q!) !== caseMode(r!)) return undefined;
  const shareNs = qm.summary.median - rm.summary.median;
  return {
    qemuNs: qm.summary.median,
    rawNs: rm.summary.median,
    shareNs,
    fraction: shareNs / qm.summary.median,
    ...(caseMode(r!) ? { mode: caseMode(r!) } : {}),
  };
}

/** One line for the summary, or undefined when the run has neither figure to say it with. */
export function qemuShareLine(results: Results): string | undefined {
  const s = qemuShare(results);
  if (s) {
    return (
      `QEMU's share of a user-space exit (inl from port 0x1234): ${QEMU_EXIT_CASE} ${fmtNum(s.qemuNs)} ns − ${RAW_EXIT_CASE} ${fmtNum(s.rawNs)} ns ` +
      `(kvmbench's own VMM, no QEMU) = ${fmtNum(s.shareNs)} ns, ${(s.fraction * 100).toFixed(0)} % of the exit (medians${s.mode ? `, ${s.mode}` : ''})`
    );
  }
  const q = results.cases.find((c) => c.id === QEMU_EXIT_CASE);
  const r = results.cases.find((c) => c.id === RAW_EXIT_CASE);
  const qm = figure(q, 'inl_from_qemu.latency');
  if (qm && !r) {
    return `${QEMU_EXIT_CASE} ${fmtNum(qm.summary.median)} ns; the raw-KVM floor of the same exit is not in this run (\`kvmbench run raw\` or the quick suite measures ${RAW_EXIT_CASE} beside it: the difference is QEMU's share)`;
  }
  const rm = figure(r, 'pio.latency');
  if (qm && rm)
    return `${QEMU_EXIT_CASE} and ${RAW_EXIT_CASE} ran on different accelerators or execution modes (${caseMode(q!) ?? '?'} vs ${caseMode(r!) ?? '?'}): QEMU's share is not their difference`;
  return undefined;
}
