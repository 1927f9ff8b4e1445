/**
 * What a kvm-unit-tests guest says on its serial line: one `PASS: `, `FAIL: `, `SKIP: `,
 * `XFAIL: `, `XPASS: ` or `KFAIL: ` line per sub-check (the report prefixes, then the message),
 * `SUMMARY: N tests[, F unexpected failures][, K known failures][, X expected failures][, S skipped]`
 * at the end, `ABORT: ` before an abort. Colour codes and carriage returns are dropped. Bounded:
 * at most MAX_CHECKS sub-checks are kept, the rest only counted.
 */
import type { SubCheck, SubCheckStatus } from '../results/model.js';

export const MAX_CHECKS = 5000;
/** Longest sub-check name kept. */
const MAX_NAME = 300;

const CHECK_RE = /^(PASS|FAIL|SKIP|XFAIL|XPASS|KFAIL): ?(.*)$/;
const SUMMARY_RE = /^SUMMARY: (\d+) tests?((?:, \d+ [a-z ]+)*)\s*$/;
// eslint-disable-next-line no-control-regex
const ANSI_RE = /\u001b\[[0-9;?]*[A-Za-z]/g;

export interface KutSummary {
  text: string;
  tests: number;
  failures: number;
  knownFailures: number;
  expectedFailures: number;
  skipped: number;
}

export class KutOutput {
  readonly checks: SubCheck[] = [];
  /** Sub-check lines beyond MAX_CHECKS, counted, not kept. */
  dropped = 0;
  readonly counts: Record<SubCheckStatus, number> = { pass: 0, fail: 0, skip: 0, xfail: 0, xpass: 0, kfail: 0 };
  summary?: KutSummary;
  abort?: string;
  /** The guest's `Unhandled exception ...` line (its exception handler's last words before abort). */
  exception?: string;
  /** The first FAIL (or XPASS) line, for the case's reason. */
  firstFailure?: string;
  /** The last SKIP line, for a skip's reason. */
  lastSkip?: string;

  /** One console line as the launcher's parser gave it. */
  add(text: string): void {
    const line = text
      .replace(ANSI_RE, '')
      .replace(/\uFFFD+$/, '')
      .trimEnd();
    const m = CHECK_RE.exec(line);
    if (m) {
      const status = m[1]!.toLowerCase() as SubCheckStatus;
      const name = m[2]!.trim().slice(0, MAX_NAME);
      this.counts[status]++;
      if ((status === 'fail' || status === 'xpass') && this.firstFailure === undefined) this.firstFailure = name;
      if (status === 'skip') this.lastSkip = name;
      if (this.checks.length < MAX_CHECKS) this.checks.push({ name, status });
      else this.dropped++;
      return;
    }
    if (line.startsWith('ABORT: ')) {
      this.abort ??= line.slice(7).trim().slice(0, MAX_NAME);
      return;
    }
    if (line.startsWith('Unhandled exception')) {
      this.exception ??= line.slice(0, MAX_NAME);
      return;
    }
    const s = SUMMARY_RE.exec(line);
    if (s) this.summary = parseSummary(line, Number(s[1]), s[2] ?? '');
  }
}

function parseSummary(text: string, tests: number, rest: string): KutSummary {
  const out: KutSummary = { text, tests, failures: 0, knownFailures: 0, expectedFailures: 0, skipped: 0 };
  for (const part of rest
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^(\d+) (.+)$/.exec(part);
    if (!m) continue;
    const k = Number(m[1]);
    if (m[2] === 'unexpected failures') out.failures = k;
    else if (m[2] === 'known failures') out.knownFailures = k;
    else if (m[2] === 'expected failures') out.expectedFailures = k;
    else if (m[2] === 'skipped') out.skipped = k;
  }
  return out;
}
