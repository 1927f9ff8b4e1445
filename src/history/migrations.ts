/**
 * The history store's schema, as numbered migrations applied in order, the same SQL on SQLite
 * and PostgreSQL. `kvmbench_meta` names the store (`schema = kvmbench.history`) and its
 * version, so a foreign database and a store written by a newer kvmbench are each refused
 * before anything is written. A migration is never edited once released: add the next one.
 */
import { UsageError } from '../errors.js';
import type { SqlDriver } from './sql.js';

export const STORE_SCHEMA = 'kvmbench.history';

export interface Migration {
  version: number;
  why: string;
  statements: readonly string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    why: 'runs, host classes, cases, metrics, and the raw samples of each metric',
    statements: [
      'CREATE TABLE kvmbench_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)',
      // The fingerprint fields that decide whether two hosts' figures are comparable.
      `CREATE TABLE host_classes (
        id TEXT PRIMARY KEY,
        cpu_model TEXT, microcode TEXT, kernel TEXT, kvm_params TEXT, qemu_version TEXT,
        smt TEXT, thp TEXT, governor TEXT, flavor TEXT)`,
      `CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        suite TEXT NOT NULL, started_at TEXT NOT NULL, ended_at TEXT, state TEXT NOT NULL,
        git_revision TEXT, kvmbench_version TEXT NOT NULL, accelerator TEXT NOT NULL,
        execution TEXT, flavor TEXT, hostname TEXT NOT NULL,
        host_class TEXT NOT NULL REFERENCES host_classes(id),
        host_json TEXT NOT NULL, source TEXT, imported_at TEXT NOT NULL)`,
      'CREATE INDEX runs_by_class ON runs (host_class, started_at)',
      'CREATE INDEX runs_by_host ON runs (hostname, started_at)',
      `CREATE TABLE cases (
        run_id TEXT NOT NULL REFERENCES runs(id), case_id TEXT NOT NULL,
        kind TEXT, status TEXT NOT NULL, execution TEXT,
        PRIMARY KEY (run_id, case_id))`,
      `CREATE TABLE metrics (
        run_id TEXT NOT NULL REFERENCES runs(id), metric_key TEXT NOT NULL,
        case_id TEXT NOT NULL, name TEXT NOT NULL, labels TEXT,
        unit TEXT NOT NULL, better TEXT NOT NULL, accelerator TEXT NOT NULL, execution TEXT,
        interval_text TEXT NOT NULL, method TEXT NOT NULL,
        n INTEGER NOT NULL, median DOUBLE PRECISION NOT NULL,
        ci_lo DOUBLE PRECISION NOT NULL, ci_hi DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (run_id, metric_key))`,
      'CREATE INDEX metrics_by_key ON metrics (metric_key)',
      // Raw samples apart from the metrics, so the series queries read small rows only.
      `CREATE TABLE samples (
        run_id TEXT NOT NULL, metric_key TEXT NOT NULL,
        "values" TEXT NOT NULL, rounds TEXT,
        PRIMARY KEY (run_id, metric_key),
        FOREIGN KEY (run_id, metric_key) REFERENCES metrics (run_id, metric_key))`,
    ],
  },
  {
    version: 2,
    why: 'conformance tests (kvm-unit-tests stanzas) and their sub-checks, pass or fail per run, so a test can be followed over runs and hosts',
    statements: [
      // One row per conformance case of a run; `layer` 2 for a run of the nested lab.
      `CREATE TABLE conformance (
        run_id TEXT NOT NULL REFERENCES runs(id), case_id TEXT NOT NULL,
        test TEXT NOT NULL, status TEXT NOT NULL, reason TEXT, layer INTEGER NOT NULL, accelerator TEXT,
        exit_status INTEGER, checks_pass INTEGER NOT NULL, checks_fail INTEGER NOT NULL, checks_other INTEGER NOT NULL,
        PRIMARY KEY (run_id, case_id))`,
      'CREATE INDEX conformance_by_test ON conformance (test, run_id)',
      // Every sub-check in the order the guest reported it.
      `CREATE TABLE conformance_checks (
        run_id TEXT NOT NULL, case_id TEXT NOT NULL, seq INTEGER NOT NULL,
        name TEXT NOT NULL, status TEXT NOT NULL,
        PRIMARY KEY (run_id, case_id, seq),
        FOREIGN KEY (run_id, case_id) REFERENCES conformance (run_id, case_id))`,
    ],
  },
];

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** The version of the store behind `driver`: 0 when empty; refuses foreign and newer stores. */
export async function storeVersion(driver: SqlDriver): Promise<number> {
  const tables = await driver.tableNames();
  if (!tables.includes('kvmbench_meta')) {
    // PostgreSQL databases are shared by design; an SQLite file with other tables is someone else's.
    if (driver.dialect === 'embedded' && tables.length > 0) {
      throw new UsageError(
        `${driver.location} is an SQLite database but not a kvmbench history store (it has tables ${tables.slice(0, 5).join(', ')}); nothing was written`,
        'name another file with --store',
      );
    }
    return 0;
  }
  const rows = await driver.all('SELECT key, value FROM kvmbench_meta WHERE key IN (?, ?)', ['schema', 'version']);
  const meta = new Map(rows.map((r) => [String(r.key), String(r.value)]));
  if (meta.get('schema') !== STORE_SCHEMA) {
    throw new UsageError(
      `${driver.location} is not a kvmbench history store (its kvmbench_meta names ${meta.get('schema') ?? 'no schema'}); nothing was written`,
      'name another store with --store',
    );
  }
  const version = Number(meta.get('version'));
  if (!Number.isInteger(version) || version < 1)
    throw new UsageError(`${driver.location}: unreadable history schema version ${meta.get('version')}; nothing was written`);
  if (version > LATEST_VERSION) {
    throw new UsageError(
      `${driver.location} has history schema version ${version}, newer than the ${LATEST_VERSION} this kvmbench knows; nothing was written`,
      'upgrade kvmbench to read and write this store (an older kvmbench never rewrites a newer schema)',
    );
  }
  return version;
}

/**
 * Brings the store to LATEST_VERSION inside one write transaction (so two processes creating
 * the same store at once queue on the lock and the second finds it done). Read-only opens
 * call `storeVersion` only and refuse an outdated store rather than write to it.
 */
export async function migrate(driver: SqlDriver): Promise<number> {
  if ((await storeVersion(driver)) === LATEST_VERSION) return LATEST_VERSION;
  return driver.writeTransaction(async () => {
    const from = await storeVersion(driver);
    for (const m of MIGRATIONS) {
      if (m.version <= from) continue;
      for (const s of m.statements) await driver.run(s);
      if (m.version === 1) {
        await driver.run('INSERT INTO kvmbench_meta (key, value) VALUES (?, ?)', ['schema', STORE_SCHEMA]);
        await driver.run('INSERT INTO kvmbench_meta (key, value) VALUES (?, ?)', ['version', String(m.version)]);
      } else {
        await driver.run('UPDATE kvmbench_meta SET value = ? WHERE key = ?', [String(m.version), 'version']);
      }
    }
    return LATEST_VERSION;
  });
}
