/**
 * `--rounds N --precision P`: the stop rule on round medians (src/suites/adaptive-rounds.ts) and
 * the runner adding rounds of a case until it is met, with every metric saying why it stopped.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { validateResults } from '../../../src/results/load.js';
import type { CaseResult } from '../../../src/results/model.js';
import { normal, seededRng } from '../../../src/stats/random.js';
import { summarize } from '../../../src/stats/summary.js';
import { loadSuite } from '../../../src/suites/load.js';
import { headlineMetric, roundMediansOf, roundsStop } from '../../../src/suites/adaptive-rounds.js';
import { mergeRounds } from '../../../src/suites/rounds.js';
import { checkMaxRounds, runSuite } from '../../../src/suites/runner.js';
import type { CaseExecutor } from '../../../src/cases/types.js';
import { caseResult, metric } from '../../helpers/results-fixture.js';

const work = mkdtempSync(join(tmpdir(), 'kvmbench-adaptive-rounds-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const round = (medianValue: number, status: CaseResult['status'] = 'pass'): CaseResult =>
  caseResult('s/c', {
    status,
    metrics: [
      metric('other', [1, 2, 3]),
      metric('x.latency', [medianValue * 0.99, medianValue, medianValue * 1.01], { headline: true }),
    ],
  });

describe('roundsStop', () => {
  const rule = { precision: 0.05, minRounds: 3, maxRounds: 20 };

  it('judges the headline metric on its round medians', () => {
    const m = mergeRounds([round(10), round(12), round(11)], 3);
    expect(headlineMetric(m)!.name).toBe('x.latency');
    expect(roundMediansOf(headlineMetric(m)!)).toEqual([10, 12, 11]);
  });

  it('needs six rounds before the precision counts: fewer have no sign-test interval', () => {
    const five = mergeRounds(
      [100, 100, 100, 100, 100].map((v) => round(v)),
      5,
    );
    expect(roundsStop(five, 5, 0, rule)).toBeUndefined();
    const six = mergeRounds(
      [100, 100, 100, 100, 100, 100].map((v) => round(v)),
      6,
    );
    expect(roundsStop(six, 6, 0, rule)).toMatchObject({ reason: 'precision', n: 6 });
    expect(roundsStop(six, 6, 0, rule)!.note).toMatch(
      /^precision 0\.0 % reached after 6 rounds \(round medians of x\.latency\)$/,
    );
  });

  it('keeps going while the round medians are spread, and stops at the caps', () => {
    const spread = mergeRounds(
      [50, 150, 80, 120, 60, 140, 90].map((v) => round(v)),
      7,
    );
    expect(roundsStop(spread, 7, 0, rule)).toBeUndefined();
    expect(roundsStop(spread, 7, 0, { ...rule, maxRounds: 7 })).toMatchObject({ reason: 'max-rounds', n: 7 });
    const late = roundsStop(spread, 7, 61_000, { ...rule, maxTimeMs: 60_000 })!;
    expect(late).toMatchObject({ reason: 'max-time', n: 7 });
    expect(late.note).toMatch(/cap of 60 s reached at .* after 7 rounds/);
  });

  it('stops a case whose last round did not pass, keeping what it measured', () => {
    const m = mergeRounds([round(10), round(10), round(10, 'error')], 3);
    expect(roundsStop(m, 3, 0, rule)).toMatchObject({ reason: 'cut-short', n: 3 });
  });

  it('takes --max-rounds from --rounds to 50', () => {
    expect(checkMaxRounds(undefined, 7)).toBe(20);
    expect(checkMaxRounds(undefined, 30)).toBe(30);
    expect(() => checkMaxRounds(5, 7)).toThrow(UsageError);
    expect(() => checkMaxRounds(51, 7)).toThrow(/--max-rounds 51/);
  });
});

describe('runSuite with --rounds and --precision', () => {
  const rng = seededRng('adaptive-rounds');
  let calls = 0;
  /** A guest whose level is drawn per round (args.cv: the spread between guests) and whose samples sit tight around it. */
  const executor: CaseExecutor = {
    kind: 'guest-level',
    async run(spec, ctx) {
      calls++;
      writeFileSync(ctx.logPath, 'round\n');
      if (spec.args.failAt === calls) return { status: 'error', reason: 'guest died', metrics: [] };
      const level = 100 * Math.exp(Number(spec.args.cv ?? 0.01) * normal(rng));
      const samples = [level * 0.99, level, level * 1.01];
      return {
        status: 'pass',
        metrics: [
          {
            name: 'v',
            unit: 'ns',
            better: 'lower',
            headline: true,
            interval: 'i',
            method: 'm',
            accelerator: ctx.accel,
            samples,
            summary: summarize(samples),
          },
        ],
      };
    },
  };
  const run = (name: string, args: string, extra: Partial<Parameters<typeof runSuite>[0]>) => {
    const f = join(work, `${name}.yaml`);
    writeFileSync(f, `suite: ${name}\ndefaults:\n  kind: guest-level\n  machine: pc\ncases:\n  - id: one\n    args: ${args}\n`);
    calls = 0;
    return runSuite({
      suite: loadSuite(f),
      accel: 'tcg',
      quick: false,
      argv: [],
      output: join(work, name),
      deps: { resolveAccel: async () => ({ accel: 'tcg' as const, warnings: [] }), fingerprint: async () => ({ hostname: 'h' }) },
      executorFor: (k) => (k === 'guest-level' ? executor : undefined),
      ...extra,
    });
  };

  it('adds rounds of a quiet case up to six, the fewest with an interval, and records why on every metric', async () => {
    const s = await run('quiet', '{cv: 0.001}', { rounds: 3, sampling: { precision: 0.05 } });
    expect(calls).toBe(6);
    const m = s.results.cases[0]!.metrics[0]!;
    expect(m.rounds).toHaveLength(6);
    expect(m.roundSampling).toMatchObject({ reason: 'precision', n: 6, target: 0.05 });
    validateResults(JSON.parse(readFileSync(join(s.dir, 'results.json'), 'utf8')));
  });

  it('adds rounds of a noisy case until the cap on rounds', async () => {
    const s = await run('noisy', '{cv: 0.5}', { rounds: 3, maxRounds: 8, sampling: { precision: 0.01 } });
    expect(calls).toBe(8);
    expect(s.results.cases[0]!.metrics[0]!.roundSampling).toMatchObject({ reason: 'max-rounds', n: 8 });
    expect(s.results.cases[0]!.rounds).toHaveLength(8);
  });

  it('stops adding rounds once one fails, keeping the rounds that passed', async () => {
    const s = await run('dies', '{cv: 0.5, failAt: 7}', { rounds: 3, sampling: { precision: 0.01 } });
    expect(calls).toBe(7);
    const c = s.results.cases[0]!;
    expect(c.status).toBe('error');
    expect(c.metrics[0]!.rounds).toEqual([3, 3, 3, 3, 3, 3, 0]);
    expect(c.metrics[0]!.roundSampling).toMatchObject({ reason: 'cut-short', n: 7 });
  });

  it('adds no rounds without --precision, nor with one round', async () => {
    await run('fixed', '{cv: 0.5}', { rounds: 3 });
    expect(calls).toBe(3);
    const s = await run('single', '{cv: 0.5}', { sampling: { precision: 0.01 } });
    expect(calls).toBe(1);
    expect(s.results.cases[0]!.metrics[0]!.roundSampling).toBeUndefined();
  });
});
