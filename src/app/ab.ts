/**
 * `kvmbench ab` without the command line (a use case of the composition root: it binds the runner,
 * compare and the comparison views): runs one suite's cases under two variants, A and B,
 * interleaved case by case in a seeded balanced order (src/suites/ab.ts) through the runner
 * (`runArms`), then compares B against A with the compare engine and writes everything under one
 * directory:
 *
 *   <dir>/a/             A's run, a normal results directory (results.json, results.jsonl,
 *   <dir>/b/             junit.xml, report.html, logs/): `kvmbench compare <dir>/a <dir>/b` re-reads them
 *   <dir>/ab.json        the session: suite, seed, variants, the order the cases ran in, the outcome
 *   <dir>/compare.json   the comparison (schema kvmbench.compare/3), and the same as
 *   <dir>/compare.txt    plain text and
 *   <dir>/compare.html   a page
 *
 * An interrupted session keeps both partial runs and still compares what both finished.
 */
import { rename, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { exitCodeOf, type Outcome } from '../errors.js';
import { IncomparableError, compareRuns, type CompareOptions, type Comparison } from '../compare/compare.js';
import { renderComparison } from '../report/compare/index.js';
import { newRunId } from '../results/outdir.js';
import { DEFAULT_AB_ROUNDS, abFirsts, abSteps, type AbLabel } from '../suites/ab.js';
import type { LoadedSuite } from '../suites/load.js';
import { runArms, type RunArmsOptions, type RunSummary } from '../suites/runner.js';
import type { CaseSpec, RunVariant } from '../cases/types.js';
import type { RunnerDeps } from '../suites/deps.js';
import { defaultDeps } from './runner-deps.js';

export const AB_SCHEMA = 'kvmbench.ab/1';

export interface AbVariantInput {
  suite: LoadedSuite;
  /** The cases to run (after --only/--skip); A's and B's must be the same cases in the same order. */
  cases: CaseSpec[];
  variant: RunVariant;
}

export interface AbOptions extends Omit<RunArmsOptions, 'arms' | 'order' | 'output' | 'argv' | 'deps'> {
  /** Default: the real ones (src/app/runner-deps.ts). */
  deps?: RunnerDeps;
  a: AbVariantInput;
  b: AbVariantInput;
  /** The session directory; default `reports/ab-<id>` under cwd. */
  output?: string;
  /** Recorded in each run's run.argv. */
  argv: string[];
  /** Seeds the order of the variants and the comparison's resampling. */
  seed: number;
  /** Judging options (alpha, noise band, thresholds); `seed` is the session's. */
  compare?: Omit<CompareOptions, 'seed' | 'force'>;
  failOnRegression?: boolean;
}

export interface AbOutcome {
  dir: string;
  a: RunSummary;
  b: RunSummary;
  /** B compared against A; absent when the runs could not be compared (`incomparable` says why). */
  comparison?: Comparison;
  incomparable?: string;
  /** Per case, in run order: its id and which variant ran first. */
  order: Array<{ case: string; first: AbLabel }>;
  /** ab.json and the comparison files. */
  files: string[];
  /** `interrupted`, else `failed` when a case failed or errored in either run, else `regression` on a confirmed regression under failOnRegression, else `ok`. */
  outcome: Outcome;
}

/** The session record written as ab.json (at the start, and again with the outcome at the end). */
export interface AbRecord {
  schema: typeof AB_SCHEMA;
  suite: string;
  seed: number;
  accelRequested: string;
  quick: boolean;
  /** Rounds per case and variant (each a fresh guest): compare's unit of replication when ≥ 3. */
  rounds: number;
  state: 'running' | 'complete' | 'interrupted';
  variants: Array<RunVariant & { dir: string }>;
  order: Array<{ case: string; first: AbLabel }>;
  comparison?: string;
  incomparable?: string;
  regressions?: number;
  /** The process exit code the session ends with (`exitCodeOf(outcome)`, README "Exit codes"). */
  exitCode?: number;
}

async function writeJson(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, JSON.stringify(value, null, 2) + '\n', 'utf8');
  await rename(tmp, path);
}

