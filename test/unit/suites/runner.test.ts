import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EnvironmentError } from '../../../src/errors.js';
import { loadResults, validateResults } from '../../../src/results/load.js';
import { prepareOutputDir } from '../../../src/results/outdir.js';
import { summarize } from '../../../src/stats/summary.js';
import type { RunnerDeps } from '../../../src/suites/deps.js';
import { loadSuite, type LoadedSuite } from '../../../src/suites/load.js';
import { runSuite, type RunReporter } from '../../../src/suites/runner.js';
import type { CaseContext, CaseExecutor, CaseOutcome, CaseSpec } from '../../../src/cases/types.js';

const fixtures = join(import.meta.dirname, '../../fixtures/suites');
const work = mkdtempSync(join(tmpdir(), 'kvmbench-runner-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** What the test executor saw, by case id. */
const seen = new Map<string, { scratch: string; abortedAt?: number; started: number; ctx: CaseContext }>();

/**
 * A test-only executor that really waits on the AbortSignal (as a QEMU executor must):
 * args.ms sleep, args.status result, args.throw message, args.hang ignores the abort,
 * args.nan returns an invalid metric.
 */
const sleeper: CaseExecutor = {
  kind: 'test-sleep',
  async run(spec: CaseSpec, ctx: CaseContext): Promise<CaseOutcome> {
    const rec: { scratch: string; abortedAt?: number; started: number; ctx: CaseContext } = {
      scratch: ctx.scratchDir,
      started: Date.now(),
      ctx,
    };
    seen.set(`${spec.suite}/${spec.id}`, rec);
    writeFileSync(join(ctx.scratchDir, 'tmp'), 'x');
    writeFileSync(ctx.logPath, `log of ${spec.id}\n`);
    ctx.onPhase('sleeping');
    ctx.signal.addEventListener('abort', () => (rec.abortedAt = Date.now()));
    const ms = Number(spec.args.ms ?? 0);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, ms);
      if (spec.args.hang) return;
      ctx.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(t);
          if (spec.args.returnOnAbort) resolve();
          else reject(new Error('guest killed'));
        },
        { once: true },
      );
    });
    if (spec.args.throw) throw new Error(String(spec.args.throw));
    // What the launcher reports of a guest it killed on an abort, not knowing why.
    if (spec.args.returnOnAbort && ctx.signal.aborted) return { status: 'error', reason: 'aborted', metrics: [] };
    const samples = spec.args.nan ? [1, Number.NaN] : [ms, ms + 1, ms + 2];
    return {
      status: (spec.args.status as CaseOutcome['status']) ?? 'pass',
      metrics: [
        {
          name: 'sleep',
          unit: 'ms',
          better: 'lower',
          interval: 'setTimeout',
          method: 'test',
          accelerator: ctx.accel,
          samples,
          summary: summarize(samples),
        },
      ],
    };
  },
};
const registry = (k: string) => (k === 'test-sleep' ? sleeper : undefined);

function deps(extra: Partial<RunnerDeps> = {}): RunnerDeps {
  return {
    resolveAccel: async () => ({ accel: 'tcg', warnings: ['test: running under TCG'] }),
    fingerprint: async () => ({ hostname: 'test' }),
    ...extra,
  };
}

function suiteFile(name: string, body: string): LoadedSuite {
  const f = join(work, `${name}.yaml`);
  writeFileSync(f, `suite: ${name}\ndefaults:\n  kind: test-sleep\n  machine: pc\n${body}`);
  return loadSuite(f);
}

const events: string[] = [];
const reporter: RunReporter = {
  begin: (i) => events.push(`begin ${i.total}`),
  caseStart: (i, n, s) => events.push(`start ${i + 1}/${n} ${s.id}`),
  phase: (p) => events.push(`phase ${p}`),
  caseEnd: (i, n, r) => events.push(`end ${i + 1}/${n} ${r.id} ${r.status}`),
  warning: (w) => events.push(`warning ${w}`),
  close: () => undefined,
};

