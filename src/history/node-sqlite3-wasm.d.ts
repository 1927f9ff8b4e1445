/** The part of node-sqlite3-wasm's API the embedded store uses (the package ships no types). */
declare module 'node-sqlite3-wasm' {
  export type SqlValue = string | number | bigint | null | Uint8Array;
  export interface RunInfo {
    changes: number;
    lastInsertRowid: number | bigint;
  }
  export class SQLite3Error extends Error {}
  export class Database {
    constructor(path: string, options?: { fileMustExist?: boolean; readOnly?: boolean });
    readonly isOpen: boolean;
    readonly inTransaction: boolean;
    exec(sql: string): void;
    run(sql: string, values?: SqlValue[]): RunInfo;
    all(sql: string, values?: SqlValue[]): Array<Record<string, SqlValue>>;
    get(sql: string, values?: SqlValue[]): Record<string, SqlValue> | null;
    close(): void;
  }
}