export async function runAb(opts: AbOptions): Promise<AbOutcome> {
  const ids = (cs: CaseSpec[]) => cs.map((c) => `${c.suite}/${c.id}`);
  const ia = ids(opts.a.cases);
  const ib = ids(opts.b.cases);
  if (ia.length !== ib.length || ia.some((id, i) => id !== ib[i])) {
    throw new Error(
      `internal error: A and B must run the same cases in the same order (A: ${ia.join(', ')}; B: ${ib.join(', ')})`,
    );
  }
  const cwd = opts.cwd ?? process.cwd();
  const dir = resolve(cwd, opts.output ?? join('reports', `ab-${newRunId()}`));
  const firsts = abFirsts(ia.length, opts.seed);
  const rounds = opts.rounds ?? DEFAULT_AB_ROUNDS;
  const order = abSteps(firsts, rounds);
  const record: AbRecord = {
    schema: AB_SCHEMA,
    suite: opts.a.suite.name,
    seed: opts.seed,
    accelRequested: opts.accel,
    quick: opts.quick === true,
    rounds,
    state: 'running',
    variants: [
      { ...opts.a.variant, dir: 'a' },
      { ...opts.b.variant, dir: 'b' },
    ],
    order: firsts.map((first, i) => ({ case: ia[i]!, first })),
  };

  const [a, b] = (await runArms({
    ...opts,
    deps: opts.deps ?? defaultDeps(),
    rounds,
    arms: [
      { suite: opts.a.suite, cases: opts.a.cases, output: join(dir, 'a'), argv: opts.argv, variant: opts.a.variant },
      { suite: opts.b.suite, cases: opts.b.cases, output: join(dir, 'b'), argv: opts.argv, variant: opts.b.variant },
    ],
    order,
    // ab.json goes in once the environment checks have passed and both directories exist, before any guest.
    onStart: () => writeJson(join(dir, 'ab.json'), record),
  })) as [RunSummary, RunSummary];

  const files = [join(dir, 'ab.json')];
  let comparison: Comparison | undefined;
  let incomparable: string | undefined;
  try {
    comparison = compareRuns(
      [
        { label: 'A', results: a.results },
        { label: 'B', results: b.results },
      ],
      { ...opts.compare, seed: opts.seed },
    );
  } catch (err) {
    if (!(err instanceof IncomparableError)) throw err;
    incomparable = err.message;
  }
  if (comparison) {
    const outs: Array<[string, string]> = [
      ['compare.json', renderComparison(comparison, 'json')],
      ['compare.txt', renderComparison(comparison, 'text')],
      ['compare.html', renderComparison(comparison, 'html')],
    ];
    for (const [name, text] of outs) {
      await writeFile(join(dir, name), text, 'utf8');
      files.push(join(dir, name));
    }
  }
  const interrupted = a.interrupted ?? b.interrupted;
  const failed = a.outcome === 'failed' || b.outcome === 'failed';
  const outcome: Outcome = interrupted
    ? 'interrupted'
    : failed
      ? 'failed'
      : opts.failOnRegression && (comparison?.regressions ?? 0) > 0
        ? 'regression'
        : 'ok';
  Object.assign(record, {
    state: interrupted ? 'interrupted' : 'complete',
    ...(comparison ? { comparison: 'compare.json', regressions: comparison.regressions } : {}),
    ...(incomparable ? { incomparable } : {}),
    exitCode: exitCodeOf(outcome),
  });
  record.variants = [
    { ...opts.a.variant, dir: relative(dir, a.dir) },
    { ...opts.b.variant, dir: relative(dir, b.dir) },
  ];
  await writeJson(join(dir, 'ab.json'), record);
  return {
    dir,
    a,
    b,
    ...(comparison ? { comparison } : {}),
    ...(incomparable ? { incomparable } : {}),
    order: record.order,
    files,
    outcome,
  };
}