describe('runSuite', () => {
  it('runs, skips by accelerator, writes results.json + jsonl case by case, logs, and removes scratch dirs', async () => {
    events.length = 0;
    const suite = loadSuite(join(fixtures, 'demo.yaml'));
    const out = join(work, 'out-basic');
    const s = await runSuite({
      suite,
      accel: 'auto',
      quick: false,
      argv: ['run', 'demo'],
      output: out,
      deps: deps(),
      executorFor: registry,
      reporter,
    });
    expect(s.outcome).toBe('ok');
    expect(s.results.cases.map((c) => [c.id, c.status])).toEqual([
      ['demo/fast', 'pass'],
      ['demo/slow', 'pass'],
      ['demo/kvm-only', 'skip'],
    ]);
    expect(s.results.cases[2]!.reason).toBe('case runs only on kvm; this run uses tcg');
    expect(s.results.run).toMatchObject({
      suite: 'demo',
      state: 'complete',
      accelerator: 'tcg',
      acceleratorRequested: 'auto',
      quick: false,
      warnings: ['test: running under TCG'],
    });
    const slow = s.results.cases[1]!;
    expect(slow).toMatchObject({
      suite: 'demo',
      kind: 'test-sleep',
      machine: 'pc',
      tags: ['demo', 'slow'],
      accelerator: 'tcg',
      log: 'logs/demo/slow.log',
    });
    // The kind is recorded for every case, skipped ones too: views choose by it.
    expect(s.results.cases.map((c) => c.kind)).toEqual(['test-sleep', 'test-sleep', 'test-sleep']);
    expect(slow.durationMs).toBeGreaterThanOrEqual(190);
    expect(readFileSync(join(out, slow.log!), 'utf8')).toBe('log of slow\n');
    // results.json validates and equals what the journal rebuilds.
    const json = validateResults(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')));
    expect(json).toEqual(s.results);
    const fromJournal = await loadResults(join(out, 'results.jsonl'));
    expect(fromJournal.results.cases).toEqual(s.results.cases);
    expect(fromJournal.results.run.state).toBe('complete');
    for (const id of ['demo/fast', 'demo/slow']) expect(existsSync(seen.get(id)!.scratch)).toBe(false);
    expect(readdirSync(out).filter((f) => f.endsWith('.tmp') || f.startsWith('.'))).toEqual([]);
    expect(events).toEqual([
      'begin 3',
      'start 1/3 fast',
      'phase sleeping',
      'end 1/3 demo/fast pass',
      'start 2/3 slow',
      'phase sleeping',
      'end 2/3 demo/slow pass',
      'start 3/3 kvm-only',
      'end 3/3 demo/kvm-only skip',
    ]);
  });

  it('names the deadline in the reason of a case whose executor returned an error of its own after it', async () => {
    const suite = suiteFile('dl-own', 'cases:\n  - id: late\n    args: {ms: 10000, returnOnAbort: true}\n    deadline: 0.2\n');
    const s = await runSuite({
      suite,
      accel: 'tcg',
      quick: false,
      argv: [],
      output: join(work, 'out-dl-own'),
      deps: deps(),
      executorFor: registry,
    });
    expect(s.results.cases.map((c) => [c.status, c.reason])).toEqual([['error', 'deadline of 0.2 s exceeded: aborted']]);
  });

  it('aborts a case at its deadline, records an error, and goes on with the next case', async () => {
    const suite = suiteFile('dl', 'cases:\n  - id: late\n    args: {ms: 10000}\n    deadline: 0.3\n  - id: next\n');
    const t0 = Date.now();
    const s = await runSuite({
      suite,
      accel: 'tcg',
      quick: false,
      argv: [],
      output: join(work, 'out-dl'),
      deps: deps(),
      executorFor: registry,
    });
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(s.outcome).toBe('failed');
    expect(s.results.cases.map((c) => c.status)).toEqual(['error', 'pass']);
    expect(s.results.cases[0]!.reason).toBe('deadline of 0.3 s exceeded: guest killed');
    const rec = seen.get('dl/late')!;
    // Measured from when the runner armed the deadline (deadlineAt − 300 ms), not from when the
    // executor got to start: on a loaded machine that can be tens of milliseconds later.
    expect(rec.abortedAt! - (rec.ctx.deadlineAt - 300)).toBeGreaterThanOrEqual(295);
    expect(rec.ctx.deadlineAt - rec.started).toBeLessThanOrEqual(300);
    expect(existsSync(rec.scratch)).toBe(false);
  });

  it('gives up on an executor that ignores the abort after the grace period', async () => {
    const suite = suiteFile(
      'hang',
      'cases:\n  - id: stuck\n    args: {ms: 10000, hang: true}\n    deadline: 0.1\n  - id: after\n',
    );
    const t0 = Date.now();
    const s = await runSuite({
      suite,
      accel: 'tcg',
      quick: false,
      argv: [],
      output: join(work, 'out-hang'),
      deps: deps(),
      executorFor: registry,
      graceMs: 300,
    });
    expect(Date.now() - t0).toBeLessThan(5000); // the stuck executor would take 10 s
    expect(s.results.cases[0]).toMatchObject({
      status: 'error',
      reason: 'deadline of 0.1 s exceeded; the executor did not stop within 0.3 s after that and was abandoned',
    });
    expect(s.results.cases[1]!.status).toBe('pass');
  });

  it('maps throws, missing executors, invalid outcomes, fails and unmet requirements', async () => {
    const suite = suiteFile(
      'mix',
      [
        'cases:',
        '  - id: boom',
        '    args: {throw: "QEMU exited with status 1"}',
        '  - id: nokind',
        '    kind: not-registered',
        '  - id: nan',
        '    args: {nan: true}',
        '  - id: failing',
        '    args: {status: fail}',
        '  - id: needs',
        '    requires: [kvm.dev]',
        '  - id: needs-ok',
        '    requires: [qemu.present]',
        '',
      ].join('\n'),
    );
    const checked: string[][] = [];
    const s = await runSuite({
      suite,
      accel: 'tcg',
      quick: false,
      argv: [],
      output: join(work, 'out-mix'),
      executorFor: registry,
      deps: deps({
        checkRequirements: async (ids) => {
          checked.push([...ids]);
          return new Map([
            ['kvm.dev', { ok: false, reason: '/dev/kvm does not exist' }],
            ['qemu.present', { ok: true, reason: '' }],
          ]);
        },
      }),
    });
    expect(checked).toEqual([['kvm.dev', 'qemu.present']]);
    expect(s.results.cases.map((c) => [c.id, c.status, c.reason])).toEqual([
      ['mix/boom', 'error', 'QEMU exited with status 1'],
      ['mix/nokind', 'error', "no executor for kind 'not-registered'"],
      [
        'mix/nan',
        'error',
        "executor 'test-sleep' returned an invalid result (/metrics/0/samples/1: Expected number); its metrics were dropped",
      ],
      ['mix/failing', 'fail', undefined],
      ['mix/needs', 'skip', 'requires doctor check kvm.dev: /dev/kvm does not exist'],
      ['mix/needs-ok', 'pass', undefined],
    ]);
    expect(s.outcome).toBe('failed');
    validateResults(JSON.parse(readFileSync(join(s.dir, 'results.json'), 'utf8')));
  });

  it('writes a valid run record when optional options are left unset (as oclif leaves booleans)', async () => {
    const suite = suiteFile('unset', 'cases:\n  - id: a\n');
    const s = await runSuite({
      suite,
      accel: 'tcg',
      quick: undefined as unknown as boolean,
      argv: [],
      output: join(work, 'out-unset'),
      deps: deps(),
      executorFor: registry,
    });
    expect(s.results.run.quick).toBe(false);
    validateResults(JSON.parse(readFileSync(join(s.dir, 'results.json'), 'utf8')));
  });

  it('warns when requirements cannot be checked and still runs the case', async () => {
    const suite = suiteFile('noreq', 'cases:\n  - id: a\n    requires: [kvm.dev]\n');
    const s = await runSuite({
      suite,
      accel: 'tcg',
      quick: false,
      argv: [],
      output: join(work, 'out-noreq'),
      deps: deps(),
      executorFor: registry,
    });
    expect(s.results.cases[0]!.status).toBe('pass');
    expect(s.results.run.warnings).toContain(
      'doctor checks not evaluated (no doctor available): ran cases requiring kvm.dev without checking',
    );
  });

  it('on interrupt: aborts the case in flight, keeps the finished ones, stops, marks the run interrupted', async () => {
    const suite = suiteFile('intr', 'cases:\n  - id: one\n  - id: two\n    args: {ms: 10000}\n  - id: three\n');
    const ac = new AbortController();
    const r: RunReporter = {
      ...reporter,
      caseStart: (_i, _n, spec) => {
        if (spec.id === 'two') setTimeout(() => ac.abort('SIGINT'), 150);
      },
    };
    const t0 = Date.now();
    const s = await runSuite({
      suite,
      accel: 'tcg',
      quick: false,
      argv: [],
      output: join(work, 'out-intr'),
      deps: deps(),
      executorFor: registry,
      signal: ac.signal,
      reporter: r,
    });
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(s.outcome).toBe('interrupted');
    expect(s.interrupted).toBe('SIGINT');
    expect(s.results.run.state).toBe('interrupted');
    expect(s.results.cases.map((c) => [c.id, c.status, c.reason])).toEqual([
      ['intr/one', 'pass', undefined],
      ['intr/two', 'error', 'interrupted by SIGINT: guest killed'],
    ]);
    expect(seen.get('intr/two')!.abortedAt).toBeDefined();
    const onDisk = await loadResults(s.dir);
    expect(onDisk.results.run.state).toBe('interrupted');
    expect(onDisk.results.cases).toHaveLength(2);
  });

  it('checks the environment before any case: KVM demanded, unwritable output, full disk', async () => {
    const suite = loadSuite(join(fixtures, 'demo.yaml'));
    seen.clear();
    const noKvm = deps({
      resolveAccel: async () => {
        throw new EnvironmentError('--accel kvm: KVM is not usable here');
      },
    });
    await expect(
      runSuite({ suite, accel: 'kvm', quick: false, argv: [], output: join(work, 'never'), deps: noKvm, executorFor: registry }),
    ).rejects.toMatchObject({ exitCode: 3 });
    expect(existsSync(join(work, 'never'))).toBe(false);
    writeFileSync(join(work, 'a-file'), '');
    await expect(
      runSuite({
        suite,
        accel: 'tcg',
        quick: false,
        argv: [],
        output: join(work, 'a-file', 'sub'),
        deps: deps(),
        executorFor: registry,
      }),
    ).rejects.toMatchObject({
      exitCode: 3,
      message: expect.stringMatching(/cannot write results to .*a-file\/sub: a path component is not a directory/),
    });
    await expect(
      runSuite({
        suite,
        accel: 'tcg',
        quick: false,
        argv: [],
        output: join(work, 'full'),
        deps: deps(),
        executorFor: registry,
        minFreeBytes: Number.MAX_SAFE_INTEGER,
      }),
    ).rejects.toMatchObject({ exitCode: 3, message: expect.stringMatching(/MiB free; a run needs at least/) });
    expect(seen.size).toBe(0);
  });
});

describe('prepareOutputDir', () => {
  it('never gives two runs the same directory, even in the same second', async () => {
    const now = new Date('2026-01-02T03:04:05Z');
    const dirs = await Promise.all(Array.from({ length: 20 }, () => prepareOutputDir({ cwd: work, now })));
    expect(new Set(dirs.map((d) => d.dir)).size).toBe(20);
    expect(dirs[0]!.runId).toMatch(/^20260102T030405Z-[0-9a-f]{6}$/);
    expect(dirs[0]!.dir).toBe(join(work, 'reports', dirs[0]!.runId));
    await Promise.all(dirs.map((d) => d.release()));
  });

  it('locks --output against a second live run and takes over a stale lock', async () => {
    const dir = join(work, 'locked');
    const first = await prepareOutputDir({ output: dir });
    await expect(prepareOutputDir({ output: dir })).resolves.toBeDefined(); // same pid: our own lock
    writeFileSync(join(dir, '.kvmbench-run.lock'), '1\n'); // pid 1 is alive
    await expect(prepareOutputDir({ output: dir })).rejects.toThrow(/in use by another kvmbench run \(pid 1\)/);
    writeFileSync(join(dir, '.kvmbench-run.lock'), '999999999\n');
    const again = await prepareOutputDir({ output: dir });
    await again.release();
    await first.release();
    expect(existsSync(join(dir, '.kvmbench-run.lock'))).toBe(false);
  });
});
