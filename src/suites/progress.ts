/**
 * What a person sees while a suite runs, and the table at the end.
 *  - TTY: one live status line, redrawn in place: `[3/12] exits/cpuid · boot 3/10 · 4.1 s · ~35 s left`,
 *    with a permanent line per finished case above it.
 *  - CI (`CI` set) or no TTY: one plain line per case, nothing redrawn, so logs stay readable.
 * Both write to a stream given by the command (stderr, so `--json` keeps stdout clean).
 */
import type { ChalkInstance } from 'chalk';
import { caseAccelText, caseMode, exitsPerIteration, fmtNum, isExitsCase, runEmulatedWarning } from '../report/common.js';
import { qemuShareLine } from '../report/qemu-share.js';
import type { CaseResult, Results } from '../results/model.js';
import type { RunReporter } from './runner.js';
import type { CaseSpec } from './types.js';

export interface Writable {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export function isLiveTerminal(stream: Writable, env: NodeJS.ProcessEnv = process.env): boolean {
  const ci = env.CI !== undefined && env.CI !== '' && env.CI !== 'false' && env.CI !== '0';
  return Boolean(stream.isTTY) && !ci;
}

export function fmtDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

function statusText(c: ChalkInstance, status: CaseResult['status']): string {
  const pad = status.padEnd(5);
  if (status === 'pass') return c.green(pad);
  if (status === 'fail') return c.red(pad);
  if (status === 'error') return c.magenta(pad);
  return c.yellow(pad);
}

/** Shared bookkeeping: counts and an estimate from the average time of the cases done. */
abstract class BaseReporter implements RunReporter {
  protected total = 0;
  protected done = 0;
  protected started = 0;
  protected caseStarted = 0;
  protected current?: CaseSpec;
  /** The arm of an interleaved run (`A`, `B`) the current case belongs to. */
  protected currentLabel?: string;
  protected currentPhase = '';
  protected readonly durations: number[] = [];

  constructor(
    protected readonly out: Writable,
    protected readonly c: ChalkInstance,
  ) {}

  begin(info: Parameters<RunReporter['begin']>[0]): void {
    this.total = info.total;
    this.started = Date.now();
    this.line(
      info.label === undefined
        ? `kvmbench run ${info.suite} (${info.total} case${info.total === 1 ? '' : 's'}, accelerator ${info.accel}${info.quick ? ', quick' : ''}) → ${info.dir}`
        : `kvmbench ab ${info.suite}: ${info.label} (accelerator ${info.accel}${info.quick ? ', quick' : ''}) → ${info.dir}`,
    );
    for (const w of info.warnings) this.warning(w);
  }

  caseStart(index: number, _total: number, spec: CaseSpec, label?: string): void {
    this.current = spec;
    this.currentLabel = label;
    this.currentPhase = 'starting';
    this.caseStarted = Date.now();
    this.done = index;
  }

  phase(text: string): void {
    this.currentPhase = text.replace(/[\r\n]+/g, ' ').slice(0, 80);
  }

  caseEnd(index: number, total: number, r: CaseResult, label?: string): void {
    this.done = index + 1;
    if (r.status !== 'skip') this.durations.push(r.durationMs);
    this.current = undefined;
    const reason = r.status !== 'pass' && r.reason ? `  ${this.c.dim(oneLine(r.reason, 160))}` : '';
    const arm = label === undefined ? '' : `${this.c.bold(label)} `;
    this.line(`${this.c.dim(`[${index + 1}/${total}]`)} ${statusText(this.c, r.status)} ${arm}${r.id}  ${this.c.dim(fmtDuration(r.durationMs))}${reason}`);
  }

  warning(text: string): void {
    this.line(`${this.c.yellow('warning:')} ${text}`);
  }

  close(): void {}

  /** Remaining time: the mean of finished (non-skipped) cases times the cases left. */
  protected estimateMs(): number | undefined {
    if (this.durations.length === 0) return undefined;
    const mean = this.durations.reduce((a, b) => a + b, 0) / this.durations.length;
    const left = this.total - this.done;
    const inCase = Date.now() - this.caseStarted;
    return Math.max(0, mean * left - (this.current ? Math.min(inCase, mean) : 0));
  }

  protected abstract line(s: string): void;
}

/** One line per event; for CI logs and pipes. */
export class PlainReporter extends BaseReporter {
  protected line(s: string): void {
    this.out.write(s + '\n');
  }
}

/** A status line redrawn in place every 250 ms, finished cases printed above it. */
export class TtyReporter extends BaseReporter {
  private timer?: NodeJS.Timeout;
  private drawn = false;

  override begin(info: Parameters<RunReporter['begin']>[0]): void {
    super.begin(info);
    this.timer = setInterval(() => this.draw(), 250);
    this.timer.unref();
  }

  override caseStart(index: number, total: number, spec: CaseSpec, label?: string): void {
    super.caseStart(index, total, spec, label);
    this.draw();
  }

  override phase(text: string): void {
    super.phase(text);
    this.draw();
  }

  override close(): void {
    if (this.timer) clearInterval(this.timer);
    this.clear();
  }

  protected line(s: string): void {
    this.clear();
    this.out.write(s + '\n');
    this.draw();
  }

  private clear(): void {
    if (this.drawn) this.out.write('\r\x1b[2K');
    this.drawn = false;
  }

