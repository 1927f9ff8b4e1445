/**
 * The results history behind one small repository interface. `results.json` stays the source
 * of truth: a store only indexes runs (idempotent by run id) and can always be rebuilt from the
 * directories with `kvmbench history import`. Two implementations share one SQL repository
 * (`sql-store.ts`) over a driver each: the embedded single file (`embedded.ts`) and PostgreSQL
 * (`postgres.ts`); `open.ts` picks one from a location.
 */
import type { HostFingerprint, Results } from '../results/model.js';
import type { HostClass } from './host-class.js';

export type RunState = Results['run']['state'];

export interface StoredRun {
  id: string;
  suite: string;
  startedAt: string;
  endedAt?: string;
  state: RunState;
  gitRevision?: string;
  kvmbenchVersion: string;
  accelerator: string;
  execution?: string;
  flavor?: string;
  hostname: string;
  hostClass: string;
  source?: string;
  importedAt: string;
}

export interface RunFilter {
  hostname?: string;
  hostClass?: string;
  suite?: string;
  /** ISO 8601 bounds on the run's start, inclusive. */
  since?: string;
  until?: string;
  /** Which run states to include (default: every state for lists, `complete` for series). */
  states?: readonly RunState[];
}

/** One metric of one run, as series read it: the run-level median and its interval. */
export interface MetricPoint {
  runId: string;
  startedAt: string;
  hostname: string;
  hostClass: string;
  suite: string;
  gitRevision?: string;
  metricKey: string;
  caseId: string;
  name: string;
  unit: string;
  better: 'lower' | 'higher';
  accelerator: string;
  execution?: string;
  /** What one sample measures (the metric's `interval`). */
  interval: string;
  n: number;
  median: number;
  /** 95 % interval of the median (interval.ts). */
  ciLo: number;
  ciHi: number;
}

/** A stored metric with everything needed to rebuild it for `compare` (its raw samples). */
export interface StoredMetric extends MetricPoint {
  labels?: Record<string, string>;
  method: string;
  samples: number[];
  rounds?: number[];
  caseKind?: string;
  caseStatus?: string;
}

/** One conformance test (a kvm-unit-tests stanza) in one run: its verdict and sub-check counts. */
export interface ConformancePoint {
  runId: string;
  startedAt: string;
  hostname: string;
  hostClass: string;
  suite: string;
  gitRevision?: string;
  caseId: string;
  test: string;
  status: string;
  reason?: string;
  /** 1, or 2 for a run of the nested lab (`run --nested`). */
  layer: number;
  accelerator?: string;
  exitStatus?: number;
  checksPass: number;
  checksFail: number;
  /** Sub-checks neither pass nor fail: skip, xfail, kfail. */
  checksOther: number;
}

/** A stored sub-check: its name and status (pass, fail, skip, xfail, xpass, kfail). */
export interface StoredCheck {
  name: string;
  status: string;
}

export type ImportOutcome = 'added' | 'exists';

export interface HistoryStore {
  readonly kind: 'embedded' | 'postgres';
  /** Where it is, for messages (path, or URL without password). */
  readonly location: string;
  /** Adds a run in one transaction (all of it or nothing); `exists` when its id is already stored. */
  importRun(results: Results, source?: string): Promise<ImportOutcome>;
  /** Several runs in one transaction (all of them or none): faster for many directories. */
  importRuns(runs: ReadonlyArray<{ results: Results; source?: string }>): Promise<ImportOutcome[]>;
  /** Runs, newest first. */
  listRuns(filter?: RunFilter): Promise<StoredRun[]>;
  /** Points in time order (oldest first), of complete runs unless `states` says otherwise. */
  points(filter?: RunFilter & { metricKeys?: readonly string[] }): Promise<MetricPoint[]>;
  /** Every distinct metric key stored for runs matching the filter. */
  metricKeys(filter?: RunFilter): Promise<string[]>;
  /** The metrics of these runs with their samples. */
  runMetrics(runIds: readonly string[]): Promise<StoredMetric[]>;
  /** Conformance tests, oldest run first, of complete runs unless `states` says otherwise. */
  conformance(filter?: RunFilter): Promise<ConformancePoint[]>;
  /** The sub-checks of one conformance case of a run, in the order the guest reported them. */
  conformanceChecks(runId: string, caseId: string): Promise<StoredCheck[]>;
  /** The host fingerprint a run recorded. */
  runHost(runId: string): Promise<HostFingerprint | undefined>;
  hostClasses(): Promise<HostClass[]>;
  close(): Promise<void>;
}

/** One directory of `history import`, as its views report it. */
export interface ImportLine {
  path: string;
  runId: string;
  state: string;
  outcome: ImportOutcome;
}
