/**
 * What a guest said, in order: keeps the protocol events a case needs and the
 * last console lines, and can say where the guest stopped when it never ended.
 */
import type { ConsoleLine, EventLine } from './parser.js';

export type GuestVerdict = 'pass' | 'fail' | 'skip';

export interface Sample {
  test: string;
  i: number;
  iters: number;
  ticks: number;
  base: number;
  /** Iterations the test loop redid (absent from older guests: 0). */
  extra?: number;
}

const TAIL_LINES = 20;

function num(v: string | undefined): number | undefined {
  if (v === undefined || !/^\d{1,20}$/.test(v)) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : undefined;
}

export class Transcript {
  readonly tail: string[] = [];
  lineCount = 0;
  hello?: Record<string, string>;
  cpu?: Record<string, string>;
  tsc?: { hz: number; source: string };
  /** The `test` line: name, iters, samples, what... */
  test?: Record<string, string>;
  readonly samples: Sample[] = [];
  /** Test loops finished, from `phase loop=test` lines (exit accounting holds samples back until the end). */
  loopsDone = 0;
  verdict?: { status: GuestVerdict; test?: string; reason?: string; fields: Record<string, string> };
  end?: Record<string, string>;
  /** Lines that looked like protocol lines but were kept as text, with why. */
  readonly notes: string[] = [];
  /** Every event, for executors that read types this class does not track. */
  readonly events: EventLine[] = [];

  add(line: ConsoleLine): void {
    this.lineCount++;
    this.tail.push(line.text);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
    if (line.kind === 'text') {
      if (line.note && this.notes.length < 50) this.notes.push(`${line.note}: ${line.text.slice(0, 120)}`);
      return;
    }
    if (this.events.length < 100_000) this.events.push(line);
    const f = line.fields;
    switch (line.type) {
      case 'hello':
        this.hello = f;
        break;
      case 'cpu':
        this.cpu = f;
        break;
      case 'tsc':
        this.tsc = { hz: num(f.hz) ?? 0, source: f.source ?? 'none' };
        break;
      case 'test':
        this.test = f;
        break;
      case 'sample': {
        const i = num(f.i),
          iters = num(f.iters),
          ticks = num(f.ticks),
          base = num(f.base);
        if (
          f.test !== undefined &&
          i !== undefined &&
          iters !== undefined &&
          iters > 0 &&
          ticks !== undefined &&
          base !== undefined
        ) {
          const extra = num(f.extra);
          this.samples.push({ test: f.test, i, iters, ticks, base, ...(extra ? { extra } : {}) });
        } else if (this.notes.length < 50) {
          this.notes.push(`sample line with missing or bad fields: ${line.text.slice(0, 120)}`);
        }
        break;
      }
      case 'phase':
        if (f.loop === 'test') this.loopsDone++;
        break;
      case 'PASS':
      case 'FAIL':
      case 'SKIP':
        // The first verdict stands: a guest cannot pass after it failed.
        this.verdict ??= { status: line.type.toLowerCase() as GuestVerdict, test: f.test, reason: f.reason, fields: f };
        break;
      case 'end':
        this.end = f;
        break;
      default:
        break;
    }
  }

  /** Where the guest got to, for the message of a case that did not end cleanly. */
  whereStopped(totalBytes: number): string {
    if (totalBytes === 0) return 'no output from the guest: stopped in the firmware or before the guest entry';
    if (!this.hello) return 'no protocol hello: stopped in the firmware, the boot loader or early guest start';
    if (this.end) return `after the guest's end line (status=${this.end.status ?? '?'})`;
    if (this.verdict) return `after ${this.verdict.status.toUpperCase()} of test ${this.verdict.test ?? '?'}`;
    if (this.test) {
      const name = this.test.name ?? '?';
      return `stopped in test ${name} after ${Math.max(this.samples.length, this.loopsDone)} of ${this.test.samples ?? '?'} samples`;
    }
    if (this.tsc) return 'stopped after TSC calibration, before the test started';
    return `stopped after the guest's hello (${this.hello.guest ?? 'guest'} started)`;
  }

  tailText(n = 8): string {
    return this.tail.slice(-n).join('\n');
  }
}
