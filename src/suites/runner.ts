/**
 * Runs a suite's cases in order and records every one of them as it finishes.
 *
 * Per case: the accelerator filter and `requires:` (skip with the reason), the executor by
 * kind (none: `error` naming the kind), a deadline (AbortController + timer; an executor that
 * has not returned `graceMs` after the abort is recorded as `error` and left behind), a log
 * path `<outdir>/logs/<suite>/<case>.log`, a private scratch dir removed afterwards, and the
 * CaseResult checked against the results schema so results.json always validates.
 * Every QEMU launch of a case gets the case's startup budget and reports how it ended
 * (src/vmm/launch-scope.ts); consecutive cases whose QEMU never got to the guest for the same
 * cause make the rest of the run's QEMU cases skip (src/suites/failure-pattern.ts).
 *
 * An aborted `signal` (SIGINT/SIGTERM in `kvmbench run`) aborts the case in flight (its
 * executor kills QEMU's process group), records it, stops, and finishes the results as
 * `interrupted`; the caller exits 130.
 *
 * `runSuite` is one run; `runArms` is several runs of a suite (the variants of `kvmbench ab`)
 * interleaved case by case in a given order, each with its own results directory. Both go
 * through the same per-run setup, per-case recording and finish (runPlanned).
 */
import type { Sampling, SamplingRequest } from '../stats/precision.js';
import { access, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { constants, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { EnvironmentError, KvmbenchError, UsageError, type Outcome } from '../errors.js';
import { executorFor as registryExecutorFor } from '../cases/index.js';
import type { HostActions } from '../host/actions.js';
import { CaseResult, RunInfo, type Accelerator, type Results } from '../results/model.js';
import { prepareOutputDir, type OutputDir } from '../results/outdir.js';
import { ResultsWriter } from '../results/writer.js';
import { gitRevision, kvmbenchVersion } from '../version.js';
import type { AccelRequest, RunnerDeps } from './deps.js';
import type { LoadedSuite } from './load.js';
import { MAX_ROUNDS, mergeRounds, roundLogPath } from './rounds.js';
import { DEFAULT_MAX_ROUNDS, roundsStop } from './adaptive-rounds.js';
import { FailurePattern } from './failure-pattern.js';
import { withLaunchScope, type LaunchReport } from '../vmm/launch-scope.js';
import { startupBudgetMs } from '../vmm/startup.js';
import type { CaseContext, CaseExecutor, CaseOutcome, CaseSpec, RunMemory, RunPlatform, RunVariant } from '../cases/types.js';
import { boundJobs, runInOrder } from './parallel.js';

const caseChecker = TypeCompiler.Compile(CaseResult);
const runChecker = TypeCompiler.Compile(RunInfo);

/** Seconds an executor gets after its abort to kill its guest and return. */
export const DEFAULT_GRACE_MS = 5_000;

/**
 * What a person sees of a run. In an interleaved run (`runArms`) `begin` is called once per arm
 * with its `label`, `total` counts the steps of all arms, and the case events carry the label.
 */
export interface RunReporter {
  begin(info: {
    runId: string;
    suite: string;
    dir: string;
    total: number;
    accel: Accelerator;
    quick: boolean;
    warnings: string[];
    label?: string;
  }): void;
  caseStart(index: number, total: number, spec: CaseSpec, label?: string): void;
  phase(text: string): void;
  caseEnd(index: number, total: number, result: CaseResult, label?: string): void;
  warning(text: string): void;
  /** Stop any live display (called before the summary is printed). */
  close(): void;
}

export interface RunSuiteOptions {
  suite: LoadedSuite;
  /** Cases to run (the suite's, after --only/--skip); default all of the suite's. */
  cases?: CaseSpec[];
  accel: AccelRequest;
  quick: boolean;
  /** Recorded in run.argv. */
  argv: string[];
  /** `--output DIR`; default `reports/<run-id>` under cwd. */
  output?: string;
  cwd?: string;
  /** Aborting it interrupts the run; its reason (e.g. 'SIGINT') is recorded. */
  signal?: AbortSignal;
  reporter?: RunReporter;
  deps: RunnerDeps;
  /** Executor lookup; default the registry in src/cases/index.ts. */
  executorFor?: (kind: string) => CaseExecutor | undefined;
  graceMs?: number;
  /** For tests: minimum free bytes on the output filesystem. */
  minFreeBytes?: number;
  /** `--scratch-dir DIR`: where cases make their private scratch directories (default the OS temp dir). */
  scratchDir?: string;
  /** `--precision`/`--max-samples`/`--max-time`, handed to every case (src/stats/precision.ts). */
  sampling?: SamplingRequest;
  /**
   * `--rounds N`: run every case N times, each time in a fresh guest, one round after the other,
   * recorded as one case whose metrics say which samples came from which round (src/suites/rounds.ts).
   * Default 1.
   */
  rounds?: number;
  /**
   * `--max-rounds`: with `--precision` and `--rounds` above 1, the most rounds a case may get
   * (src/suites/adaptive-rounds.ts); default DEFAULT_MAX_ROUNDS.
   */
  maxRounds?: number;
  /** `--keep-going`: run every case even when the ones before failed the same way (src/suites/failure-pattern.ts). */
  keepGoing?: boolean;
  /** `--jobs N`: up to N cases at once, recorded in plan order (src/suites/parallel.ts); one run, one round. Default 1. */
  jobs?: number;
}

export interface RunSummary {
  results: Results;
  /** Absolute output directory. */
  dir: string;
  /** junit.xml, report.html... as returned by writeReports. */
  reports: string[];
  /** `interrupted`, else `failed` when a case failed or errored, else `ok` (the CLI maps it to an exit code). */
  outcome: Exclude<Outcome, 'regression'>;
  /** Set when the run was interrupted: the signal's reason. */
  interrupted?: string;
}

class DeadlineExpired extends Error {
  constructor(readonly seconds: number) {
    super(`deadline of ${seconds} s exceeded`);
  }
}

function interruptName(signal: AbortSignal | undefined): string {
  const r: unknown = signal?.reason;
  if (typeof r === 'string') return r;
  if (r instanceof Error && r.message) return r.message;
  return 'interrupt';
}

const noop: RunReporter = { begin() {}, caseStart() {}, phase() {}, caseEnd() {}, warning() {}, close() {} };

export async function runSuite(opts: RunSuiteOptions): Promise<RunSummary> {
  const cases = opts.cases ?? opts.suite.cases;
  const arm: ArmPlan = { suite: opts.suite, cases, output: opts.output, argv: opts.argv };
  const rounds = checkRounds(opts.rounds);
  const precision = opts.sampling?.precision;
  const maxRounds = checkMaxRounds(opts.maxRounds, rounds);
  // --rounds N --precision P: N rounds at least, then more until the round medians are known to P.
  const extendRounds: ExtendRounds | undefined =
    precision !== undefined && rounds > 1
      ? ({ merged, rounds: done, elapsedMs }) => {
          const stopped = roundsStop(merged[0]!, done, elapsedMs, {
            precision,
            minRounds: rounds,
            maxRounds,
            ...(opts.sampling?.maxTimeMs !== undefined ? { maxTimeMs: opts.sampling.maxTimeMs } : {}),
          });
          return stopped ? { more: 0, stopped } : { more: 1 };
        }
      : undefined;
  return (
    await runPlanned(
      { ...opts, ...(extendRounds ? { extendRounds } : {}) },
      [arm],
      cases.flatMap((_, index) => Array.from({ length: rounds }, (_r, round) => ({ arm: 0, index, round }))),
    )
  )[0]!;
}

/** `--max-rounds`: a whole number from `--rounds` to MAX_ROUNDS (default DEFAULT_MAX_ROUNDS, raised to `--rounds`). */
export function checkMaxRounds(n: number | undefined, rounds: number): number {
  const r = n ?? Math.max(DEFAULT_MAX_ROUNDS, rounds);
  if (!Number.isInteger(r) || r < rounds || r > MAX_ROUNDS)
    throw new UsageError(`--max-rounds ${r}: expected a whole number from --rounds (${rounds}) to ${MAX_ROUNDS}`);
  return r;
}

/** What the runner tells `extendRounds` once every arm has run the rounds planned so far of a case. */
export interface RoundsQuestion {
  /** The case's index in the arms' case lists. */
  index: number;
  /** Per arm, the case merged over its rounds so far (src/suites/rounds.ts mergeRounds). */
  merged: CaseResult[];
  /** Rounds each arm has run of it. */
  rounds: number;
  /** Wall time since the case's first round started, ms. */
  elapsedMs: number;
  /** Per arm, the results recorded so far (every finished case before this one). */
  snapshot(arm: number): Results;
}

/** More rounds of the case (each arm), or none with the record every metric of the case then carries. */
export type RoundsDecision = { more: number; stopped?: undefined } | { more: 0; stopped?: Sampling };
export type ExtendRounds = (q: RoundsQuestion) => RoundsDecision;

/** `--rounds`: a whole number from 1 to MAX_ROUNDS (default 1). */
function checkRounds(n: number | undefined): number {
  const r = n ?? 1;
  if (!Number.isInteger(r) || r < 1 || r > MAX_ROUNDS)
    throw new UsageError(`--rounds ${r}: expected a whole number from 1 to ${MAX_ROUNDS}`);
  return r;
}

/** One step of a run: round `round` (0-based; 0 when there are no rounds) of case `index` of arm `arm`. */
export interface RunStep {
  arm: number;
  index: number;
  round?: number;
}

/** One of the runs of `runArms`: a suite's cases under one variant, written to its own directory. */
export interface RunArm {
  suite: LoadedSuite;
  cases: CaseSpec[];
  /** Its own output directory (results.json, journal, reports, logs). */
  output: string;
  /** Recorded in its run.argv. */
  argv: string[];
  /** Applied by the executors that start QEMU, recorded in run.variant and in each case's `vm`. */
  variant: RunVariant;
}

export interface RunArmsOptions extends Omit<RunSuiteOptions, 'suite' | 'cases' | 'output' | 'argv'> {
  arms: RunArm[];
  /** Which round of which case of which arm runs when: each of them exactly once (src/suites/ab.ts abOrder); a case's rounds in order. */
  order: ReadonlyArray<RunStep>;
  /** Called once every arm's directory and journal exist, before the first case. */
  onStart?: () => Promise<void>;
  /** The steps of round `round` of case `index` beyond the planned ones (which arm leads); default arm by arm. */
  roundSteps?: (index: number, round: number) => RunStep[];
  /** Asked after the planned rounds of a case ran in every arm (and after each addition): add rounds, or stop (`ab --precision`). */
  extendRounds?: ExtendRounds;
}

/**
 * Several runs of a suite interleaved case by case in one process (`kvmbench ab`): each arm is a
 * normal run with its own results directory, accelerator resolution (with its QEMU binary) and
 * run memory, and the steps of `order` alternate between them. An interrupt stops all of them at
 * once and finishes each as `interrupted`. The accelerators must agree: arms that resolve to
 * different ones (one binary without KVM support under `--accel auto`) stop the run before any
 * directory is made (EnvironmentError).
 */
export async function runArms(opts: RunArmsOptions): Promise<RunSummary[]> {
  const rounds = checkRounds(opts.rounds);
  const seen = new Set<string>();
  const next = new Map<string, number>();
  for (const { arm, index, round = 0 } of opts.order) {
    const k = `${arm}:${index}:${round}`;
    if (!opts.arms[arm]?.cases[index] || round >= rounds || seen.has(k))
      throw new Error(`internal error: the run order names round ${round} of case ${index} of arm ${arm} twice or out of range`);
    if ((next.get(`${arm}:${index}`) ?? 0) !== round)
      throw new Error(`internal error: the run order runs round ${round} of case ${index} of arm ${arm} out of turn`);
    next.set(`${arm}:${index}`, round + 1);
    seen.add(k);
  }
  const total = opts.arms.reduce((s, a) => s + a.cases.length, 0) * rounds;
  if (seen.size !== total) throw new Error(`internal error: the run order covers ${seen.size} of ${total} case rounds`);
  return runPlanned(opts, opts.arms, opts.order, opts.onStart);
}

interface ArmPlan {
  suite: LoadedSuite;
  cases: CaseSpec[];
  output?: string;
  argv: string[];
  variant?: RunVariant;
}

interface ArmState {
  plan: ArmPlan;
  accel: Accelerator;
  warnings: string[];
  platform: RunPlatform;
  memory: RunMemory;
  /** The same QEMU start failure over consecutive cases: the rest skip. */
  pattern: FailurePattern;
  out?: OutputDir;
  writer?: ResultsWriter;
}

async function runPlanned(
  opts: Omit<RunSuiteOptions, 'suite' | 'cases' | 'output' | 'argv'> & {
    /** Asked after the planned rounds of a case ran in every arm (and after each added one): add rounds, or stop. */
    extendRounds?: ExtendRounds;
    roundSteps?: (index: number, round: number) => RunStep[];
  },
  plans: readonly ArmPlan[],
  order: ReadonlyArray<RunStep>,
  onStart?: () => Promise<void>,
): Promise<RunSummary[]> {
  const rounds = checkRounds(opts.rounds);
  const reporter = opts.reporter ?? noop;
  const lookup = opts.executorFor ?? registryExecutorFor;
  const graceMs = opts.graceMs ?? DEFAULT_GRACE_MS;
  const label = (a: ArmState): string | undefined => a.plan.variant?.label;
  if ((opts.jobs ?? 1) > 1 && (plans.length > 1 || rounds > 1))
    throw new UsageError('--jobs runs the cases of one run side by side: it cannot be combined with --rounds above 1 or with ab');
  const jobs = boundJobs(opts.jobs, Math.max(0, ...plans.flatMap((p) => p.cases.map((c) => c.memoryMiB))));

  // Environment first: nothing is created when the accelerator or the output is unusable.
  const arms: ArmState[] = [];
  for (const plan of plans) {
    const resolved = await opts.deps.resolveAccel(opts.accel, plan.variant?.qemu);
    const platform: RunPlatform = {
      cpu: resolved.cpu ?? (resolved.accel === 'kvm' ? 'host' : 'max'),
      ...(resolved.cpuNote ? { cpuNote: resolved.cpuNote } : {}),
      ...(resolved.execution ? { execution: resolved.execution } : {}),
      ...(plan.variant ? { variant: plan.variant } : {}),
    };
    arms.push({
      plan,
      accel: resolved.accel,
      warnings: [...resolved.warnings, ...(plan.suite.warnings ?? [])],
      platform,
      memory: new Map(),
      pattern: new FailurePattern(opts.keepGoing === true),
    });
  }
  const accels = [...new Set(arms.map((a) => a.accel))];
  if (accels.length > 1) {
    throw new EnvironmentError(
      `the variants would run under different accelerators (${arms.map((a) => `${label(a) ?? 'run'}: ${a.accel}`).join(', ')}): their figures could not be compared`,
      'give --accel kvm or --accel tcg, or a QEMU binary for each variant that supports the same accelerator',
    );
  }
  const scratchRoot = await checkScratchRoot(opts.scratchDir, opts.cwd);
  try {
    for (const a of arms)
      a.out = await prepareOutputDir({ output: a.plan.output, cwd: opts.cwd, minFreeBytes: opts.minFreeBytes });
    const host = await opts.deps.fingerprint();
    const needed = [...new Set(arms.flatMap((a) => a.plan.cases.flatMap((c) => (c.accel.includes(a.accel) ? c.requires : []))))];
    let reqs: Map<string, { ok: boolean; reason: string }> | undefined;
    const reqWarnings: string[] = [];
    if (needed.length > 0) {
      if (opts.deps.checkRequirements) {
        try {
          reqs = await opts.deps.checkRequirements(needed);
        } catch (err) {
          reqWarnings.push(
            `doctor checks could not be evaluated (${(err as Error).message}): ran cases requiring ${needed.join(', ')} without checking`,
          );
        }
      } else
        reqWarnings.push(
          `doctor checks not evaluated (no doctor available): ran cases requiring ${needed.join(', ')} without checking`,
        );
    }
    const rev = gitRevision();
    for (const a of arms) {
      const out = a.out!;
      a.warnings.push(...reqWarnings);
      if (jobs.note) a.warnings.push(jobs.note);
      if (jobs.jobs > 1)
        a.warnings.push(
          `--jobs ${jobs.jobs}: cases ran side by side, so timing figures of this run include their contention for the host`,
        );
      const run: RunInfo = {
        id: out.runId,
        suite: a.plan.suite.name,
        start: new Date().toISOString(),
        kvmbenchVersion: kvmbenchVersion(),
        argv: a.plan.argv,
        accelerator: a.accel,
        acceleratorRequested: opts.accel,
        // Coerced: an unset CLI boolean arrives as undefined, which JSON drops and the schema rejects.
        quick: opts.quick === true,
        state: 'partial',
        cpu: a.platform.cpu,
        ...(a.platform.cpuNote ? { cpuNote: a.platform.cpuNote } : {}),
        ...(a.platform.execution ? { execution: a.platform.execution } : {}),
        ...(a.plan.variant ? { variant: a.plan.variant } : {}),
      };
      if (rev) run.gitRevision = rev;
      if (a.warnings.length) run.warnings = [...a.warnings];
      // A results file that does not validate is worse than no run: fail loudly, before any guest.
      const bad = runChecker.Errors(run).First();
      if (bad) throw new Error(`internal error: run info does not match the results schema (${bad.path}: ${bad.message})`);
      try {
        a.writer = await ResultsWriter.create(out.dir, run, host);
      } catch (err) {
        throw new EnvironmentError(`cannot write results to ${out.dir}: ${(err as Error).message}`);
      }
    }
    await onStart?.();
    for (const a of arms) {
      const l = label(a);
      reporter.begin({
        runId: a.out!.runId,
        suite: a.plan.suite.name,
        dir: a.out!.dir,
        total: order.length,
        accel: a.accel,
        quick: opts.quick,
        warnings: a.warnings,
        ...(l ? { label: l } : {}),
      });
    }

    // Rounds of a case collect here until the last one, then go to the results as one case.
    const pending = new Map<string, { arm: ArmState; results: CaseResult[]; done: number }>();
    const record = async (a: ArmState, result: CaseResult): Promise<void> => {
      try {
        await a.writer!.addCase(result);
      } catch (err) {
        throw new EnvironmentError(
          `cannot write results to ${a.out!.dir}: ${(err as Error).message}`,
          'the results up to the previous case are in results.jsonl',
        );
      }
    };
    // Rounds a case is to run (more than --rounds once rounds were added to it).
    let plannedRounds = (_index: number): number => rounds;
    const envOf = (a: ArmState, spec: CaseSpec, round: number, launches: LaunchReport[]): CaseEnv => {
      const executor = lookup(spec.kind);
      const patternSkip = executor?.startsQemu === false ? undefined : a.pattern.skipReason();
      return {
        accel: a.accel,
        quick: opts.quick === true,
        dir: a.out!.dir,
        runId: a.out!.runId,
        host,
        reqs,
        executor,
        ...(patternSkip ? { patternSkip } : {}),
        onLaunch: (r) => launches.push(r),
        signal: opts.signal,
        graceMs,
        scratchRoot,
        platform: a.platform,
        ...(opts.sampling ? { sampling: opts.sampling } : {}),
        memory: a.memory,
        ...(opts.deps.hostActions ? { hostActions: opts.deps.hostActions } : {}),
        round,
        onPhase: (p) => reporter.phase(p),
      };
    };
    // Every case's launches feed the failure pattern (src/suites/failure-pattern.ts).
    const runRecorded = async (a: ArmState, spec: CaseSpec, round: number): Promise<CaseResult> => {
      const launches: LaunchReport[] = [];
      const result = await runCase(spec, envOf(a, spec, round, launches));
      a.pattern.record(result, launches);
      return result;
    };
    if (jobs.jobs > 1) {
      // One arm, one round a case: each step is a case, recorded in plan order.
      const a = arms[0]!;
      await runInOrder(
        order.length,
        jobs.jobs,
        async (step) => {
          const spec = a.plan.cases[order[step]!.index]!;
          reporter.caseStart(step, order.length, spec, label(a));
          return runRecorded(a, spec, 0);
        },
        async (step, result) => {
          reporter.caseEnd(step, order.length, result, label(a));
          await record(a, result);
        },
        () => opts.signal?.aborted === true,
      );
    } else {
      // The steps still to run: the planned order, into which added rounds of a case are spliced
      // right after its last planned step (so a case's rounds stay together).
      const queue = [...order];
      const lastOf = new Map<number, number>();
      const relast = () => queue.forEach((st, i) => lastOf.set(st.index, i));
      relast();
      const startedAt = new Map<number, number>();
      const roundsOf = (index: number): number =>
        Math.max(...queue.filter((st) => st.index === index).map((st) => (st.round ?? 0) + 1));
      plannedRounds = roundsOf;
      const stepsOf =
        opts.roundSteps ?? ((index: number, round: number): RunStep[] => arms.map((_, arm) => ({ arm, index, round })));
      for (let step = 0; step < queue.length; step++) {
        if (opts.signal?.aborted) break;
        const { arm, index, round = 0 } = queue[step]!;
        const a = arms[arm]!;
        const spec = a.plan.cases[index]!;
        if (!startedAt.has(index)) startedAt.set(index, Date.now());
        const slot = pending.get(`${arm}:${index}`) ?? { arm: a, results: [], done: 0 };
        pending.set(`${arm}:${index}`, slot);
        slot.done++;
        // A case that skipped (accelerator, requirements, what the run has learnt) skips every round: run it once.
        if (slot.results[0]?.status !== 'skip') {
          const planned = roundsOf(index);
          const l = planned > 1 ? `${label(a) ? `${label(a)} ` : ''}round ${round + 1}/${planned}` : label(a);
          reporter.caseStart(step, queue.length, spec, l);
          const result = await runRecorded(a, spec, round);
          slot.results.push(result);
          reporter.caseEnd(step, queue.length, result, l);
        }
        if (lastOf.get(index) !== step) continue;
        // Every arm has run the rounds planned so far of this case: more, or record it.
        const slots = arms.map((_, i) => pending.get(`${i}:${index}`));
        let stopped: Sampling | undefined;
        if (opts.extendRounds && slots.every((sl) => sl && sl.results.length > 0 && sl.results[0]!.status !== 'skip')) {
          const done = slots[0]!.done;
          const decision = opts.extendRounds({
            index,
            merged: slots.map((sl) => mergeRounds(sl!.results, sl!.done)),
            rounds: done,
            elapsedMs: Date.now() - startedAt.get(index)!,
            snapshot: (i) => arms[i]!.writer!.snapshot(),
          });
          const more = Math.min(decision.more, MAX_ROUNDS - done);
          if (more > 0) {
            queue.splice(step + 1, 0, ...Array.from({ length: more }, (_, k) => stepsOf(index, done + k)).flat());
            relast();
            continue;
          }
          stopped = decision.stopped;
        }
        for (const [i, sl] of slots.entries()) {
          if (!sl) continue;
          pending.delete(`${i}:${index}`);
          const merged = mergeRounds(sl.results, sl.done);
          if (stopped) merged.metrics = merged.metrics.map((m) => ({ ...m, roundSampling: stopped }));
          await record(sl.arm, merged);
        }
      }
    }
    // An interrupt between rounds: the rounds that finished are kept.
    for (const [key, slot] of pending.entries())
      if (slot.results.length) await record(slot.arm, mergeRounds(slot.results, plannedRounds(Number(key.split(':')[1]))));

    const interrupted = opts.signal?.aborted ? interruptName(opts.signal) : undefined;
    const summaries: RunSummary[] = [];
    for (const a of arms) {
      const writer = a.writer!;
      const ran = new Set(
        writer
          .snapshot()
          .cases.filter((c) => c.status !== 'skip' && c.accelerator)
          .map((c) => c.accelerator!),
      );
      const results = await writer.finish({
        state: interrupted ? 'interrupted' : 'complete',
        end: new Date().toISOString(),
        accelerator: ran.size > 1 ? 'mixed' : a.accel,
      });
      let reports: string[] = [];
      if (opts.deps.writeReports) {
        try {
          reports = await opts.deps.writeReports(results, a.out!.dir);
        } catch (err) {
          reporter.warning(`reports not written${label(a) ? ` for ${label(a)}` : ''}: ${(err as Error).message}`);
        }
      }
      const failed = results.cases.some((c) => c.status === 'fail' || c.status === 'error');
      const outcome = interrupted ? 'interrupted' : failed ? 'failed' : 'ok';
      summaries.push({ results, dir: a.out!.dir, reports, outcome, ...(interrupted ? { interrupted } : {}) });
    }
    return summaries;
  } finally {
    for (const a of arms) await a.out?.release();
  }
}

interface CaseEnv {
  sampling?: SamplingRequest;
  accel: Accelerator;
  quick: boolean;
  dir: string;
  runId: string;
  host: Results['host'];
  reqs: Map<string, { ok: boolean; reason: string }> | undefined;
  executor: CaseExecutor | undefined;
  signal: AbortSignal | undefined;
  graceMs: number;
  /** Parent of the per-case scratch directories (default the OS temp dir). */
  scratchRoot?: string;
  platform: RunPlatform;
  memory: RunMemory;
  hostActions?: HostActions;
  /** Which round (0-based) of a case run with --rounds; rounds after the first log to their own file. */
  round?: number;
  onPhase(p: string): void;
  /** Set when earlier cases failed the same way: the case skips with this reason. */
  patternSkip?: string;
  /** Every QEMU launch of the case reports here how it ended. */
  onLaunch?(report: LaunchReport): void;
}

/**
 * `--scratch-dir` must be a writable directory before any guest starts, so a typo costs
 * nothing; whether its filesystem suits a case (O_DIRECT, free space) is the case's call.
 */
async function checkScratchRoot(dir: string | undefined, cwd = process.cwd()): Promise<string | undefined> {
  if (dir === undefined) return undefined;
  const abs = resolve(cwd, dir);
  try {
    if (!(await stat(abs)).isDirectory()) throw new Error('not a directory');
    await access(abs, constants.W_OK);
  } catch (err) {
    throw new EnvironmentError(
      `--scratch-dir ${abs} is not a writable directory (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      'create it (mkdir -p) on a disk-backed filesystem with free space, or leave --scratch-dir out to use the temp directory',
    );
  }
  return abs;
}

/** Runs one case to a CaseResult; never throws. */
export async function runCase(spec: CaseSpec, env: CaseEnv): Promise<CaseResult> {
  const startedAt = new Date();
  const t0 = performance.now();
  const logRel = roundLogPath(`logs/${spec.suite}/${spec.id}.log`, env.round ?? 0);
  const logPath = join(env.dir, logRel);
  let outcome: CaseOutcome;

  const unmet = spec.requires.map((id) => [id, env.reqs?.get(id)] as const).find(([, r]) => r !== undefined && !r.ok);
  if (!spec.accel.includes(env.accel)) {
    outcome = { status: 'skip', reason: `case runs only on ${spec.accel.join(', ')}; this run uses ${env.accel}`, metrics: [] };
  } else if (unmet) {
    outcome = { status: 'skip', reason: `requires doctor check ${unmet[0]}: ${unmet[1]!.reason}`, metrics: [] };
  } else if (env.patternSkip) {
    outcome = { status: 'skip', reason: env.patternSkip, metrics: [] };
  } else if (!env.executor) {
    outcome = { status: 'error', reason: `no executor for kind '${spec.kind}'`, metrics: [] };
  } else {
    outcome = await execute(spec, env.executor, env, logPath);
  }

  // Executor fields win over what the runner knows from the spec; the runner owns the rest.
  const result = {
    ...(spec.title !== undefined ? { title: spec.title } : {}),
    ...(outcome.status !== 'skip' ? { accelerator: env.accel } : {}),
    machine: spec.machine,
    tags: spec.tags,
    ...stripUndefined(outcome),
    id: `${spec.suite}/${spec.id}`,
    suite: spec.suite,
    kind: spec.kind,
    startedAt: startedAt.toISOString(),
    durationMs: Math.round((performance.now() - t0) * 1000) / 1000,
  } as CaseResult;
  if (await exists(logPath)) result.log = logRel;
  const candidate: unknown = result;
  if (!caseChecker.Check(candidate)) {
    const first = caseChecker.Errors(candidate).First();
    return {
      id: result.id,
      suite: result.suite,
      kind: spec.kind,
      status: 'error',
      reason: `executor '${spec.kind}' returned an invalid result (${first?.path || '/'}: ${first?.message ?? 'invalid'}); its metrics were dropped`,
      ...(result.log ? { log: result.log } : {}),
      startedAt: result.startedAt,
      durationMs: result.durationMs,
      metrics: [],
    };
  }
  return result;
}

/**
 * Scratch directories of cases still running. A process that exits with a case in flight (a second
 * Ctrl-C exits at once) removes them on its way out; a run killed outright cannot.
 */
const liveScratch = new Set<string>();
let exitHookArmed = false;
function trackScratch(dir: string): void {
  liveScratch.add(dir);
  if (exitHookArmed) return;
  exitHookArmed = true;
  process.once('exit', () => {
    for (const d of liveScratch) {
      try {
        rmSync(d, { recursive: true, force: true });
      } catch {
        // an exit hook must not throw; what is left is named by its run id
      }
    }
  });
}

async function execute(spec: CaseSpec, executor: CaseExecutor, env: CaseEnv, logPath: string): Promise<CaseOutcome> {
  if (env.signal?.aborted)
    return { status: 'error', reason: `interrupted by ${interruptName(env.signal)} before it started`, metrics: [] };
  const ac = new AbortController();
  const onInterrupt = () => ac.abort(env.signal!.reason);
  env.signal?.addEventListener('abort', onInterrupt, { once: true });
  const deadlineMs = spec.deadlineSec * 1000;
  const deadlineAt = Date.now() + deadlineMs;
  const timer = setTimeout(() => ac.abort(new DeadlineExpired(spec.deadlineSec)), deadlineMs);
  let graceTimer: NodeJS.Timeout | undefined;
  let scratchDir: string | undefined;
  try {
    await mkdir(dirname(logPath), { recursive: true });
    scratchDir = await mkdtemp(
      join(env.scratchRoot ?? tmpdir(), `kvmbench-${env.runId}-${spec.suite}-${spec.id}-`.slice(0, 120)),
    );
    trackScratch(scratchDir);
    const ctx: CaseContext = {
      accel: env.accel,
      quick: env.quick,
      outputDir: env.dir,
      logPath,
      signal: ac.signal,
      deadlineAt,
      host: env.host,
      scratchDir,
      platform: env.platform,
      memory: env.memory,
      ...(env.hostActions ? { hostActions: env.hostActions } : {}),
      ...(env.sampling ? { sampling: env.sampling } : {}),
      onPhase: (p) => {
        try {
          env.onPhase(p);
        } catch {
          // a display problem must not fail the case
        }
      },
    };
    type Settled = { ok: CaseOutcome } | { err: unknown } | { hung: true };
    const ran: Promise<Settled> = Promise.resolve()
      .then(() => withLaunchScope(launchScopeOf(spec, executor, env), () => executor.run(spec, ctx)))
      .then(
        (ok) => ({ ok }),
        (err: unknown) => ({ err }),
      );
    // After an abort, the executor has graceMs to return; past that the case is given up on.
    const hung = new Promise<Settled>((res) => {
      const arm = () => {
        graceTimer = setTimeout(() => res({ hung: true }), env.graceMs);
      };
      if (ac.signal.aborted) arm();
      else ac.signal.addEventListener('abort', arm, { once: true });
    });
    const settled = await Promise.race([ran, hung]);
    const why = ac.signal.aborted ? abortText(ac.signal.reason) : undefined;
    if ('hung' in settled) {
      return {
        status: 'error',
        reason: `${why}; the executor did not stop within ${env.graceMs / 1000} s after that and was abandoned`,
        metrics: [],
      };
    }
    if ('err' in settled) {
      const msg = settled.err instanceof Error ? settled.err.message : String(settled.err);
      const reason = why && !msg.includes(why) ? `${why}: ${msg}` : msg || 'executor failed without a message';
      return { status: 'error', reason, metrics: [] };
    }
    const o = settled.ok;
    if (why && ac.signal.reason !== undefined && !(ac.signal.reason instanceof DeadlineExpired)) {
      // Interrupted: whatever the executor made of the abort, the case did not run to its end.
      return { ...o, status: 'error', reason: o.reason && !o.reason.includes(why) ? `${why}: ${o.reason}` : why };
    }
    // Past its deadline, an executor's own error ("aborted", from a launcher that killed its guest) says why.
    if (why && o.status === 'error' && !(o.reason ?? '').includes(why))
      return { ...o, reason: o.reason ? `${why}: ${o.reason}` : why };
    return o;
  } catch (err) {
    return { status: 'error', reason: `case setup failed: ${(err as Error).message}`, metrics: [] };
  } finally {
    clearTimeout(timer);
    if (graceTimer) clearTimeout(graceTimer);
    env.signal?.removeEventListener('abort', onInterrupt);
    if (scratchDir) {
      await rm(scratchDir, { recursive: true, force: true }).catch(() => undefined);
      liveScratch.delete(scratchDir);
    }
  }
}

/** The startup budget its QEMU launches get (none for executors that start no QEMU), and where they report. */
function launchScopeOf(spec: CaseSpec, executor: CaseExecutor, env: CaseEnv) {
  const startupMs = executor.startsQemu === false ? 0 : startupBudgetMs(env.accel, spec.guest, spec.startupSec);
  return { startupMs, ...(env.onLaunch ? { onLaunch: env.onLaunch } : {}) };
}

function abortText(reason: unknown): string {
  if (reason instanceof DeadlineExpired) return reason.message;
  if (typeof reason === 'string') return `interrupted by ${reason}`;
  if (reason instanceof KvmbenchError || reason instanceof Error) return `interrupted by ${reason.message || 'interrupt'}`;
  return 'interrupted';
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}
