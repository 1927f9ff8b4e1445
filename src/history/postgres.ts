/**
 * The fleet history store's driver: PostgreSQL through the `pg` client. Every statement is
 * parameterized (the repository's `?` placeholders become `$1, $2...`; values travel apart
 * from the text). Writers serialize on one transaction-scoped advisory lock, so ten importers
 * queue rather than race, as on the embedded store.
 */
import pg from 'pg';
import { EnvironmentError, UsageError } from '../errors.js';
import type { SqlDriver, SqlParam, SqlRow } from './sql.js';

/** The advisory lock key every kvmbench writer takes (any 64-bit number; "kvmb" in ASCII). */
export const WRITE_LOCK_KEY = 0x6b766d62;

/** `?` → `$n`, outside quoted literals (the repository's SQL has no `?` inside quotes). */
export function numberPlaceholders(sql: string): string {
  let n = 0;
  let quoted = false;
  let out = '';
  for (const ch of sql) {
    if (ch === "'") quoted = !quoted;
    out += ch === '?' && !quoted ? `$${++n}` : ch;
  }
  return out;
}

/** The URL as messages show it: without its password. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

export class PostgresDriver implements SqlDriver {
  readonly dialect = 'postgres' as const;
  private tx: pg.PoolClient | undefined;

  private constructor(
    readonly location: string,
    private readonly pool: pg.Pool,
  ) {}

  static async open(url: string): Promise<PostgresDriver> {
    const location = redactUrl(url);
    const pool = new pg.Pool({ connectionString: url, max: 2, connectionTimeoutMillis: 10_000 });
    // An idle client's error (server restart) must not crash the process; the next query reports it.
    pool.on('error', () => {});
    try {
      const c = await pool.connect();
      c.release();
    } catch (err) {
      await pool.end().catch(() => {});
      throw new EnvironmentError(
        `cannot reach the PostgreSQL history store ${location}: ${(err as Error).message}`,
        'check the URL (postgres://USER[:PASSWORD]@HOST:PORT/DATABASE), that the server runs and that this user may connect',
      );
    }
    return new PostgresDriver(location, pool);
  }

  async all(sql: string, params: readonly SqlParam[] = []): Promise<SqlRow[]> {
    const r = await (this.tx ?? this.pool).query(numberPlaceholders(sql), params as SqlParam[]);
    return r.rows as SqlRow[];
  }

  async run(sql: string, params: readonly SqlParam[] = []): Promise<number> {
    const r = await (this.tx ?? this.pool).query(numberPlaceholders(sql), params as SqlParam[]);
    return r.rowCount ?? 0;
  }

  async writeTransaction<T>(fn: () => Promise<T>): Promise<T> {
    if (this.tx) return fn();
    const client = await this.pool.connect();
    this.tx = client;
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [WRITE_LOCK_KEY]);
      const out = await fn();
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      this.tx = undefined;
      client.release();
    }
  }

  async tableNames(): Promise<string[]> {
    const rows = await this.all(
      'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name',
    );
    return rows.map((r) => String(r.name));
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** A location that names PostgreSQL. */
export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

/** For messages about a malformed URL. */
export function checkPostgresUrl(url: string): void {
  try {
    new URL(url);
  } catch {
    throw new UsageError(
      `--store ${redactUrl(url)}: not a valid PostgreSQL URL`,
      'write it as postgres://USER[:PASSWORD]@HOST:PORT/DATABASE',
    );
  }
}