  private draw(): void {
    if (!this.current) return;
    const id = `${this.currentLabel === undefined ? '' : `${this.currentLabel} `}${this.current.suite}/${this.current.id}`;
    const est = this.estimateMs();
    const parts = [
      `${this.c.cyan(`[${this.done + 1}/${this.total}]`)} ${id}`,
      this.currentPhase,
      fmtDuration(Date.now() - this.caseStarted),
      `total ${fmtDuration(Date.now() - this.started)}`,
      est !== undefined ? `~${fmtDuration(est)} left` : '',
    ].filter(Boolean);
    let s = parts.join(this.c.dim(' · '));
    // A pseudo-terminal without a size reports 0 columns: assume a common width then.
    const cols = this.out.columns && this.out.columns > 0 ? this.out.columns : 100;
    const width = Math.max(20, cols - 1);
    // Cut by visible width (colour codes are zero-width) so the line never wraps.
    if (visibleLength(s) > width) s = cutVisible(s, width);
    this.out.write(`\r\x1b[2K${s}`);
    this.drawn = true;
  }
}

export function makeReporter(stream: Writable, c: ChalkInstance, env: NodeJS.ProcessEnv = process.env): RunReporter {
  return isLiveTerminal(stream, env) ? new TtyReporter(stream, c) : new PlainReporter(stream, c);
}

function oneLine(s: string, max: number): string {
  const t = s.replace(/\s*\n\s*/g, ' ⏎ ');
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

// eslint-disable-next-line no-control-regex -- ANSI escape sequences start with ESC
const ANSI = /\x1b\[[0-9;]*m/g;
function visibleLength(s: string): number {
  return s.replace(ANSI, '').length;
}
function cutVisible(s: string, width: number): string {
  let out = '';
  let n = 0;
  // eslint-disable-next-line no-control-regex -- ANSI escape sequences start with ESC
  for (const part of s.split(/(\x1b\[[0-9;]*m)/)) {
    if (part.startsWith('\x1b[')) {
      out += part;
    } else {
      const room = width - n;
      if (room <= 0) continue;
      out += part.slice(0, room);
      n += Math.min(part.length, room);
    }
  }
  return s.includes('\x1b[') ? out + '\x1b[0m' : out;
}

/** Significant-figure formatting for the summary table. */
export function fmtNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 1e6 || a < 1e-3) return v.toExponential(2);
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/**
 * The metric's name less what the case column already says: its test (`exits/cpuid`, `cpuid.latency` → `latency`)
 * or its suite's stem (`boot-micro/q35`, `boot.spawn_to_exit` → `spawn_to_exit`).
 */
export function shortMetricName(r: Pick<CaseResult, 'id' | 'suite'>, name: string): string {
  const dot = name.indexOf('.');
  if (dot <= 0 || dot === name.length - 1) return name;
  const head = name.slice(0, dot);
  return head === r.id.split('/').pop() || head === r.suite.split('-')[0] ? name.slice(dot + 1) : name;
}

/**
 * The end-of-run table: case, status, key metric (the one marked `headline`, else the first) as median ± CV, unit, n,
 * for exits cases KVM's exits per iteration (median; `–` when KVM gave no count), the accelerator with the execution
 * mode beside it, and the key metric's short name; then the reasons of everything that did not pass, and a warning
 * when guest code ran emulated. The exits column is left out when no case is an exits case. The rows of the quick and
 * exits suites fit 100 columns.
 */
export function summaryTable(results: Results, c: ChalkInstance): string {
  const rows: string[][] = [['case', 'status', 'median ± cv', 'unit', 'n', 'exits/iter', 'accel · exec', 'metric']];
  for (const r of results.cases) {
    const m = r.metrics.find((x) => x.headline) ?? r.metrics[0];
    const epi = exitsPerIteration(r);
    rows.push([
      r.id,
      r.status,
      m ? `${fmtNumber(m.summary.median)} ± ${(m.summary.cv * 100).toFixed(1)}%` : '',
      m?.unit ?? '',
      m ? String(m.summary.n) : '',
      epi ? fmtNum(epi.summary.median) : isExitsCase(r) ? '–' : '',
      caseAccelText(r),
      m ? shortMetricName(r, m.name) : '',
    ]);
  }
  // A run without exits cases has no use for their column.
  const EXITS = 5;
  const anyExits = rows.slice(1).some((row) => row[EXITS] !== '');
  const shown = rows[0]!.map((_, i) => i).filter((i) => i !== EXITS || anyExits);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const right = new Set([2, 4, EXITS]);
  const lines = rows.map((row, ri) =>
    shown
      .map((i) => {
        const cell = row[i]!;
        const padded = right.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!);
        if (ri === 0) return c.bold(padded);
        if (i === 1) return statusText(c, cell as CaseResult['status']).padEnd(widths[i]!);
        if (i === 6 && caseMode(results.cases[ri - 1]!) === 'emulated') return c.yellow(padded);
        return padded;
      })
      .join('  ')
      .trimEnd(),
  );
  const counts = { pass: 0, fail: 0, error: 0, skip: 0 };
  for (const r of results.cases) counts[r.status]++;
  const notes = results.cases
    .filter((r) => r.status !== 'pass' && r.reason)
    .map((r) => `  ${statusText(c, r.status).trim()} ${r.id}: ${oneLine(r.reason!, 400)}${r.log ? c.dim(` (log: ${r.log})`) : ''}`);
  const emulated = runEmulatedWarning(results);
  const warn = emulated ? [c.yellow(`emulated: ${oneLine(emulated, 400)}`), ''] : [];
  const state = results.run.state === 'complete' ? '' : c.yellow(` — run ${results.run.state}`);
  const total = `${counts.pass} passed, ${counts.fail} failed, ${counts.error} errors, ${counts.skip} skipped${state}`;
  // QEMU's share of a user-space exit, where the run has inl_from_qemu and the raw floor (or only the former).
  const share = qemuShareLine(results);
  return [...lines, '', ...(share ? [share, ''] : []), ...(notes.length ? [...notes, ''] : []), ...warn, total].join('\n');
}
