/**
 * The history repository, written once over a `SqlDriver`: the same statements run on the
 * embedded SQLite file and on PostgreSQL. Every value is a bound parameter.
 */
import { metricKey } from '../results/identity.js';
import type { HostFingerprint, Results } from '../results/model.js';
import { hostClassOf, type HostClass } from './host-class.js';
import { medianInterval } from './interval.js';
import type { SqlDriver, SqlParam, SqlRow } from './sql.js';
import type {
  ConformancePoint,
  HistoryStore,
  ImportOutcome,
  MetricPoint,
  RunFilter,
  StoredCheck,
  StoredMetric,
  StoredRun,
} from './store.js';

/** Rows per multi-row INSERT: 100 × 17 columns stays under both engines' parameter limits. */
const BATCH = 100;
/** Keys per `IN (...)` list. */
const IN_CHUNK = 500;

interface MetricRow {
  key: string;
  caseId: string;
  name: string;
  labels?: Record<string, string>;
  unit: string;
  better: string;
  accelerator: string;
  execution?: string;
  interval: string;
  method: string;
  samples: number[];
  rounds?: number[];
}

/** One row per metric key of a run; a case repeated in one run (`#2`) adds its samples to the first. */
export function metricRowsOf(results: Results): MetricRow[] {
  const rows = new Map<string, MetricRow>();
  for (const c of results.cases) {
    for (const m of c.metrics) {
      const key = metricKey(c.id, m);
      const finite = m.samples.filter(Number.isFinite);
      const seen = rows.get(key);
      if (seen) {
        seen.samples.push(...finite);
        seen.rounds = undefined;
        continue;
      }
      rows.set(key, {
        key,
        caseId: c.id,
        name: m.name,
        labels: m.labels,
        unit: m.unit,
        better: m.better,
        accelerator: m.accelerator,
        execution: m.execution ?? c.execution?.mode,
        interval: m.interval,
        method: m.method,
        samples: finite,
        rounds: finite.length === m.samples.length ? m.rounds : undefined,
      });
    }
  }
  return [...rows.values()].filter((r) => r.samples.length > 0);
}

/** A conformance case's row and its sub-checks' rows, as migration 2's tables take them. */
export function conformanceRowsOf(results: Results): Array<{ row: SqlParam[]; checks: SqlParam[][] }> {
  const run = results.run;
  const seen = new Set<string>();
  const out: Array<{ row: SqlParam[]; checks: SqlParam[][] }> = [];
  for (const c of results.cases) {
    if (!c.conformance || seen.has(c.id)) continue;
    seen.add(c.id);
    const checks = c.conformance.checks;
    const failing = checks.filter((k) => k.status === 'fail' || k.status === 'xpass').length;
    const passing = checks.filter((k) => k.status === 'pass').length;
    out.push({
      row: [
        run.id,
        c.id,
        c.conformance.test,
        c.status,
        c.reason ?? null,
        run.layer ?? 1,
        c.accelerator ?? run.accelerator,
        c.conformance.exitStatus ?? null,
        passing,
        failing,
        checks.length - passing - failing,
      ],
      checks: checks.map((k, i) => [run.id, c.id, i, k.name, k.status]),
    });
  }
  return out;
}

const opt = (v: unknown): string | undefined => (v === null || v === undefined ? undefined : String(v));

function placeholders(rows: number, cols: number): string {
  const one = `(${Array(cols).fill('?').join(', ')})`;
  return Array(rows).fill(one).join(', ');
}

function whereRuns(f: RunFilter, defaultStates?: readonly string[]): { sql: string; params: SqlParam[] } {
  const parts: string[] = [];
  const params: SqlParam[] = [];
  const states = f.states ?? defaultStates;
  if (states?.length) {
    parts.push(`r.state IN (${states.map(() => '?').join(', ')})`);
    params.push(...states);
  }
  const add = (sql: string, v: string | undefined) => {
    if (v === undefined) return;
    parts.push(sql);
    params.push(v);
  };
  add('r.hostname = ?', f.hostname);
  add('r.host_class = ?', f.hostClass);
  add('r.suite = ?', f.suite);
  add('r.started_at >= ?', f.since);
  add('r.started_at <= ?', f.until);
  return { sql: parts.length ? ` WHERE ${parts.join(' AND ')}` : '', params };
}

