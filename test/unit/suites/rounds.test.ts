/**
 * `--rounds N`: the merge of a case's rounds into one result (src/suites/rounds.ts), and the
 * runner running every case N times in a row with its own log per round, skipping the rest of a
 * case that skipped, and keeping the finished rounds of an interrupted case.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { validateResults } from '../../../src/results/load.js';
import type { CaseResult } from '../../../src/results/model.js';
import { summarize } from '../../../src/stats/summary.js';
import { loadSuite } from '../../../src/suites/load.js';
import { mergeRounds, roundLogPath } from '../../../src/suites/rounds.js';
import { runSuite, type RunReporter } from '../../../src/suites/runner.js';
import type { CaseExecutor } from '../../../src/cases/types.js';
import { caseResult, metric } from '../../helpers/results-fixture.js';

const work = mkdtempSync(join(tmpdir(), 'kvmbench-rounds-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('mergeRounds', () => {
  const round = (status: CaseResult['status'], samples: number[], extra: Partial<CaseResult> = {}): CaseResult =>
    caseResult('s/c', {
      status,
      metrics: samples.length ? [metric('x.latency', samples, { labels: { machine: 'q35' } })] : [],
      durationMs: 10,
      ...extra,
    });

  it('concatenates samples round by round, records the sizes, recomputes the summary and sums the time', () => {
    const m = mergeRounds([round('pass', [1, 2]), round('pass', [3, 4, 5]), round('pass', [6])], 3);
    expect(m.status).toBe('pass');
    expect(m.metrics).toHaveLength(1);
    expect(m.metrics[0]!.samples).toEqual([1, 2, 3, 4, 5, 6]);
    expect(m.metrics[0]!.rounds).toEqual([2, 3, 1]);
    expect(m.metrics[0]!.summary).toEqual(summarize([1, 2, 3, 4, 5, 6]));
    expect(m.metrics[0]!.method).toBe('synthetic fixture. Rounds: 3, each a fresh guest; samples per round 2, 3, 1.');
    expect(m.durationMs).toBe(30);
    expect(m.rounds!.map((r) => r.status)).toEqual(['pass', 'pass', 'pass']);
    expect(m.reason).toBeUndefined();
  });

  it('takes the worst status, says which round failed, and keeps a metric a round lacked with 0 for it', () => {
    const m = mergeRounds(
      [round('pass', [1]), round('fail', [], { reason: 'cpuid exits 0, expected 1' }), round('pass', [3])],
      3,
    );
    expect(m.status).toBe('fail');
    expect(m.reason).toBe('round 2: cpuid exits 0, expected 1');
    expect(m.metrics[0]!.rounds).toEqual([1, 0, 1]);
    expect(mergeRounds([round('fail', [1], { reason: 'a' }), round('error', [2], { reason: 'hung' })], 2).status).toBe('error');
  });

  it('says how many rounds ran when fewer than planned, and is the one result itself for one planned round', () => {
    const one = round('pass', [1]);
    expect(mergeRounds([one], 1)).toBe(one);
    const m = mergeRounds([round('pass', [1]), round('error', [], { reason: 'interrupted by SIGINT' })], 3);
    expect(m.reason).toBe('2 of 3 rounds ran; round 2: interrupted by SIGINT');
  });

  it('is skip with the reason only when every round skipped', () => {
    const m = mergeRounds([round('skip', [], { reason: 'needs KVM' })], 3);
    expect(m).toMatchObject({ status: 'skip', reason: 'needs KVM' });
  });

  it("names later rounds' logs after the round", () => {
    expect(roundLogPath('logs/exits/cpuid.log', 0)).toBe('logs/exits/cpuid.log');
    expect(roundLogPath('logs/exits/cpuid.log', 2)).toBe('logs/exits/cpuid.round-3.log');
  });
});

describe('runSuite with rounds', () => {
  const calls: Array<{ id: string; log: string }> = [];
  const executor: CaseExecutor = {
    kind: 'round-test',
    async run(spec, ctx) {
      calls.push({ id: spec.id, log: ctx.logPath });
      writeFileSync(ctx.logPath, `round of ${spec.id}\n`);
      if (spec.args.skip) return { status: 'skip', reason: 'not here', metrics: [] };
      const ms = Number(spec.args.ms ?? 1);
      await new Promise<void>((res, rej) => {
        const t = setTimeout(res, ms);
        ctx.signal.addEventListener(
          'abort',
          () => {
            clearTimeout(t);
            rej(new Error('guest killed'));
          },
          { once: true },
        );
      });
      const samples = [calls.length, calls.length + 0.5];
      return {
        status: 'pass',
        metrics: [
          {
            name: 'v',
            unit: 'ns',
            better: 'lower',
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
  const deps = {
    resolveAccel: async () => ({ accel: 'tcg' as const, warnings: [] }),
    fingerprint: async () => ({ hostname: 'h' }),
  };
  const suite = (name: string, body: string) => {
    const f = join(work, `${name}.yaml`);
    writeFileSync(f, `suite: ${name}\ndefaults:\n  kind: round-test\n  machine: pc\n${body}`);
    return loadSuite(f);
  };
  const run = (name: string, body: string, extra: Partial<Parameters<typeof runSuite>[0]> = {}) =>
    runSuite({
      suite: suite(name, body),
      accel: 'tcg',
      quick: false,
      argv: [],
      output: join(work, name),
      deps,
      executorFor: (k) => (k === 'round-test' ? executor : undefined),
      ...extra,
    });

  it('runs each case N times in a row, one log per round, and records one valid case per case', async () => {
    calls.length = 0;
    const s = await run('three', 'cases:\n  - id: one\n  - id: two\n', { rounds: 3 });
    expect(calls.map((c) => c.id)).toEqual(['one', 'one', 'one', 'two', 'two', 'two']);
    expect(s.outcome).toBe('ok');
    expect(s.results.cases.map((c) => c.id)).toEqual(['three/one', 'three/two']);
    const one = s.results.cases[0]!;
    expect(one.metrics[0]!.rounds).toEqual([2, 2, 2]);
    expect(one.rounds!.map((r) => r.log)).toEqual([
      'logs/three/one.log',
      'logs/three/one.round-2.log',
      'logs/three/one.round-3.log',
    ]);
    for (const r of one.rounds!) expect(existsSync(join(s.dir, r.log!))).toBe(true);
    validateResults(JSON.parse(readFileSync(join(s.dir, 'results.json'), 'utf8')));
  });

  it('runs a case that skipped once, not N times', async () => {
    calls.length = 0;
    const s = await run('skips', 'cases:\n  - id: gone\n    args: {skip: true}\n  - id: here\n', { rounds: 3 });
    expect(calls.map((c) => c.id)).toEqual(['gone', 'here', 'here', 'here']);
    expect(s.results.cases[0]).toMatchObject({ status: 'skip', reason: 'not here' });
  });

  it('keeps the finished rounds of a case an interrupt cut short', async () => {
    calls.length = 0;
    const ac = new AbortController();
    const reporter: RunReporter = {
      begin: () => undefined,
      caseStart: (i) => {
        if (i === 1) setTimeout(() => ac.abort('SIGINT'), 50);
      },
      phase: () => undefined,
      caseEnd: () => undefined,
      warning: () => undefined,
      close: () => undefined,
    };
    const s = await run('cut', 'cases:\n  - id: slow\n    args: {ms: 400}\n', { rounds: 3, signal: ac.signal, reporter });
    expect(s.outcome).toBe('interrupted');
    expect(s.results.run.state).toBe('interrupted');
    expect(s.results.cases).toHaveLength(1);
    const c = s.results.cases[0]!;
    expect(c.status).toBe('error');
    expect(c.reason).toMatch(/^2 of 3 rounds ran; round 2: interrupted by SIGINT/);
    expect(c.rounds!.map((r) => r.status)).toEqual(['pass', 'error']);
  });

  it('refuses a rounds count outside 1–50 before anything runs', async () => {
    await expect(run('bad', 'cases:\n  - id: one\n', { rounds: 0 })).rejects.toThrow(UsageError);
    await expect(run('bad2', 'cases:\n  - id: one\n', { rounds: 51 })).rejects.toThrow(/--rounds 51/);
    expect(existsSync(join(work, 'bad'))).toBe(false);
  });
});
