/**
 * What a person sees while a suite runs (the table at the end is ./summary.ts).
 *  - TTY: one live status line, redrawn in place: `[3/12] exits/cpuid · boot 3/10 · 4.1 s · ~35 s left`,
 *    with a permanent line per finished case above it.
 *  - CI (`CI` set) or no TTY: one plain line per case, nothing redrawn, so logs stay readable.
 * Both write to a stream given by the command (stderr, so `--json` keeps stdout clean).
 */
import type { ChalkInstance } from 'chalk';
import type { CaseResult } from '../results/model.js';
import type { RunReporter } from '../suites/runner.js';
import type { CaseSpec } from '../cases/types.js';
import { fmtDuration, oneLine, paintStatus } from '../report/format.js';

export interface Writable {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export function isLiveTerminal(stream: Writable, env: NodeJS.ProcessEnv = process.env): boolean {
  const ci = env.CI !== undefined && env.CI !== '' && env.CI !== 'false' && env.CI !== '0';
  return Boolean(stream.isTTY) && !ci;
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
    this.line(
      `${this.c.dim(`[${index + 1}/${total}]`)} ${paintStatus(this.c, r.status, r.status.padEnd(5))} ${arm}${r.id}  ${this.c.dim(fmtDuration(r.durationMs))}${reason}`,
    );
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
