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
import { DEFAULT_AB_ROUNDS, abFirsts, abRound, abSteps, type AbLabel } from '../suites/ab.js';
import type { LoadedSuite } from '../suites/load.js';
import { checkMaxRounds, runArms, type ExtendRounds, type RunArmsOptions, type RunSummary } from '../suites/runner.js';
import { nextRounds, type RoundsStep, type UndecidedRow } from '../compare/decide-rounds.js';
import type { CaseResult, Results } from '../results/model.js';
import type { Sampling } from '../stats/precision.js';
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
  /** With --precision: how many rounds each case got and why it stopped (ab.json `adaptive`). */
  adaptive?: AbAdaptive;
  /** With --precision: the rows of the final comparison left without a verdict, with their notes. */
  undecided?: Array<{ key: string; verdict: string; notes: string[] }>;
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
  /** With --precision: rounds added until every tested row of a case was decided, per case. */
  adaptive?: AbAdaptive;
  comparison?: string;
  incomparable?: string;
  regressions?: number;
  /** The process exit code the session ends with (`exitCodeOf(outcome)`, README "Exit codes"). */
  exitCode?: number;
}

/** What `ab --precision` did to each case's rounds. */
export interface AbAdaptive {
  /** Within-guest precision asked (a fraction), also handed to every case. */
  precision: number;
  maxRounds: number;
  maxTimeMs?: number;
  cases: Array<{ case: string; rounds: number; stopped: Sampling; undecided: UndecidedRow[] }>;
}

/** A run's results so far with `c` in place of any earlier record of the same case. */
function withCase(r: Results, c: CaseResult): Results {
  return { ...r, cases: [...r.cases.filter((x) => x.id !== c.id), c] };
}

/**
 * The rounds policy of `ab --precision`: after each look at a case, compare B with A on every
 * case so far (the family is theirs) and ask nextRounds (src/compare/decide-rounds.ts) for more.
 */
function adaptiveRounds(opts: AbOptions, adaptive: AbAdaptive): ExtendRounds {
  return ({ merged, rounds, elapsedMs, snapshot }) => {
    const [ma, mb] = merged as [CaseResult, CaseResult];
    const lastBad = [ma, mb].find((c) => (c.rounds?.[c.rounds.length - 1]?.status ?? c.status) !== 'pass');
    // No more rounds, for a reason that is not the comparison's.
    const cutShort = (note: string): RoundsStep => ({
      more: 0,
      undecided: [],
      stopped: { reason: 'cut-short', n: rounds, elapsedMs, note },
    });
    let step: RoundsStep;
    if (lastBad) step = cutShort(`rounds stopped after ${rounds}: a round of ${lastBad === ma ? 'A' : 'B'} did not pass`);
    else
      try {
        const cmp = compareRuns(
          [
            { label: 'A', results: withCase(snapshot(0), ma) },
            { label: 'B', results: withCase(snapshot(1), mb) },
          ],
          { ...opts.compare, seed: opts.seed },
        );
        const rows = cmp.pairs[0]!.metrics.filter((r) => r.caseId === ma.id);
        step = nextRounds(rows, rounds, elapsedMs, {
          maxRounds: adaptive.maxRounds,
          ...(adaptive.maxTimeMs !== undefined ? { maxTimeMs: adaptive.maxTimeMs } : {}),
        });
      } catch (err) {
        if (!(err instanceof IncomparableError)) throw err;
        step = cutShort(`rounds stopped: A and B cannot be compared (${err.message})`);
      }
    if (step.more > 0) return { more: step.more };
    adaptive.cases.push({ case: ma.id, rounds, stopped: step.stopped!, undecided: step.undecided });
    return { more: 0, stopped: step.stopped! };
  };
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
  const precision = opts.sampling?.precision;
  const adaptive: AbAdaptive | undefined =
    precision !== undefined
      ? {
          precision,
          maxRounds: checkMaxRounds(opts.maxRounds, rounds),
          ...(opts.sampling?.maxTimeMs !== undefined ? { maxTimeMs: opts.sampling.maxTimeMs } : {}),
          cases: [],
        }
      : undefined;
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
    ...(adaptive ? { adaptive } : {}),
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
    roundSteps: (index, round) => abRound(firsts[index]!, index, round),
    ...(adaptive ? { extendRounds: adaptiveRounds(opts, adaptive) } : {}),
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
    ...(adaptive ? { adaptive } : {}),
    ...(adaptive && comparison
      ? {
          undecided: comparison.pairs[0]!.metrics.filter((r) => r.verdict === 'inconclusive' || r.verdict === 'too-few').map(
            (r) => ({ key: r.key, verdict: r.verdict, notes: r.notes }),
          ),
        }
      : {}),
    files,
    outcome,
  };
}