function chunks<T>(xs: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

const POINT_COLUMNS = `r.id AS run_id, r.started_at, r.hostname, r.host_class, r.suite, r.git_revision,
  m.metric_key, m.case_id, m.name, m.unit, m.better, m.accelerator, m.execution, m.interval_text,
  m.n, m.median, m.ci_lo, m.ci_hi`;

function pointOf(r: SqlRow): MetricPoint {
  return {
    runId: String(r.run_id),
    startedAt: String(r.started_at),
    hostname: String(r.hostname),
    hostClass: String(r.host_class),
    suite: String(r.suite),
    gitRevision: opt(r.git_revision),
    metricKey: String(r.metric_key),
    caseId: String(r.case_id),
    name: String(r.name),
    unit: String(r.unit),
    better: r.better === 'higher' ? 'higher' : 'lower',
    accelerator: String(r.accelerator),
    execution: opt(r.execution),
    interval: String(r.interval_text),
    n: Number(r.n),
    median: Number(r.median),
    ciLo: Number(r.ci_lo),
    ciHi: Number(r.ci_hi),
  };
}

function runOf(r: SqlRow): StoredRun {
  return {
    id: String(r.id),
    suite: String(r.suite),
    startedAt: String(r.started_at),
    endedAt: opt(r.ended_at),
    state: String(r.state) as StoredRun['state'],
    gitRevision: opt(r.git_revision),
    kvmbenchVersion: String(r.kvmbench_version),
    accelerator: String(r.accelerator),
    execution: opt(r.execution),
    flavor: opt(r.flavor),
    hostname: String(r.hostname),
    hostClass: String(r.host_class),
    source: opt(r.source),
    importedAt: String(r.imported_at),
  };
}

export class SqlHistoryStore implements HistoryStore {
  constructor(private readonly db: SqlDriver) {}

  get kind(): 'embedded' | 'postgres' {
    return this.db.dialect;
  }

  get location(): string {
    return this.db.location;
  }

  async importRun(results: Results, source?: string): Promise<ImportOutcome> {
    return (await this.importRuns([{ results, source }]))[0]!;
  }

  async importRuns(runs: ReadonlyArray<{ results: Results; source?: string }>): Promise<ImportOutcome[]> {
    return this.db.writeTransaction(async () => {
      const out: ImportOutcome[] = [];
      for (const r of runs) out.push(await this.insertRun(r.results, r.source));
      return out;
    });
  }

  private async insertRun(results: Results, source?: string): Promise<ImportOutcome> {
    const cls = hostClassOf(results.host);
    const rows = metricRowsOf(results);
    const run = results.run;
    const caseRows = new Map<string, SqlParam[]>();
    for (const c of results.cases)
      if (!caseRows.has(c.id)) caseRows.set(c.id, [run.id, c.id, c.kind ?? null, c.status, c.execution?.mode ?? null]);
    await this.db.run(
      `INSERT INTO host_classes (id, cpu_model, microcode, kernel, kvm_params, qemu_version, smt, thp, governor, flavor)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
      [
        cls.id,
        cls.cpuModel ?? null,
        cls.microcode ?? null,
        cls.kernel ?? null,
        cls.kvmParams ?? null,
        cls.qemuVersion ?? null,
        cls.smt ?? null,
        cls.thp ?? null,
        cls.governor ?? null,
        cls.flavor ?? null,
      ],
    );
    const added = await this.db.run(
      `INSERT INTO runs (id, suite, started_at, ended_at, state, git_revision, kvmbench_version, accelerator, execution, flavor, hostname, host_class, host_json, source, imported_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
      [
        run.id,
        run.suite,
        run.start,
        run.end ?? null,
        run.state,
        run.gitRevision ?? null,
        run.kvmbenchVersion,
        run.accelerator,
        run.execution?.mode ?? null,
        results.host.kvmFlavor ?? null,
        results.host.hostname ?? 'unknown',
        cls.id,
        JSON.stringify(results.host),
        source ?? null,
        new Date().toISOString(),
      ],
    );
    if (added === 0) {
      // A run stored before the conformance tables existed gets its tests on its next import.
      const had = await this.db.all('SELECT 1 AS one FROM conformance WHERE run_id = ? LIMIT 1', [run.id]);
      if (had.length === 0) await this.insertConformance(results);
      return 'exists';
    }
    await this.insertConformance(results);
    for (const part of chunks([...caseRows.values()], BATCH)) {
      await this.db.run(
        `INSERT INTO cases (run_id, case_id, kind, status, execution) VALUES ${placeholders(part.length, 5)}`,
        part.flat(),
      );
    }
    for (const part of chunks(rows, BATCH)) {
      const params: SqlParam[] = [];
      const sampleParams: SqlParam[] = [];
      for (const m of part) {
        const iv = medianInterval(m.samples);
        params.push(
          run.id,
          m.key,
          m.caseId,
          m.name,
          m.labels ? JSON.stringify(m.labels) : null,
          m.unit,
          m.better,
          m.accelerator,
          m.execution ?? null,
          m.interval,
          m.method,
          m.samples.length,
          iv.median,
          iv.lo,
          iv.hi,
        );
        sampleParams.push(run.id, m.key, JSON.stringify(m.samples), m.rounds ? JSON.stringify(m.rounds) : null);
      }
      await this.db.run(
        `INSERT INTO metrics (run_id, metric_key, case_id, name, labels, unit, better, accelerator, execution, interval_text, method, n, median, ci_lo, ci_hi)
         VALUES ${placeholders(part.length, 15)}`,
        params,
      );
      await this.db.run(
        `INSERT INTO samples (run_id, metric_key, "values", rounds) VALUES ${placeholders(part.length, 4)}`,
        sampleParams,
      );
    }
    return 'added';
  }

  private async insertConformance(results: Results): Promise<void> {
    const tests = conformanceRowsOf(results);
    for (const part of chunks(tests, BATCH)) {
      await this.db.run(
        `INSERT INTO conformance (run_id, case_id, test, status, reason, layer, accelerator, exit_status, checks_pass, checks_fail, checks_other)
         VALUES ${placeholders(part.length, 11)}`,
        part.flatMap((t) => t.row),
      );
    }
    for (const part of chunks(
      tests.flatMap((t) => t.checks),
      BATCH,
    )) {
      await this.db.run(
        `INSERT INTO conformance_checks (run_id, case_id, seq, name, status) VALUES ${placeholders(part.length, 5)}`,
        part.flat(),
      );
    }
  }

  async conformance(filter: RunFilter = {}): Promise<ConformancePoint[]> {
    const w = whereRuns(filter, ['complete']);
    const rows = await this.db.all(
      `SELECT r.id AS run_id, r.started_at, r.hostname, r.host_class, r.suite, r.git_revision,
         t.case_id, t.test, t.status, t.reason, t.layer, t.accelerator, t.exit_status, t.checks_pass, t.checks_fail, t.checks_other
       FROM conformance t JOIN runs r ON r.id = t.run_id${w.sql} ORDER BY r.started_at, r.id, t.case_id`,
      w.params,
    );
    return rows.map((r) => ({
      runId: String(r.run_id),
      startedAt: String(r.started_at),
      hostname: String(r.hostname),
      hostClass: String(r.host_class),
      suite: String(r.suite),
      gitRevision: opt(r.git_revision),
      caseId: String(r.case_id),
      test: String(r.test),
      status: String(r.status),
      reason: opt(r.reason),
      layer: Number(r.layer),
      accelerator: opt(r.accelerator),
      exitStatus: r.exit_status === null || r.exit_status === undefined ? undefined : Number(r.exit_status),
      checksPass: Number(r.checks_pass),
      checksFail: Number(r.checks_fail),
      checksOther: Number(r.checks_other),
    }));
  }

  async conformanceChecks(runId: string, caseId: string): Promise<StoredCheck[]> {
    const rows = await this.db.all('SELECT name, status FROM conformance_checks WHERE run_id = ? AND case_id = ? ORDER BY seq', [
      runId,
      caseId,
    ]);
    return rows.map((r) => ({ name: String(r.name), status: String(r.status) }));
  }

  async listRuns(filter: RunFilter = {}): Promise<StoredRun[]> {
    const w = whereRuns(filter);
    const rows = await this.db.all(`SELECT r.* FROM runs r${w.sql} ORDER BY r.started_at DESC, r.id DESC`, w.params);
    return rows.map(runOf);
  }

  async points(filter: RunFilter & { metricKeys?: readonly string[] } = {}): Promise<MetricPoint[]> {
    const w = whereRuns(filter, ['complete']);
    const base = `SELECT ${POINT_COLUMNS} FROM metrics m JOIN runs r ON r.id = m.run_id${w.sql}`;
    const order = ' ORDER BY r.started_at, r.id, m.metric_key';
    if (!filter.metricKeys) return (await this.db.all(base + order, w.params)).map(pointOf);
    const out: MetricPoint[] = [];
    for (const keys of chunks(filter.metricKeys, IN_CHUNK)) {
      const sql = `${base}${w.sql ? ' AND' : ' WHERE'} m.metric_key IN (${keys.map(() => '?').join(', ')})${order}`;
      out.push(...(await this.db.all(sql, [...w.params, ...keys])).map(pointOf));
    }
    return filter.metricKeys.length > IN_CHUNK
      ? out.sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.runId.localeCompare(b.runId))
      : out;
  }

  async metricKeys(filter: RunFilter = {}): Promise<string[]> {
    const w = whereRuns(filter, ['complete']);
    const rows = await this.db.all(
      `SELECT DISTINCT m.metric_key FROM metrics m JOIN runs r ON r.id = m.run_id${w.sql} ORDER BY m.metric_key`,
      w.params,
    );
    return rows.map((r) => String(r.metric_key));
  }

  async runMetrics(runIds: readonly string[]): Promise<StoredMetric[]> {
    const out: StoredMetric[] = [];
    for (const ids of chunks(runIds, IN_CHUNK)) {
      const rows = await this.db.all(
        `SELECT ${POINT_COLUMNS}, m.labels, m.method, s."values" AS sample_values, s.rounds, c.kind AS case_kind, c.status AS case_status
         FROM metrics m JOIN runs r ON r.id = m.run_id JOIN samples s ON s.run_id = m.run_id AND s.metric_key = m.metric_key
         LEFT JOIN cases c ON c.run_id = m.run_id AND c.case_id = m.case_id
         WHERE m.run_id IN (${ids.map(() => '?').join(', ')}) ORDER BY r.started_at, r.id, m.metric_key`,
        ids,
      );
      for (const r of rows) {
        out.push({
          ...pointOf(r),
          labels: r.labels ? (JSON.parse(String(r.labels)) as Record<string, string>) : undefined,
          method: String(r.method),
          samples: JSON.parse(String(r.sample_values)) as number[],
          rounds: r.rounds ? (JSON.parse(String(r.rounds)) as number[]) : undefined,
          caseKind: opt(r.case_kind),
          caseStatus: opt(r.case_status),
        });
      }
    }
    return out;
  }

  async runHost(runId: string): Promise<HostFingerprint | undefined> {
    const rows = await this.db.all('SELECT host_json FROM runs WHERE id = ?', [runId]);
    return rows[0] ? (JSON.parse(String(rows[0].host_json)) as HostFingerprint) : undefined;
  }

  async hostClasses(): Promise<HostClass[]> {
    const rows = await this.db.all('SELECT * FROM host_classes ORDER BY id');
    return rows.map((r) => ({
      id: String(r.id),
      cpuModel: opt(r.cpu_model),
      microcode: opt(r.microcode),
      kernel: opt(r.kernel),
      kvmParams: opt(r.kvm_params),
      qemuVersion: opt(r.qemu_version),
      smt: opt(r.smt),
      thp: opt(r.thp),
      governor: opt(r.governor),
      flavor: opt(r.flavor),
    }));
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
