/**
 * The embedded history store's driver: SQLite in one file, through node-sqlite3-wasm (SQLite
 * compiled to WebAssembly over real files: installs with `npm ci`, no compiler, no download
 * beyond the npm registry; docs/history.md says why this one). Writers serialize on SQLite's
 * file lock (one lock directory beside the file): a write transaction starts with `BEGIN
 * IMMEDIATE`, and a second process waits for the lock (up to `lockTimeoutMs`), then fails with
 * a clear message; it never interleaves.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { createRequire } from 'node:module';
import type { Database as SqliteDatabase, SqlValue } from 'node-sqlite3-wasm';
import { EnvironmentError, UsageError } from '../errors.js';
import type { SqlDriver, SqlParam, SqlRow } from './sql.js';

/** How long a writer waits for another's transaction before giving up (KVMBENCH_STORE_LOCK_TIMEOUT_MS overrides). */
export const DEFAULT_LOCK_TIMEOUT_MS = 60_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const isBusy = (err: unknown) => err instanceof Error && /database is locked|SQLITE_BUSY|busy/i.test(err.message);

/** A SQLite error that means the file is not a SQLite database (or a damaged one). */
function notADatabase(err: unknown): boolean {
  return err instanceof Error && /file is not a database|malformed|SQLITE_NOTADB|SQLITE_CORRUPT/i.test(err.message);
}

export interface EmbeddedOptions {
  /** Create the file (and its directory) when missing; read-only commands pass false. */
  create: boolean;
  lockTimeoutMs?: number;
}

export class EmbeddedDriver implements SqlDriver {
  readonly dialect = 'embedded' as const;
  private depth = 0;

  private constructor(
    readonly location: string,
    private readonly db: SqliteDatabase,
    private readonly lockTimeoutMs: number,
  ) {}

  static async open(path: string, opts: EmbeddedOptions): Promise<EmbeddedDriver> {
    if (!existsSync(path)) {
      if (!opts.create)
        throw new UsageError(
          `no history store at ${path}`,
          'add runs first with `kvmbench history import DIR...` or `kvmbench run --store`, or name the store with --store',
        );
      mkdirSync(dirname(path), { recursive: true });
    }
    // createRequire: the package is CommonJS with a WASM file beside it.
    const { Database } = createRequire(import.meta.url)('node-sqlite3-wasm') as typeof import('node-sqlite3-wasm');
    let db: SqliteDatabase;
    try {
      db = new Database(path, { fileMustExist: !opts.create });
    } catch (err) {
      throw new EnvironmentError(
        `cannot open the history store ${path}: ${(err as Error).message}`,
        'check that the file and its directory are readable and writable by this user',
      );
    }
    const timeout = opts.lockTimeoutMs ?? (Number(process.env.KVMBENCH_STORE_LOCK_TIMEOUT_MS) || DEFAULT_LOCK_TIMEOUT_MS);
    const driver = new EmbeddedDriver(path, db, timeout);
    try {
      // Even a PRAGMA may read the file, so these wait for the lock like every statement.
      await driver.waitForLock(() => db.exec('PRAGMA foreign_keys = ON'));
      // 64 MiB of page cache: series over 10,000 runs re-read fewer pages through the WASM file layer.
      await driver.waitForLock(() => db.exec('PRAGMA cache_size = -65536'));
      // The first read of the header: a foreign or damaged file fails here, before anything is written.
      await driver.all('SELECT name FROM sqlite_master LIMIT 1');
    } catch (err) {
      db.close();
      throw err;
    }
    return driver;
  }

  /**
   * The package's file lock is one lock directory (FILE.lock) for readers and writers alike,
   * and SQLite's busy handler cannot sleep inside WebAssembly, so a statement that finds the
   * file locked is retried here, with an asynchronous wait, until the lock timeout.
   */
  private async waitForLock<T>(attempt: () => T): Promise<T> {
    const deadline = Date.now() + this.lockTimeoutMs;
    for (;;) {
      try {
        return attempt();
      } catch (err) {
        if (notADatabase(err)) throw foreignFile(this.location, (err as Error).message);
        if (!isBusy(err) || this.depth > 0) throw err;
        if (Date.now() >= deadline) throw this.lockedTooLong();
        await sleep(5 + Math.floor(Math.random() * 20));
      }
    }
  }

  private lockedTooLong(): EnvironmentError {
    return new EnvironmentError(
      `the history store ${this.location} stayed locked by another kvmbench for ${Math.round(this.lockTimeoutMs / 1000)} s; nothing was written`,
      `retry when the other import is done (KVMBENCH_STORE_LOCK_TIMEOUT_MS sets the wait); if no kvmbench is running, a killed one left the lock: remove the directory ${this.location}.lock`,
    );
  }

  async all(sql: string, params: readonly SqlParam[] = []): Promise<SqlRow[]> {
    return this.guard(() => this.db.all(sql, params as SqlValue[]));
  }

  async run(sql: string, params: readonly SqlParam[] = []): Promise<number> {
    return this.guard(() => this.db.run(sql, params as SqlValue[]).changes);
  }

  async writeTransaction<T>(fn: () => Promise<T>): Promise<T> {
    if (this.depth > 0) return fn();
    await this.waitForLock(() => this.db.exec('BEGIN IMMEDIATE'));
    this.depth++;
    try {
      const out = await fn();
      this.db.exec('COMMIT');
      return out;
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw err;
    } finally {
      this.depth--;
    }
  }

  async tableNames(): Promise<string[]> {
    const rows = await this.all("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name");
    return rows.map((r) => String(r.name));
  }

  async close(): Promise<void> {
    if (this.db.isOpen) this.db.close();
  }

  private guard<T>(fn: () => T): Promise<T> {
    return this.waitForLock(fn);
  }
}

function foreignFile(path: string, why: string): UsageError {
  return new UsageError(
    `${path} is not a kvmbench history store (SQLite says: ${why}); nothing was written`,
    'name another file with --store, or move this one away: the store can be rebuilt with `kvmbench history import DIR...`',
  );
}
