/**
 * The history commands' wiring, in one place: each function opens the store a command names,
 * does one thing through the domain modules here, closes the store, and returns a model the
 * views in src/report/history/ render. The commands under commands/history/ (and `run --store`,
 * `compare --against-history`) call only these.
 */
import { resolve } from 'node:path';
import { loadResults } from '../results/load.js';
import type { Results } from '../results/model.js';
import { UsageError } from '../errors.js';
import { historyBaseline } from '../history/baseline.js';
import { runCheck, type CheckReport } from '../history/check.js';
import type { ChangePointOptions } from '../history/change-points.js';
import { buildFleet, type FleetReport } from '../history/fleet.js';
import { openStore } from '../history/open.js';
import { selectKeys } from '../history/series.js';
import type { HistoryStore, ImportLine, ImportOutcome, RunFilter, StoredRun } from '../history/store.js';
import { buildTrend, type Trend } from '../history/trend.js';
import {
  buildConformanceTrend,
  conformanceFlips,
  conformanceSeries,
  newlyFailingChecks,
  type ConformanceCheck,
  type ConformanceTrend,
} from '../history/conformance.js';

async function withStore<T>(location: string, write: boolean, fn: (s: HistoryStore) => Promise<T>): Promise<T> {
  const store = await openStore(location, { write });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** Runs per import transaction. */
export const IMPORT_BATCH = 50;

export type { ImportLine } from '../history/store.js';

/** `history import DIR...`: every directory's results, each run in its own transaction; idempotent by run id. */
export async function importRuns(location: string, paths: readonly string[]): Promise<ImportLine[]> {
  // Load (and validate) everything first, so a bad directory is refused before anything is written.
  const loaded: Array<{ path: string; results: Results }> = [];
  for (const p of paths) loaded.push({ path: p, results: (await loadResults(p)).results });
  return withStore(location, true, async (store) => {
    const out: ImportLine[] = [];
    // Batches of runs per transaction: one commit (one fsync) per batch, and a concurrent
    // importer waits for at most one batch at a time.
    for (let i = 0; i < loaded.length; i += IMPORT_BATCH) {
      const batch = loaded.slice(i, i + IMPORT_BATCH);
      const outcomes = await store.importRuns(batch.map((l) => ({ results: l.results, source: resolve(l.path) })));
      batch.forEach((l, j) =>
        out.push({ path: l.path, runId: l.results.run.id, state: l.results.run.state, outcome: outcomes[j]! }),
      );
    }
    return out;
  });
}

/** `run --store`: the run that just ended (complete, partial or interrupted: its state is stored with it). */
export async function storeRun(location: string, results: Results, dir: string): Promise<ImportOutcome> {
  return withStore(location, true, (store) => store.importRun(results, dir));
}

export async function listRuns(location: string, filter: RunFilter): Promise<{ store: string; runs: StoredRun[] }> {
  return withStore(location, false, async (store) => ({ store: store.location, runs: await store.listRuns(filter) }));
}

async function keysFor(store: HistoryStore, patterns: readonly string[], filter: RunFilter): Promise<string[]> {
  const keys = selectKeys(await store.metricKeys(filter), patterns);
  if (keys.length === 0)
    throw new UsageError(
      `no stored metric matches ${patterns.join(', ')}`,
      'give a metric name (cpuid.latency), a full key (exits/cpuid/cpuid.latency{machine=q35}) or a glob (exits/**); `kvmbench history list` shows what is stored',
    );
  return keys;
}

export async function trend(
  location: string,
  patterns: readonly string[],
  filter: RunFilter,
  options: ChangePointOptions,
  last?: number,
): Promise<Trend> {
  return withStore(location, false, async (store) => {
    const points = await store.points({ ...filter, metricKeys: await keysFor(store, patterns, filter) });
    return buildTrend(points, await store.hostClasses(), store.location, options, last);
  });
}

/** `history trend --test NAME`: conformance tests' verdicts run after run, per host class and layer. */
export async function conformanceTrend(
  location: string,
  patterns: readonly string[],
  filter: RunFilter,
  last?: number,
): Promise<ConformanceTrend> {
  return withStore(location, false, async (store) => {
    const t = buildConformanceTrend(await store.conformance(filter), await store.hostClasses(), store.location, patterns, last);
    if (t.series.length === 0)
      throw new UsageError(
        `no stored conformance test matches ${patterns.join(', ')}`,
        'give a stanza name (apic), a case id (kut/apic) or a glob (vmexit_*); store runs of `kvmbench run kut` with --store or `history import`',
      );
    return t;
  });
}

/** The pass → fail flips of conformance tests in the last runs, with the sub-checks that newly fail. */
async function conformanceCheck(store: HistoryStore, filter: RunFilter, lastRuns: number): Promise<ConformanceCheck> {
  const c = conformanceFlips(conformanceSeries(await store.conformance(filter), await store.hostClasses()), lastRuns);
  for (const f of c.flips)
    if (f.kind === 'regression')
      f.newlyFailing = newlyFailingChecks(
        await store.conformanceChecks(f.before.runId, f.caseId),
        await store.conformanceChecks(f.after.runId, f.caseId),
      );
  return c;
}

export async function check(
  location: string,
  filter: RunFilter,
  options: ChangePointOptions,
  lastRuns: number,
  patterns?: readonly string[],
): Promise<CheckReport> {
  return withStore(location, false, async (store) => {
    const metricKeys = patterns?.length ? await keysFor(store, patterns, filter) : undefined;
    const points = await store.points({ ...filter, metricKeys });
    const report = runCheck(points, await store.hostClasses(), store.location, options, lastRuns);
    // Metric patterns select metrics; conformance tests have none, so they are checked only when no pattern is given.
    if (!patterns?.length) {
      const conformance = await conformanceCheck(store, filter, lastRuns);
      if (conformance.series > 0) report.conformance = conformance;
    }
    return report;
  });
}

export async function hosts(
  location: string,
  patterns: readonly string[],
  filter: RunFilter,
  lastRuns: number,
  minDeviation?: number,
): Promise<FleetReport> {
  return withStore(location, false, async (store) => {
    const points = await store.points({ ...filter, metricKeys: await keysFor(store, patterns, filter) });
    return buildFleet(points, store.location, { lastRuns, minDeviation });
  });
}

/** `compare --against-history NEW`: NEW and a baseline of its host class's last runs, ready for compareRuns. */
export async function againstHistory(
  location: string,
  newPath: string,
  lastRuns: number,
): Promise<{ baseline: Results; next: Results; runIds: string[]; store: string }> {
  const next = (await loadResults(newPath)).results;
  return withStore(location, false, async (store) => ({
    ...(await historyBaseline(store, next, lastRuns)),
    next,
    store: store.location,
  }));
}
