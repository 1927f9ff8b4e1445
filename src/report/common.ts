/**
 * What the views of a run read from a `Results` value: counts, verdict, headline, execution
 * modes, exit accounting, histograms. Everything here is a pure function of the model, so every
 * format tells the same story about a run; how a figure is written is ./format.ts.
 */
import { caseKind } from '../results/kind.js';
import type {
  CaseResult,
  CaseStatus,
  Execution,
  ExecutionMode,
  ExitHistogramFact,
  HostFingerprint,
  Metric,
  Results,
} from '../results/model.js';
import { countStatuses, statusWord } from './format.js';

export type Verdict = 'pass' | 'fail' | 'error' | 'empty';

export interface Counts {
  total: number;
  pass: number;
  fail: number;
  error: number;
  skip: number;
}

const CASE_STATUSES: readonly CaseStatus[] = ['pass', 'fail', 'error', 'skip'];

export function countCases(cases: readonly CaseResult[]): Counts {
  return countStatuses(cases, CASE_STATUSES);
}

/** error beats fail beats pass; a run with no case that ran is `empty`. */
export function runVerdict(results: Results): Verdict {
  const c = countCases(results.cases);
  if (c.error > 0) return 'error';
  if (c.fail > 0) return 'fail';
  if (c.pass > 0) return 'pass';
  return 'empty';
}

/** A line a person reads first: verdict, counts and whether the run finished. */
export function headline(results: Results): string {
  const c = countCases(results.cases);
  const v = statusWord(runVerdict(results));
  const state = results.run.state === 'complete' ? '' : ` — ${results.run.state.toUpperCase()} RUN (not every case ran)`;
  return `${v}: ${c.pass} passed, ${c.fail} failed, ${c.error} errored, ${c.skip} skipped of ${c.total} (suite ${results.run.suite}, ${results.run.accelerator})${state}`;
}

export function isPartial(results: Results): boolean {
  return results.run.state !== 'complete';
}

/** Cases grouped by suite, in first-seen order (a run of `quick` holds cases of several suites). */
export function casesBySuite(results: Results): Map<string, CaseResult[]> {
  const m = new Map<string, CaseResult[]>();
  for (const c of results.cases) {
    const key = c.suite || results.run.suite;
    let list = m.get(key);
    if (!list) m.set(key, (list = []));
    list.push(c);
  }
  return m;
}

/** The host facts worth a line each in every view, in a stable order. */
export const KEY_HOST_FACTS: ReadonlyArray<keyof HostFingerprint> = [
  'hostname',
  'cpuModel',
  'cpuVendor',
  'microcode',
  'cores',
  'threads',
  'kernelRelease',
  'qemuVersion',
  'virtualized',
  'kvmUsable',
  'governor',
  'thp',
  'kvmbenchVersion',
  'gitRevision',
];

/**
 * The accelerator with the execution mode beside it, the way every view writes it:
 * `kvm · native`, `kvm · emulated`, `tcg` (TCG is its own mode), or the accelerator alone
 * when no mode was recorded.
 */
export function accelText(accel: string | undefined, mode: ExecutionMode | undefined): string {
  if (!mode) return accel ?? '';
  if (!accel || (accel === 'tcg' && mode === 'tcg')) return mode;
  return `${accel} · ${mode}`;
}

/** How a case's guest code ran: its own record, else what its metrics say. */
export function caseMode(c: CaseResult): ExecutionMode | undefined {
  return c.execution?.mode ?? c.metrics.find((m) => m.execution)?.execution;
}

export function caseAccelText(c: CaseResult): string {
  return accelText(c.accelerator ?? c.metrics[0]?.accelerator, caseMode(c));
}

/** What an emulated figure is; every view says it in these words. */
export const EMULATED_MEANING =
  "KVM's instruction emulator ran the guest code, so these figures are emulator costs, not hardware VM exits";

/** One line for an emulated case: what its figures are and the first piece of evidence. */
export function emulatedNote(e: Execution | undefined): string {
  const first = e?.evidence[0];
  return `emulated: KVM instruction-emulator costs, not hardware VM exits${first ? ` (${first})` : ''}`;
}

/** Cases whose guest code ran in KVM's instruction emulator. */
export function emulatedCases(results: Results): CaseResult[] {
  return results.cases.filter((c) => caseMode(c) === 'emulated');
}

/**
 * The run's platform in short parts: `-cpu`, the calibration boot's execution mode and the
 * host's KVM flavour; absent parts are left out. `run.cpuNote` is long and goes on its own line.
 */
export function runPlatformParts(results: Results): string[] {
  const parts: string[] = [];
  if (results.run.cpu) parts.push(`cpu ${results.run.cpu}`);
  if (results.run.execution) parts.push(`execution ${results.run.execution.mode}`);
  if (results.host.kvmFlavor) parts.push(`KVM ${results.host.kvmFlavor}`);
  return parts;
}

/**
 * The emulated-execution warning of a run, or undefined when nothing ran emulated: whether the
 * calibration boot or some cases did, how many, and the first evidence line (the run's, else the
 * first emulated case's).
 */
