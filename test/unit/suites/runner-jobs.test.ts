/** runSuite with --jobs: cases side by side, recorded in the suite's order; the suite's load warnings reach run.warnings. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { loadSuite } from '../../../src/suites/load.js';
import { runSuite } from '../../../src/suites/runner.js';
import type { CaseExecutor } from '../../../src/cases/types.js';

const work = mkdtempSync(join(tmpdir(), 'kvmbench-jobs-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let running = 0;
let peak = 0;
const finished: string[] = [];
/** Sleeps args.ms, honouring the abort as a QEMU executor must. */
const sleeper: CaseExecutor = {
  kind: 'test-sleep',
  async run(spec, ctx) {
    running++;
    peak = Math.max(peak, running);
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, Number(spec.args.ms));
      ctx.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(t);
          resolve();
        },
        { once: true },
      );
    });
    running--;
    finished.push(spec.id);
    return { status: 'pass', metrics: [] };
  },
};

function suite() {
  const f = join(work, 'jobs.yaml');
  const ms = [80, 5, 40, 1, 20];
  writeFileSync(
    f,
    `suite: jobs\ndefaults:\n  kind: test-sleep\n  machine: pc\ncases:\n${ms.map((m, i) => `  - id: c${i}\n    args: {ms: ${m}}\n`).join('')}`,
  );
  return { ...loadSuite(f), warnings: ['x86/unittests.cfg:3: unknown key'] };
}

const deps = {
  resolveAccel: async () => ({ accel: 'tcg' as const, warnings: [] }),
  fingerprint: async () => ({ hostname: 'test' }),
};

describe('runSuite --jobs', () => {
  it('runs up to N cases at once and records them in the suite order', async () => {
    const out = join(work, 'out');
    const s = await runSuite({
      suite: suite(),
      accel: 'tcg',
      quick: false,
      argv: [],
      output: out,
      deps,
      executorFor: (k) => (k === 'test-sleep' ? sleeper : undefined),
      jobs: 2,
    });
    // boundJobs lowers --jobs to the host's cores.
    const jobs = Math.min(2, availableParallelism());
    expect(peak).toBe(jobs);
    if (jobs === 2) expect(finished).not.toEqual(['c0', 'c1', 'c2', 'c3', 'c4']);
    expect(s.results.cases.map((c) => c.id)).toEqual(['jobs/c0', 'jobs/c1', 'jobs/c2', 'jobs/c3', 'jobs/c4']);
    const journal = readFileSync(join(out, 'results.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { case?: { id: string } });
    expect(journal.filter((l) => l.case).map((l) => l.case!.id)).toEqual(['jobs/c0', 'jobs/c1', 'jobs/c2', 'jobs/c3', 'jobs/c4']);
    expect(s.results.run.warnings).toContain('x86/unittests.cfg:3: unknown key');
  });

  it('refuses --jobs with --rounds', async () => {
    await expect(
      runSuite({ suite: suite(), accel: 'tcg', quick: false, argv: [], output: join(work, 'out2'), deps, jobs: 2, rounds: 3 }),
    ).rejects.toThrow(UsageError);
  });
});
