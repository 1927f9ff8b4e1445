/**
 * The seam between the history repository (`sql-store.ts`) and a database: one small driver per
 * engine (`embedded.ts`: SQLite in one file; `postgres.ts`: PostgreSQL). The repository writes
 * its SQL once, with `?` placeholders and values passed apart (never spliced into the text);
 * the PostgreSQL driver renumbers them `$1, $2...`.
 */
export type SqlParam = string | number | null;
export type SqlRow = Record<string, unknown>;

export interface SqlDriver {
  /** `embedded` or `postgres`: for messages and the few dialect differences (`migrations.ts`). */
  readonly dialect: 'embedded' | 'postgres';
  /** Where the data lives, for messages (a file path, or the URL without its password). */
  readonly location: string;
  all(sql: string, params?: readonly SqlParam[]): Promise<SqlRow[]>;
  /** Runs a statement; the number of rows it changed. */
  run(sql: string, params?: readonly SqlParam[]): Promise<number>;
  /**
   * Runs `fn` in one write transaction that holds the store's write lock from its first
   * statement (SQLite `BEGIN IMMEDIATE`; PostgreSQL an advisory lock), so concurrent writers
   * queue instead of interleaving; rolled back when `fn` throws.
   */
  writeTransaction<T>(fn: () => Promise<T>): Promise<T>;
  /** Names of the tables that exist (to tell an empty store, a kvmbench store and a foreign database apart). */
  tableNames(): Promise<string[]>;
  close(): Promise<void>;
}