export function runEmulatedWarning(results: Results): string | undefined {
  const cases = emulatedCases(results);
  const runEmulated = results.run.execution?.mode === 'emulated';
  if (!runEmulated && cases.length === 0) return undefined;
  const who = runEmulated
    ? `guest code ran emulated in this run${cases.length ? ` (${cases.length} of ${results.cases.length} cases)` : ''}`
    : `${cases.length} of ${results.cases.length} cases ran emulated (${cases
        .slice(0, 3)
        .map((c) => c.id)
        .join(', ')}${cases.length > 3 ? ', …' : ''})`;
  const evidence = (runEmulated ? results.run.execution : cases[0]!.execution)?.evidence[0];
  const flavor =
    results.host.kvmFlavor && results.host.kvmFlavor !== 'unknown' ? `; this host's KVM is ${results.host.kvmFlavor}` : '';
  return `${who}: ${EMULATED_MEANING}${flavor}${evidence ? `. Evidence: ${evidence}` : ''}`;
}

/** An exits case: run by the `exits` executor (its kind, recorded or inferred for older results). */
export function isExitsCase(c: CaseResult): boolean {
  return caseKind(c) === 'exits';
}

/** A boot case: a micro-guest or a Linux boot. */
export function isBootCase(c: CaseResult): boolean {
  const k = caseKind(c);
  return k === 'boot-micro' || k === 'boot-linux';
}

/** `<test>.exits_per_iteration`: KVM's exit count per loop iteration (exits cases under KVM). */
export function exitsPerIteration(c: CaseResult): Metric | undefined {
  return c.metrics.find((m) => m.name.endsWith('.exits_per_iteration'));
}

/** `<test>.kvm.<counter>` metrics: KVM's other counters per iteration, in recorded order. */
export function kvmCounters(c: CaseResult): Array<{ counter: string; metric: Metric }> {
  return c.metrics.flatMap((m) => {
    const i = m.name.indexOf('.kvm.');
    return i >= 0 ? [{ counter: m.name.slice(i + 5), metric: m }] : [];
  });
}

/** Names of the figures that count exits rather than time them. */
export function isCountMetric(m: Metric): boolean {
  return m.name.endsWith('.exits_per_iteration') || m.name.includes('.kvm.');
}

export interface ExitCheckView {
  counter: string;
  ok: boolean;
  text: string;
}

/** `facts.exitAccounting` as views read it: why there is none, or the declaration and its checks. */
export type ExitAccountingView = { none: string } | { declared: string; checks: ExitCheckView[]; judged: boolean };

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Reads `facts.exitAccounting` defensively (facts are free-form); undefined when absent or unreadable. */
export function exitAccounting(c: CaseResult): ExitAccountingView | undefined {
  const a = c.facts?.exitAccounting;
  if (typeof a === 'string') return { none: a };
  if (!isRecord(a) || !Array.isArray(a.checks)) return undefined;
  const checks = a.checks.filter(isRecord).map((k) => {
    const counter = typeof k.counter === 'string' ? k.counter : '?';
    return { counter, ok: k.ok === true, text: typeof k.text === 'string' ? k.text : counter };
  });
  return { declared: typeof a.declared === 'string' ? a.declared : '', checks, judged: a.judged === true };
}

/** `facts.exitAccounting` as a string says why there is none: `none: under TCG …`. */
export function noAccountingText(why: string): string {
  return `no exit accounting: ${why.replace(/^none:\s*/, '')}`;
}

/** `not judged: execution emulated` when the declarations (native behaviour) were not applied. */
export function notJudgedText(c: CaseResult): string {
  return `not judged: execution ${caseMode(c) ?? 'unknown'}`;
}

/**
 * The expectation checks in one line, each marked `[ok]` or `[not ok]`: `expectation met: …` or
 * `expectation NOT met: …`; `not judged: execution emulated (…)` when the case did not run
 * natively (the declarations describe native execution); or why there is no accounting at all.
 */
export function exitChecksLine(c: CaseResult): string | undefined {
  const a = exitAccounting(c);
  if (!a) return undefined;
  if ('none' in a) return noAccountingText(a.none);
  const each = a.checks.map((k) => `[${k.ok ? 'ok' : 'not ok'}] ${k.text}`).join('; ');
  if (!a.judged) return `${notJudgedText(c)}${each ? ` (${each})` : ''}`;
  if (a.checks.length === 0) return 'no expectation declared';
  return `${a.checks.every((k) => k.ok) ? 'expectation met' : 'expectation NOT met'}: ${each}`;
}

export type HistogramView = ExitHistogramFact;

/** Reads `facts.histogram` (individually timed iterations, log bins) defensively. */
export function histogramFact(c: CaseResult): HistogramView | undefined {
  const h = c.facts?.histogram;
  if (!isRecord(h) || !Array.isArray(h.bins)) return undefined;
  const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  const bins = h.bins
    .filter(isRecord)
    .map((b) => ({ lo: num(b.lo) ?? NaN, hi: num(b.hi) ?? NaN, count: num(b.count) ?? NaN }))
    .filter((b) => b.lo > 0 && b.hi > b.lo && b.count >= 0)
    .sort((a, b) => a.lo - b.lo);
  const p50 = num(h.p50),
    p99 = num(h.p99),
    p999 = num(h.p999);
  if (bins.length === 0 || p50 === undefined || p99 === undefined || p999 === undefined) return undefined;
  return {
    n: num(h.n) ?? bins.reduce((s, b) => s + b.count, 0),
    overheadTicks: num(h.overheadTicks) ?? 0,
    bins,
    p50,
    p99,
    p999,
    unit: typeof h.unit === 'string' ? h.unit : 'tsc_ticks',
    ...(num(h.p50Ns) !== undefined ? { p50Ns: num(h.p50Ns) } : {}),
    ...(num(h.p99Ns) !== undefined ? { p99Ns: num(h.p99Ns) } : {}),
    ...(num(h.p999Ns) !== undefined ? { p999Ns: num(h.p999Ns) } : {}),
  };
}
